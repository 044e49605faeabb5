package daemon

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/dns"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/sriov"
	"github.com/vecswitch/vecswitch/vswitch"
)

// Config configures a Daemon.
type Config struct {
	// StateDir holds the durable configuration (config.json).
	StateDir string
	// Switch configures the data plane (workers, cores, poll mode).
	Switch vswitch.Options
	// Sysfs is where sysfs is mounted, for SR-IOV discovery ("" is /sys).
	Sysfs  string
	Logger *slog.Logger
	// FastPath loads the XDP fast path (ports/afxdp.FastPath) for the
	// AF_XDP ports: known unicast between them is switched in the kernel.
	// If the kernel cannot load it, the daemon logs why and runs with the
	// pipeline alone.
	FastPath bool
	// CaptureDir is where capture/start writes its files ("" is
	// StateDir/captures): file= names a new file in it, never a path.
	CaptureDir string
	// CaptureGID, if > 0, is the control socket's group: the capture
	// directory and files become readable by it (0750, 0640).
	CaptureGID int

	// Claims, if set, makes the block claims of a multi-host IPAM for this
	// host's id (vswitchd --etcd: ipam/etcdblocks): each host hands out
	// addresses only from blocks of a pool it has claimed.
	Claims func(hostID string) (BlockClaims, error)

	// Inherit, if set, makes New take over a running daemon's ports and
	// state directory lock (vswitchd --takeover, takeover.go).
	Inherit *Inherited

	// memPorts, set by this package's tests only, makes every port's
	// driver instead of the real factory (memory ports: the commands run
	// without root or devices). Options are still checked as usual.
	memPorts func(PortSpec) (ports.Port, error)
}

// Daemon is vswitchd's core: the switch, its port drivers, and the stored
// desired configuration, changed only through commands. Every change is
// applied, then stored durably, before the command returns; if either step
// fails, the previous configuration is restored.
type Daemon struct {
	mu      sync.Mutex // serializes commands; guards the fields below
	log     *slog.Logger
	sw      *vswitch.Switch
	store   *Store
	state   State
	drivers map[string]*driver
	sriov   *sriov.Host
	capture *capture // the running capture, nil if none
	fp      *afxdp.FastPath
	health  *health // ports down for lack of their interface (health.go)
	ipam    ipamState
	// DNS (dns.go): the records of the DNS networks, their resolver (the
	// switch's DNS handler), and what syncDNS last published.
	dnsReg   *dns.Registry
	resolver *dns.Resolver
	dnsBuilt map[string]string
	bgp      bgpRuntime // the BGP speaker and learned routes (bgp*.go)
	inherit  *Inherited // a takeover's ports and tables (takeover.go), nil if none

	// undriven are the configured ports that have no driver (down: not
	// restored at start, their interface lost, a failed re-attach), with
	// the spec they were last tried with: del-port still deletes what the
	// daemon made for them (destroyUndriven), so that their names are
	// free for add-port.
	undriven map[string]PortSpec

	// ctCapacity is the most flows the security groups' tracker holds
	// (the switch makes it when a group first has an attached port).
	ctCapacity int

	// startChanges is how many journal changes the start applied.
	startChanges int

	lock       io.Closer // the state directory's lock, held until Close
	captureDir string
	captureGID int
	memPorts   func(PortSpec) (ports.Port, error) // Config.memPorts
}

// StateFile is the name of the stored configuration in the state directory.
const StateFile = "config.json"

// New locks the state directory (one daemon per directory: a second
// gets ErrStateDirLocked), creates the switch and replays the stored
// configuration: every bridge and port comes back as it was. A port whose
// driver cannot be made now (its device is gone) stays configured, is
// logged, and is down. An unusable config.json is set aside and the
// previous good copy used (restoreState); with neither, New fails.
func New(cfg Config) (_ *Daemon, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Inherit != nil {
		// Before anything is made: a refused takeover leaves no trace
		// (not even a state directory that did not exist).
		if err := cfg.Inherit.check(&cfg); err != nil {
			return nil, err
		}
	}
	st, err := NewStore(cfg.StateDir, StateFile)
	if err != nil {
		return nil, err
	}
	lock, err := cfg.stateLock()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	if cfg.CaptureDir == "" {
		cfg.CaptureDir = filepath.Join(cfg.StateDir, CaptureSubdir)
	}
	if cfg.CaptureDir, err = filepath.Abs(cfg.CaptureDir); err != nil {
		return nil, fmt.Errorf("ctl: capture directory: %w", err)
	}
	if err := prepareCaptureDir(cfg.CaptureDir, cfg.StateDir, cfg.CaptureGID); err != nil {
		return nil, err
	}
	d := &Daemon{log: cfg.Logger, store: st, drivers: map[string]*driver{}, undriven: map[string]PortSpec{}, sriov: &sriov.Host{Sysfs: cfg.Sysfs}, health: newHealth(),
		ipam: ipamState{blocks: map[string][][]netip.Prefix{}}, lock: lock, captureDir: cfg.CaptureDir, captureGID: cfg.CaptureGID, memPorts: cfg.memPorts,
		inherit: cfg.Inherit}
	if cfg.FastPath {
		fp, err := afxdp.NewFastPath(afxdp.FastPathConfig{})
		if err != nil {
			d.log.Warn("XDP fast path not loaded: every frame goes through the pipeline", "err", err)
		} else {
			d.fp, cfg.Switch.FastPath = fp, fp
			d.log.Info("XDP fast path loaded")
		}
	}
	if cfg.Inherit != nil && len(cfg.Inherit.st.Pools) > 0 {
		if cfg.Switch.Pools, err = cfg.Inherit.adoptPools(cfg.Switch.Workers); err != nil {
			d.closeFastPath()
			return nil, err
		}
	}
	d.ctCapacity = cfg.Switch.ConntrackCapacity
	if d.ctCapacity == 0 {
		d.ctCapacity = vswitch.DefaultConntrackCapacity
	}
	if d.sw, err = vswitch.New(cfg.Switch); err != nil {
		d.closeFastPath()
		return nil, err
	}
	if err := d.restoreState(); err != nil {
		d.sw.Close()
		d.closeFastPath()
		return nil, err
	}
	if err := d.ensureHostID(); err != nil {
		d.sw.Close()
		d.closeFastPath()
		return nil, err
	}
	if err := d.startIPAM(cfg.Claims); err != nil {
		d.sw.Close()
		d.closeFastPath()
		return nil, err
	}
	d.startDNS()
	for _, spec := range d.state.Ports {
		if err := d.attach(spec, true); err != nil {
			d.log.Error("port not restored", "port", spec.Name, "type", spec.Type, "err", err)
			d.markDown(spec.Name, "not restored at start: "+err.Error())
			continue
		}
		d.log.Info("port restored", "port", spec.Name, "type", spec.Type, "bridge", spec.Bridge)
	}
	d.recordVethMACs()
	d.startBGP()
	return d, nil
}

// Switch is the daemon's switch.
func (d *Daemon) Switch() *vswitch.Switch { return d.sw }

// Start runs the data plane, and the watcher that takes ports down when
// their interface vanishes and up again when it is back (health.go).
func (d *Daemon) Start() error {
	if err := d.sw.Start(); err != nil {
		return err
	}
	d.startHealth()
	return nil
}

// Close stops the data plane and releases every driver (AF_XDP sockets,
// XDP programs, tap fds). Container veths and the stored configuration
// stay, so a restart brings everything back.
func (d *Daemon) Close() error {
	d.stopHealth()     // before mu: the watcher takes it
	d.stopBGPApplier() // likewise
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopSpeaker(false)
	if d.capture != nil {
		d.captureStop(nil) // the file is closed complete
	}
	d.stopIPAM()
	d.compactStore()
	err := d.sw.Close()
	d.stopDNS()
	d.closeFastPath()
	d.store.Close()
	if d.lock != nil {
		d.lock.Close() // last: a successor may start only once all is released
		d.lock = nil
	}
	return err
}

// closeFastPath frees the fast path's maps, once the switch and its ports
// (whose programs use them) are closed.
func (d *Daemon) closeFastPath() {
	if d.fp != nil {
		if err := d.fp.Close(); err != nil {
			d.log.Warn("XDP fast path maps not freed", "err", err)
		}
		d.fp = nil
	}
}

func (d *Daemon) attach(spec PortSpec, replay bool) error {
	return d.attachWith(spec, replay, false)
}

// attachWith is attach; deferred leaves publishing the port to the
// commit that follows (vswitch.AttachOptions.Deferred). A replayed port
// (start, retry, re-attach) that fails is recorded as undriven.
func (d *Daemon) attachWith(spec PortSpec, replay, deferred bool) error {
	err := d.attachDriver(spec, replay, deferred)
	switch {
	case err == nil:
		delete(d.undriven, spec.Name)
	case replay:
		d.undriven[spec.Name] = spec
	}
	return err
}

func (d *Daemon) attachDriver(spec PortSpec, replay, deferred bool) error {
	aff, err := parseAffinity(spec.Options["rxq_affinity"])
	if err != nil {
		return err
	}
	dr, err := d.makeOrAdoptPort(spec, replay)
	if err != nil {
		return err
	}
	inherited := dr.placement != nil
	if inherited {
		// Adopted AF_XDP sockets: each queue goes to the worker whose
		// pool is its UMEM, as in the giver, whatever index the port
		// has here (adoptPort).
		aff = dr.placement
	}
	if err := d.sw.AddPortWith(dr.port, vswitch.AttachOptions{RxAffinity: aff, Deferred: deferred}); err != nil {
		dr.port.Close()
		if !replay {
			dr.destroy()
		}
		if errors.Is(err, vswitch.ErrAffinity) && !inherited { // the user's rxq_affinity=, not the daemon's fault
			return ctl.Errorf(ctl.CodeInvalid, "rxq_affinity=%s: %v", spec.Options["rxq_affinity"], err)
		}
		if errors.Is(err, vswitch.ErrTooFewQueue) {
			return tooFewQueues(spec, err)
		}
		return err
	}
	d.drivers[spec.Name] = dr
	return nil
}

// tooFewQueues explains a port with fewer queues than the switch has
// workers: vswitchd started with more --cores than when the port was
// made. (A queues= below the workers is refused before: makePort.)
func tooFewQueues(spec PortSpec, err error) error {
	if spec.Type == TypeVeth {
		// The kernel fixes a veth's queues when it is made (ethtool -L
		// changes only how many of those are used), and the pair found
		// at start is the container's link: it is not made anew
		// behind the operator's back.
		return fmt.Errorf("%w: the veth was made when vswitchd ran fewer workers, and a veth's queues are fixed when it is made: del-port and add-port it again (its pair is made anew, with a queue per worker: the container's link goes down meanwhile), or run vswitchd with as many --cores as before", err)
	}
	return fmt.Errorf("%w: give its device a queue per worker (ethtool -L), or run vswitchd with fewer --cores", err)
}

// detach removes a port's driver; destroy (the port is deleted) also
// deletes what was made for it (for a port without a driver, what the
// daemon made for it and a start would find again: destroyUndriven) and
// forgets its health record.
func (d *Daemon) detach(name string, destroy bool) error {
	if destroy {
		// The port goes for good: a port added later under its name is
		// not down for its reasons (nor retried as it), and has lost
		// nothing yet.
		delete(d.health.down, name)
		delete(d.health.losses, name)
	}
	dr, ok := d.drivers[name]
	if !ok {
		if spec, down := d.undriven[name]; down && destroy {
			delete(d.undriven, name)
			return d.destroyUndriven(spec)
		}
		return nil
	}
	delete(d.drivers, name)
	if spec, _ := d.state.port(name); spec != nil && !destroy {
		c := *spec
		c.Options = maps.Clone(spec.Options)
		d.undriven[name] = c // down from here until attached again
	} else {
		delete(d.undriven, name)
	}
	err := d.sw.RemovePort(name)
	if destroy {
		err = errors.Join(err, dr.destroy())
	}
	return err
}

// destroyUndriven deletes what the daemon made for a port that has no
// driver: the pair of a container veth, found as a start would find it
// to reuse it (existingVeth: its host end, a veth, and its container end
// in the namespace). A tap goes with its descriptors, and there is
// nothing to undo for an afxdp or vhostuser port; an SR-IOV VF's saved
// settings went with its driver.
func (d *Daemon) destroyUndriven(spec PortSpec) error {
	if spec.Type != TypeVeth || d.memPorts != nil {
		return nil
	}
	vo, err := vethOptions(spec, 1)
	if err != nil {
		return err
	}
	if v := existingVeth(vo); v != nil {
		return v.Delete()
	}
	return nil
}

// commit applies next and stores it; on failure it restores the previous
// configuration. Caller holds mu and has made next's drivers. Inside a
// batch (d.state.txn) it only checks next and makes it the batch's
// working state.
func (d *Daemon) commit(next State) error {
	// What the next start checks of a stored configuration, checked
	// before it is stored: a change never leaves one that start refuses.
	if err := checkPortState(&next); err != nil {
		return ctl.Errorf(ctl.CodeInvalid, "the configuration would not load: %v", err)
	}
	if err := checkEndpointRefs(&next); err != nil {
		return ctl.Errorf(ctl.CodeInvalid, "the configuration would not load: %v", err)
	}
	if d.state.txn {
		// In a batch: the next command works on next; the batch is
		// applied and stored once, at its end (runBatch).
		d.state = next
		return nil
	}
	if err := d.sw.Reconfigure(next.switchConfig()); err != nil {
		return asInvalid(err)
	}
	// One journal record: what changed from the stored configuration.
	if err := d.store.Commit(&d.state, &next); err != nil {
		if rerr := d.sw.Reconfigure(d.state.switchConfig()); rerr != nil {
			d.log.Error("rollback failed", "err", rerr)
		}
		return ctl.Errorf(ctl.CodeInternal, "configuration not stored: %v", err)
	}
	d.state = next
	d.syncDNS()
	d.syncBlocks()
	return nil
}

// asInvalid types the switch's refusal of a configuration as invalid. A
// *vswitch.ConfigError is told by the names of its objects, as a vsctl
// user knows them (`bridge "br0", port "p1", vlan: ...`), not by its
// path in the Config (bridges[br0].ports[p1].vlan, or bridges[1].name).
func asInvalid(err error) error {
	var ce *ctl.Error
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, vswitch.ErrInvalidConfig) {
		msg := err.Error()
		if ve := (*vswitch.ConfigError)(nil); errors.As(err, &ve) {
			msg = strings.Replace(msg, ve.Error(), ve.Describe(), 1)
		}
		return ctl.Errorf(ctl.CodeInvalid, "%s", msg)
	}
	return err
}

// parseAffinity parses rxq_affinity=QUEUE:WORKER,... (OVS's
// pmd-rxq-affinity, with worker indices).
func parseAffinity(s string) (map[int]int, error) {
	if s == "" {
		return nil, nil
	}
	m := map[int]int{}
	for _, f := range splitList(s) {
		qs, ws, ok := strings.Cut(f, ":")
		q, err1 := strconv.Atoi(qs)
		w, err2 := strconv.Atoi(ws)
		if !ok || err1 != nil || err2 != nil || q < 0 || w < 0 {
			return nil, ctl.Errorf(ctl.CodeInvalid, "rxq_affinity=%s: want QUEUE:WORKER,...", s)
		}
		m[q] = w
	}
	return m, nil
}

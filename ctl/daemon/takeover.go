package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/takeover"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/sriov"
	"github.com/vecswitch/vecswitch/ports/tap"
	"github.com/vecswitch/vecswitch/ports/vhostuser"
	"github.com/vecswitch/vecswitch/vswitch"
)

// Hitless restart (vswitchd --takeover): the running daemon is the giver
// of internal/takeover, the new one adopts its ports and learned tables.
// The state handed over is takeoverState, JSON; the files are the state
// directory's lock (the flock is the open file's, so the successor holds
// it as soon as it has the descriptor, and keeps it when the giver exits)
// and every port's queue descriptors.
//
// Every port type can be handed over: tap, veth (io=afpacket, the
// default, and io=afxdp), afxdp, sriov (an AF_XDP port on a VF's netdev)
// and vhostuser. A port of another kind (memory ports, in tests) makes
// the daemon refuse a takeover and keep running.
//
// AF_XDP and vhost-user ports change the order. A vhost-user port's
// virtqueues have one consumer too: the giver stops reading the
// front-end's requests at Export (they wait in the socket), its rings'
// positions come with the late state, and the taker reads the requests
// once it has restored them.
//
// AF_XDP ports also move their XDP link: the taker loads its own program
// at adoption and swaps it into the link only once the learned MACs are
// in its fast-path maps (FinishTakeover), while the giver still polls.
//
// AF_XDP ports also move the pools. Their UMEM is the workers' pools, so the
// pools move too (the giver's must be shared: vswitch.Options.SharedPools;
// the taker maps the same memfds, one per worker, so both must run the
// same workers), and their rings allow one poller, so the taker does not
// start its workers while the giver's run: it stops the giver first
// (StopPolling returns, as late state, each pool's free list and what each
// AF_XDP socket holds: lateState), restores those, commits and only then
// starts. Frames arriving in that gap wait in the rings.
//
// A takeover keeps what it cannot change on the fly, and the successor
// refuses, before it changes anything (Inherited.check, from New), one
// started to change it: another state directory than the giver's (it
// would store to one directory while holding the other's lock), or, when
// AF_XDP ports move with the pools, another pool size or private pools
// (the pools it maps are the giver's). Without AF_XDP ports the successor
// makes its own pools, with its own --pool-frames and --shared-pools.
//
// The state directory's lock file names its holder's PID (for the
// refusal a second daemon prints). The successor writes its PID there
// only when it is about to commit (FinishTakeover) and puts the giver's
// back if it gives up (ReleaseInherited); the giver writes its own again
// when it resumes after a failed takeover (a successor that died).

// takeoverState is what a daemon hands its successor.
type takeoverState struct {
	Lock    int                  `json:"lock"` // index in the files
	Ports   []handedPort         `json:"ports"`
	Learned vswitch.LearnedState `json:"learned"`
	// Pools are the workers' pools, by worker, when AF_XDP ports move.
	Pools []handedPool `json:"pools,omitempty"`
	// StopFirst: a port's rings allow one poller (AF_XDP, vhost-user),
	// so the giver stops before the taker starts, and its late state
	// comes with the stop.
	StopFirst bool `json:"stop_first,omitempty"`
	// StateDir is the giver's state directory (absolute), StateDev and
	// StateIno its identity: a successor on another directory refuses.
	StateDir string `json:"state_dir,omitempty"`
	StateDev uint64 `json:"state_dev,omitempty"`
	StateIno uint64 `json:"state_ino,omitempty"`
}

// handedPool is one worker's pool: its memfd (File indexes the files).
type handedPool struct {
	File   int    `json:"file"`
	Frames int    `json:"frames"`
	Arena  uint64 `json:"arena"`
}

// lateState is what the giver tells once its workers have stopped: each
// pool's free list (by worker) and what each AF_XDP port's sockets hold.
type lateState struct {
	Free    [][]pipeline.BufID             `json:"free"`
	Sockets map[string][]afxdp.SocketState `json:"sockets"`
	Vhost   map[string]vhostuser.LateState `json:"vhostuser,omitempty"`
}

// handedPort is one port's driver state; Files index the files.
type handedPort struct {
	Name     string              `json:"name"`
	Type     string              `json:"type"`
	Files    []int               `json:"files"`
	Tap      *tap.Handover       `json:"tap,omitempty"`
	AFPacket *afpacket.Handover  `json:"afpacket,omitempty"`
	AFXDP    *afxdp.Handover     `json:"afxdp,omitempty"`
	Vhost    *vhostuser.Handover `json:"vhostuser,omitempty"`
	SRIOV    *sriov.Handover     `json:"sriov,omitempty"`
}

// Giver is a daemon's side of a takeover (takeover.Giver). Export
// freezes the configuration: commands wait until Resume, or for good once
// HandedOver.
type Giver struct {
	d       *Daemon
	frozen  bool
	stopped bool
	files   []*os.File    // duplicates made for the transfer
	xdp     []*afxdp.Port // AF_XDP ports handed over (their sockets' state is late)
	xdpName []string
	// stopFirst: the export has ports whose rings allow one poller.
	stopFirst bool
	vhost     []*vhostuser.Port // vhost-user ports handed over (paused)
	vhostName []string
}

var _ takeover.Giver = (*Giver)(nil)

// Giver returns the daemon's takeover giver. One takeover at a time.
func (d *Daemon) Giver() *Giver { return &Giver{d: d} }

// Export implements takeover.Giver.
func (g *Giver) Export() (_ []byte, _ []*os.File, err error) {
	d := g.d
	d.mu.Lock()
	g.frozen = true
	defer func() {
		if err != nil {
			g.Resume()
		}
	}()
	lf, ok := d.lock.(*os.File)
	if !ok {
		return nil, nil, errors.New("the state directory lock is not a file")
	}
	st := takeoverState{Lock: 0}
	if st.StateDir, err = filepath.Abs(d.store.dir); err != nil {
		return nil, nil, fmt.Errorf("state directory: %w", err)
	}
	var ds unix.Stat_t
	if err := unix.Stat(st.StateDir, &ds); err != nil {
		return nil, nil, fmt.Errorf("state directory %s: %w", st.StateDir, err)
	}
	st.StateDev, st.StateIno = uint64(ds.Dev), uint64(ds.Ino)
	if err := g.add(lf); err != nil {
		return nil, nil, err
	}
	names := make([]string, 0, len(d.drivers))
	for n := range d.drivers {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		dr := d.drivers[n]
		spec, _ := d.state.port(n)
		if spec == nil {
			return nil, nil, fmt.Errorf("port %s has a driver and no configuration", n)
		}
		hp := handedPort{Name: n, Type: spec.Type}
		var fds []int
		switch p := dr.port.(type) {
		case *tap.Port:
			h, f := p.Handover()
			hp.Tap, fds = &h, f
		case *afpacket.Port:
			h, f := p.Handover()
			hp.AFPacket, fds = &h, f
		case *afxdp.Port:
			h, f, err := p.Handover()
			if err != nil {
				return nil, nil, g.poolHint(err)
			}
			hp.AFXDP, fds = &h, f
			g.xdp, g.xdpName = append(g.xdp, p), append(g.xdpName, n)
		case *sriov.Port:
			h, f, err := p.Handover()
			if err != nil {
				return nil, nil, g.poolHint(err)
			}
			hp.SRIOV, fds = &h, f
			g.xdp, g.xdpName = append(g.xdp, p.Port), append(g.xdpName, n)
		case *vhostuser.Port:
			h, f, err := p.Handover() // it stops reading requests: Resume undoes it
			if err != nil {
				return nil, nil, err
			}
			hp.Vhost, fds = &h, f
			g.vhost, g.vhostName = append(g.vhost, p), append(g.vhostName, n)
			st.StopFirst, g.stopFirst = true, true
		default:
			return nil, nil, fmt.Errorf("port %s (type=%s) cannot be handed over yet (only tap, veth, afxdp, sriov and vhostuser ports): stop this vswitchd and start the new one instead", n, spec.Type)
		}
		for _, fd := range fds {
			hp.Files = append(hp.Files, len(g.files))
			if err := g.addFD(fd, n); err != nil {
				return nil, nil, err
			}
		}
		st.Ports = append(st.Ports, hp)
	}
	if len(g.xdp) > 0 {
		st.StopFirst, g.stopFirst = true, true
		for w, pool := range d.sw.Pools() {
			f, err := pool.Handover()
			if err != nil {
				return nil, nil, fmt.Errorf("AF_XDP ports move with the workers' buffer pools, and worker %d's cannot (%w): this vswitchd was started with --shared-pools=false", w, err)
			}
			st.Pools = append(st.Pools, handedPool{File: len(g.files), Frames: pool.Size(), Arena: pool.ArenaID()})
			g.files = append(g.files, f)
		}
	}
	st.Learned = d.sw.ExportLearned()
	b, err := json.Marshal(st)
	if err != nil {
		return nil, nil, err
	}
	return b, g.files, nil
}

// poolHint adds to an AF_XDP port's refusal why, when it is the private
// pools.
func (g *Giver) poolHint(err error) error {
	if pools := g.d.sw.Pools(); len(pools) > 0 && !pools[0].Shared() {
		return fmt.Errorf("%w; AF_XDP ports move only with shared buffer pools, and this vswitchd runs with --shared-pools=false: stop it and start the new one instead", err)
	}
	return err
}

func (g *Giver) add(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var fd int
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return err
	}
	return g.addFD(fd, f.Name())
}

// addFD adds a duplicate of fd: the port keeps its own, and a Go file of
// the duplicate can be closed freely. Its blocking mode is the shared
// open file's and is left as it is.
func (g *Giver) addFD(fd int, what string) error {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s: dup: %w", what, err)
	}
	g.files = append(g.files, os.NewFile(uintptr(nfd), what))
	return nil
}

func (g *Giver) closeFiles() {
	for _, f := range g.files {
		f.Close()
	}
	g.files = nil
}

// StopPolling implements takeover.Giver: the workers stop (the learner
// too); the ports stay open. With AF_XDP ports it returns the late state.
func (g *Giver) StopPolling() ([]byte, error) {
	g.d.sw.Stop()
	g.stopped = true
	if !g.stopFirst {
		return nil, nil
	}
	late := lateState{Sockets: map[string][]afxdp.SocketState{}, Vhost: map[string]vhostuser.LateState{}}
	for i, p := range g.vhost {
		late.Vhost[g.vhostName[i]] = p.LateState()
	}
	if len(g.xdp) > 0 { // the pools moved with them
		for _, pool := range g.d.sw.Pools() {
			late.Free = append(late.Free, pool.FreeIDs())
		}
	}
	for i, p := range g.xdp {
		late.Sockets[g.xdpName[i]] = p.SocketStates()
	}
	return json.Marshal(late)
}

// Resume implements takeover.Giver: polling again, commands again. The
// state directory's lock names this process again (a successor that died
// before it could put that back may have written its own PID).
func (g *Giver) Resume() {
	g.closeFiles()
	for _, p := range g.xdp {
		// The taker may have swapped its program into the port's link.
		if err := p.TakeBack(); err != nil {
			g.d.log.Error("takeover failed and an AF_XDP port's XDP program was not taken back: its frames may skip the fast path", "err", err)
		}
	}
	for _, p := range g.vhost {
		if err := p.TakeBack(); err != nil {
			g.d.log.Error("takeover failed and a vhost-user port does not read its front-end's requests again", "err", err)
		}
	}
	g.xdp, g.xdpName, g.stopFirst, g.vhost, g.vhostName = nil, nil, false, nil, nil
	if g.stopped {
		if err := g.d.sw.Start(); err != nil {
			g.d.log.Error("takeover failed and the data plane did not restart", "err", err)
		}
		g.stopped = false
	}
	if g.frozen {
		if lf, ok := g.d.lock.(*os.File); ok {
			writeLockPID(lf, os.Getpid())
		}
		g.frozen = false
		g.d.mu.Unlock()
	}
}

// HandedOver is called once the successor has committed: every port is
// released (closing it leaves its device to the successor) and the
// caller closes the daemon next (Close), which deletes nothing the
// successor uses.
func (g *Giver) HandedOver() {
	g.closeFiles()
	d := g.d
	d.store.Freeze() // the successor stores from now on
	g.logDrops()
	for _, dr := range d.drivers {
		release(dr)
	}
	if g.frozen {
		g.frozen = false
		d.mu.Unlock()
	}
}

// Inherited is what a successor received: pass it in Config.Inherit.
type Inherited struct {
	st    takeoverState
	files []*os.File // nil once taken
	ports map[string]*handedPort
	// adopted lists the ports made of the giver's files. A port is
	// adopted once: made again later (set-port mtu=, its interface
	// gone and back), it is made as in a plain start.
	adopted map[string]bool
	// lockFile is the state directory's lock once taken (lock), and
	// giverLock what it said then: ReleaseInherited puts that back if
	// FinishTakeover wrote this process's PID (lockClaimed).
	lockFile    *os.File
	giverLock   []byte
	lockClaimed bool
}

// Inherit checks a giver's state and files. It takes ownership of the
// files: Close closes those not used.
func Inherit(state []byte, files []*os.File) (*Inherited, error) {
	in := &Inherited{files: files, ports: map[string]*handedPort{}, adopted: map[string]bool{}}
	if err := json.Unmarshal(state, &in.st); err != nil {
		in.Close()
		return nil, fmt.Errorf("takeover state: %w", err)
	}
	ok := func(i int) bool { return i >= 0 && i < len(files) && files[i] != nil }
	if !ok(in.st.Lock) {
		in.Close()
		return nil, fmt.Errorf("takeover state: lock file %d of %d", in.st.Lock, len(files))
	}
	for i := range in.st.Ports {
		hp := &in.st.Ports[i]
		for _, f := range hp.Files {
			if !ok(f) || f == in.st.Lock {
				in.Close()
				return nil, fmt.Errorf("takeover state: port %s: file %d of %d", hp.Name, f, len(files))
			}
		}
		n := 0
		for _, set := range []bool{hp.Tap != nil, hp.AFPacket != nil, hp.AFXDP != nil, hp.Vhost != nil, hp.SRIOV != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			in.Close()
			return nil, fmt.Errorf("takeover state: port %s: %d driver states", hp.Name, n)
		}
		if (hp.AFXDP != nil || hp.SRIOV != nil) && len(in.st.Pools) == 0 {
			in.Close()
			return nil, fmt.Errorf("takeover state: AF_XDP port %s without the workers' pools", hp.Name)
		}
		if (hp.AFXDP != nil || hp.SRIOV != nil || hp.Vhost != nil) && !in.st.StopFirst {
			in.Close()
			return nil, fmt.Errorf("takeover state: port %s needs the stop-first order", hp.Name)
		}
		in.ports[hp.Name] = hp
	}
	for w, hp := range in.st.Pools {
		if !ok(hp.File) || hp.File == in.st.Lock {
			in.Close()
			return nil, fmt.Errorf("takeover state: pool %d: file %d of %d", w, hp.File, len(files))
		}
	}
	return in, nil
}

// StopFirst reports whether the giver must stop before this process
// starts its workers (AF_XDP ports: see the package's takeover notes).
func (in *Inherited) StopFirst() bool { return in != nil && in.st.StopFirst }

// adoptPools maps the giver's worker pools, one per worker; their free
// lists come with the late state (FinishStopped).
func (in *Inherited) adoptPools(workers int) ([]*pipeline.Pool, error) {
	if workers == 0 {
		workers = 1
	}
	if len(in.st.Pools) != workers {
		return nil, fmt.Errorf("takeover: the running vswitchd has %d workers and this one %d: AF_XDP ports move with the workers' pools, so --cores must match", len(in.st.Pools), workers)
	}
	var pools []*pipeline.Pool
	for w, hp := range in.st.Pools {
		p, err := pipeline.AdoptPool(in.files[hp.File], hp.Frames)
		if err == nil && p.ArenaID() != hp.Arena {
			p.Close()
			err = fmt.Errorf("arena %d, the giver said %d", p.ArenaID(), hp.Arena)
		}
		if err != nil {
			for _, p := range pools {
				p.Close()
			}
			return nil, fmt.Errorf("takeover: worker %d's pool: %w", w, err)
		}
		pools = append(pools, p)
	}
	return pools, nil
}

// Close closes the inherited files nobody took.
func (in *Inherited) Close() {
	for i, f := range in.files {
		if f != nil {
			f.Close()
			in.files[i] = nil
		}
	}
}

// take hands file i over as a plain descriptor.
func (in *Inherited) take(i int) (int, error) {
	f := in.files[i]
	if f == nil {
		return -1, fmt.Errorf("takeover: file %d used twice", i)
	}
	in.files[i] = nil
	return takeover.FD(f)
}

// lock is the state directory's lock, now also this process's. Its
// content (the giver's PID) stays until FinishTakeover.
func (in *Inherited) lock() (io.Closer, error) {
	f := in.files[in.st.Lock]
	in.files[in.st.Lock] = nil
	// The flock belongs to the shared open file: holding it is having
	// the descriptor. Check it is the lock. (Never LOCK_UN it: that
	// would unlock the giver too.)
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("takeover: the inherited state directory lock is not held: %w", err)
	}
	in.giverLock, _ = io.ReadAll(io.NewSectionReader(f, 0, 64))
	in.lockFile = f
	return f, nil
}

// claimLock writes this process's PID in the state directory's lock,
// once the takeover is about to commit.
func (in *Inherited) claimLock() {
	if in.lockFile != nil {
		writeLockPID(in.lockFile, os.Getpid())
		in.lockClaimed = true
	}
}

// giveBackLock puts back what the lock said before claimLock.
func (in *Inherited) giveBackLock() {
	if in.lockClaimed {
		writeLock(in.lockFile, in.giverLock)
		in.lockClaimed = false
	}
}

// stateLock locks the state directory, or takes the giver's lock (New
// has had check find nothing to refuse).
func (cfg *Config) stateLock() (io.Closer, error) {
	if cfg.Inherit != nil {
		return cfg.Inherit.lock()
	}
	return lockStateDir(cfg.StateDir)
}

// check refuses a takeover that would change what a takeover keeps: the
// state directory, and the pools when they move (AF_XDP ports). New
// calls it before it changes anything; the caller aborts the takeover
// and the giver runs on.
func (in *Inherited) check(cfg *Config) error {
	if err := in.checkStateDir(cfg.StateDir); err != nil {
		return err
	}
	return in.checkPools(cfg.Switch)
}

// checkStateDir refuses a state directory that is not the giver's: not
// the directory it named (device and inode), or one whose lock file is
// not the lock handed over (a giver that did not name its directory).
func (in *Inherited) checkStateDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("takeover: state directory: %w", err)
	}
	theirs := in.st.StateDir
	if theirs == "" { // a giver that does not say: its lock's directory
		if p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(in.files[in.st.Lock].Fd()))); err == nil {
			theirs = filepath.Dir(p)
		} else {
			theirs = "another one"
		}
	}
	refuse := func() error {
		return fmt.Errorf("takeover refused: this vswitchd's state directory is %s and the running one's is %s: a takeover keeps the state directory, so give --state-dir %s (or stop the running vswitchd, then start this one on its own directory)", abs, theirs, theirs)
	}
	var ds, ls, fs unix.Stat_t
	if err := unix.Stat(abs, &ds); errors.Is(err, unix.ENOENT) {
		return refuse() // not made: the giver's exists
	} else if err != nil {
		return fmt.Errorf("takeover: state directory %s: %w", abs, err)
	}
	if in.st.StateIno != 0 && (uint64(ds.Dev) != in.st.StateDev || uint64(ds.Ino) != in.st.StateIno) {
		return refuse()
	}
	if err := unix.Lstat(filepath.Join(abs, LockFile), &ls); err != nil {
		return refuse() // no lock file: not the giver's directory
	}
	if err := unix.Fstat(int(in.files[in.st.Lock].Fd()), &fs); err != nil {
		return fmt.Errorf("takeover: the inherited state directory lock: %w", err)
	}
	if ls.Dev != fs.Dev || ls.Ino != fs.Ino {
		return refuse()
	}
	return nil
}

// defaultPoolFrames is pipeline.NewPool's pool size when none is given.
const defaultPoolFrames = 8192

// checkPools refuses pool options that the giver's pools, moving with its
// AF_XDP ports, do not have. Without such ports it refuses nothing: this
// process makes its own pools, as it was asked.
func (in *Inherited) checkPools(o vswitch.Options) error {
	if len(in.st.Pools) == 0 {
		return nil
	}
	if !o.SharedPools {
		return errors.New("takeover refused: this vswitchd has --shared-pools=false, and the running one's AF_XDP ports move with its shared pools, which this one would map: a takeover cannot make them private; stop the running vswitchd, then start this one")
	}
	frames := o.PoolFrames
	if frames == 0 {
		frames = defaultPoolFrames
	}
	for w, hp := range in.st.Pools {
		if hp.Frames != frames {
			return fmt.Errorf("takeover refused: this vswitchd has --pool-frames %d, and the running one's worker %d has %d: its AF_XDP ports move with its pools, which this one would map as they are; to change their size stop the running vswitchd, then start this one", frames, w, hp.Frames)
		}
	}
	return nil
}

// makeOrAdoptPort adopts spec's port from the giver if it handed it
// over and it was not adopted yet, and makes it otherwise (a port the
// giver had down, or one made again after its adoption).
func (d *Daemon) makeOrAdoptPort(spec PortSpec, replay bool) (*driver, error) {
	if d.inherit == nil {
		return d.makePort(spec, replay)
	}
	hp, ok := d.inherit.ports[spec.Name]
	if !ok || d.inherit.adopted[spec.Name] {
		return d.makePort(spec, replay)
	}
	dr, err := d.adoptPort(spec, hp)
	if err == nil {
		d.inherit.adopted[spec.Name] = true
	}
	return dr, err
}

// adoptPort makes spec's port of the files the giver handed over for it.
func (d *Daemon) adoptPort(spec PortSpec, hp *handedPort) (*driver, error) {
	if hp.Type != spec.Type {
		return nil, fmt.Errorf("takeover: port %s is type=%s here, %s in the giver", spec.Name, spec.Type, hp.Type)
	}
	var fds []int
	fail := func(err error) (*driver, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, err
	}
	for _, i := range hp.Files {
		fd, err := d.inherit.take(i)
		if err != nil {
			return fail(err)
		}
		fds = append(fds, fd)
	}
	switch {
	case hp.Tap != nil && spec.Type == TypeTap:
		p, err := tap.Adopt(spec.Name, *hp.Tap, fds, d.log)
		if err != nil {
			return fail(err)
		}
		if hp.Tap.Netns != "" {
			return &driver{port: p}, nil
		}
		return &driver{port: p, dev: p.Device().Ifname, devIndex: p.Device().Index}, nil
	case hp.AFPacket != nil && spec.Type == TypeVeth:
		p, err := afpacket.Adopt(spec.Name, *hp.AFPacket, fds, d.log)
		if err != nil {
			return fail(err)
		}
		dr := &driver{port: p, dev: hp.AFPacket.Ifname, devIndex: hp.AFPacket.Index}
		if vo, err := vethOptions(spec, hp.AFPacket.Queues); err == nil {
			dr.veth = existingVeth(vo) // for del-port to delete it
		}
		return dr, nil
	case hp.AFXDP != nil && (spec.Type == TypeAFXDP || spec.Type == TypeVeth):
		p, err := afxdp.Adopt(afxdp.Config{Name: spec.Name, Logger: d.log, FastPath: d.fp}, *hp.AFXDP, fds)
		if err != nil {
			return fail(err)
		}
		dr := &driver{port: p, dev: hp.AFXDP.Ifname, devIndex: hp.AFXDP.Index, placement: d.inherit.placement(hp.AFXDP)}
		if spec.Type == TypeVeth {
			if vo, err := vethOptions(spec, hp.AFXDP.Queues); err == nil {
				dr.veth = existingVeth(vo) // for del-port to delete it
			}
		}
		return dr, nil
	case hp.SRIOV != nil && spec.Type == TypeSRIOV:
		pc, err := sriov.ParsePortOptions(spec.Name, spec.Options)
		if err != nil {
			return fail(err)
		}
		pc.XDP, pc.Host = afxdp.Config{Name: spec.Name, Logger: d.log, FastPath: d.fp}, d.sriov
		p, err := sriov.AdoptPort(pc, *hp.SRIOV, fds)
		if err != nil {
			return fail(err)
		}
		return (&driver{port: p, placement: d.inherit.placement(&hp.SRIOV.XDP)}).withDevice(p.Netdev()), nil
	case hp.Vhost != nil && spec.Type == TypeVhost:
		vc, err := vhostuser.ParseOptions(spec.Options)
		if err != nil {
			return fail(err)
		}
		vc.Name, vc.Logger = spec.Name, d.log
		p, err := vhostuser.Adopt(vc, *hp.Vhost, fds)
		if err != nil {
			return fail(err)
		}
		return &driver{port: p}, nil
	}
	return fail(fmt.Errorf("takeover: port %s: type=%s with the giver's driver state", spec.Name, spec.Type))
}

// placement is the worker each rx queue of an AF_XDP port had in the
// giver, told by its socket's UMEM: the pool of the arena it names, which
// is that worker's here too (adoptPools maps the giver's pools in worker
// order). The switch's own placement would not do: it rotates queues by
// the port's index, which a successor that attaches the ports in
// configuration order need not give the port (the giver reuses a deleted
// port's index for the next port added), and a queue opened on another
// worker than its UMEM's fails. A socket whose arena no pool has is left
// to the default placement (and fails there, naming the arenas).
func (in *Inherited) placement(h *afxdp.Handover) map[int]int {
	worker := map[uint64]int{}
	for w, p := range in.st.Pools {
		worker[p.Arena] = w
	}
	var m map[int]int
	for _, s := range h.Sockets {
		w, ok := worker[s.Arena]
		if !ok || !s.Rx {
			continue
		}
		if m == nil {
			m = map[int]int{}
		}
		m[s.Queue] = w
	}
	return m
}

// release marks a driver's port as handed over, where its type needs it:
// closing it then leaves to the other process what that one uses.
func release(dr *driver) {
	switch p := dr.port.(type) {
	case *tap.Port:
		p.Release()
	case *afxdp.Port:
		p.Release()
	case *vhostuser.Port:
		p.Release()
	case *sriov.Port:
		p.Port.Release()
	}
}

// FinishStopped takes the giver's late state (the taker's
// takeover.Session.StopGiver returns it) once the giver's workers have
// stopped, before this daemon starts its own: each pool's free list and
// what each adopted AF_XDP socket holds, where each vhost-user ring
// stopped. Without such ports it does nothing.
func (d *Daemon) FinishStopped(b []byte) error {
	if !d.inherit.StopFirst() {
		return nil
	}
	var late lateState
	if err := json.Unmarshal(b, &late); err != nil {
		return fmt.Errorf("takeover: late state: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var pools []*pipeline.Pool
	if len(d.inherit.st.Pools) > 0 { // adopted: their free lists come now
		pools = d.sw.Pools()
	}
	if len(late.Free) != len(pools) {
		return fmt.Errorf("takeover: late state: %d free lists for %d adopted pools", len(late.Free), len(pools))
	}
	for name := range d.inherit.ports {
		if d.inherit.ports[name].AFXDP == nil && d.inherit.ports[name].SRIOV == nil {
			continue
		}
		dr, ok := d.drivers[name]
		var p *afxdp.Port
		if ok {
			switch q := dr.port.(type) {
			case *afxdp.Port:
				p = q
			case *sriov.Port:
				p = q.Port
			}
			ok = p != nil
		}
		if !ok {
			return fmt.Errorf("takeover: AF_XDP port %s was not adopted", name)
		}
		if err := p.Restore(late.Sockets[name]); err != nil {
			return fmt.Errorf("takeover: %w", err)
		}
	}
	for name := range d.inherit.ports {
		if d.inherit.ports[name].Vhost == nil {
			continue
		}
		dr, ok := d.drivers[name]
		var p *vhostuser.Port
		if ok {
			p, ok = dr.port.(*vhostuser.Port)
		}
		if !ok {
			return fmt.Errorf("takeover: vhost-user port %s was not adopted", name)
		}
		if err := p.Restore(late.Vhost[name]); err != nil {
			return fmt.Errorf("takeover: port %s: %w", name, err)
		}
	}
	for w, pool := range pools {
		if err := pool.Restore(late.Free[w]); err != nil {
			return fmt.Errorf("takeover: worker %d's pool: %w", w, err)
		}
	}
	return nil
}

// FinishTakeover checks, once New has run, that every port the giver
// handed over was adopted (a takeover never leaves one down), then adds
// the giver's learned MACs and neighbors to the switch, and then swaps
// each adopted AF_XDP port's XDP program into its link (swapAdopted). It
// closes what the takeover left unused. An error aborts the takeover
// (the giver takes its programs back). Without Config.Inherit it does
// nothing.
func (d *Daemon) FinishTakeover() (vswitch.ImportStats, error) {
	if d.inherit == nil {
		return vswitch.ImportStats{}, nil
	}
	defer d.inherit.Close()
	d.mu.Lock()
	for name := range d.inherit.ports {
		if _, ok := d.drivers[name]; !ok {
			d.mu.Unlock()
			return vswitch.ImportStats{}, fmt.Errorf("takeover: port %s was not adopted (see the log)", name)
		}
	}
	d.mu.Unlock()
	is, err := d.sw.ImportLearned(d.inherit.st.Learned)
	if err != nil {
		return is, err
	}
	if err := d.swapAdopted(); err != nil {
		return is, err
	}
	d.inherit.claimLock() // the commit comes next; ReleaseInherited undoes it
	return is, nil
}

// swapAdopted puts each adopted AF_XDP port's own XDP program (an SR-IOV
// hand-off port's too) into its link in place of the giver's. Adopt
// loaded it against this process's fast-path maps and left the giver's
// running: swapped in before the learned MACs were in those maps, it
// would have sent every frame the giver's program switched in the
// kernel to the sockets (whose fill rings the fast path keeps at their
// floor). It runs before this process's workers start and before the
// giver's stop: until the new workers poll, the giver's do.
func (d *Daemon) swapAdopted() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	names := make([]string, 0, len(d.inherit.ports))
	for name := range d.inherit.ports {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		dr, ok := d.drivers[name]
		if !ok {
			continue // deleted since by a command: nothing to swap
		}
		var err error
		switch p := dr.port.(type) {
		case *afxdp.Port:
			err = p.Swap()
		case *sriov.Port:
			err = p.Swap()
		}
		if err != nil {
			return fmt.Errorf("takeover: port %s: %w", name, err)
		}
	}
	return nil
}

// ReleaseInherited is for a successor that gives up before its commit:
// the adopted ports are released, so that Close leaves their devices to
// the giver, which resumes, and the state directory's lock names the
// giver again.
func (d *Daemon) ReleaseInherited() {
	if d.inherit == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inherit.giveBackLock()
	for name, dr := range d.drivers {
		if _, ok := d.inherit.ports[name]; !ok {
			continue
		}
		release(dr)
	}
	d.inherit.Close()
}

// logDrops logs, as this process hands over, every frame it counted as
// dropped in its life (show errors: node, reason, packets), in one line
// ("none" if it dropped nothing): its counters leave with it, and a
// frame lost in the handover is otherwise seen nowhere. Caller holds mu.
func (g *Giver) logDrops() {
	v, _ := g.d.showErrors(nil)
	var b strings.Builder
	for _, e := range v.([]ctl.ErrorCount) {
		if e.Packets == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s/%s=%d", e.Node, e.Reason, e.Packets)
	}
	if b.Len() == 0 {
		b.WriteString("none")
	}
	g.d.log.Info("drops at handover", "drops", b.String())
}

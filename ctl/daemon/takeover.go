package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/takeover"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/ports/tap"
	"github.com/vecswitch/vecswitch/vswitch"
)

// Hitless restart (vswitchd --takeover): the running daemon is the giver
// of internal/takeover, the new one adopts its ports and learned tables.
// The state handed over is takeoverState, JSON; the files are the state
// directory's lock (the flock is the open file's, so the successor holds
// it as soon as it has the descriptor, and keeps it when the giver exits)
// and every port's queue descriptors.
//
// Port types that can be handed over: tap, veth with io=afpacket (the
// default). A daemon with a port of another type (AF_XDP, SR-IOV,
// vhost-user) refuses a takeover, and keeps running: stop it and start
// the new binary instead (the stored configuration is replayed).

// takeoverState is what a daemon hands its successor.
type takeoverState struct {
	Lock    int                  `json:"lock"` // index in the files
	Ports   []handedPort         `json:"ports"`
	Learned vswitch.LearnedState `json:"learned"`
}

// handedPort is one port's driver state; Files index the files.
type handedPort struct {
	Name     string             `json:"name"`
	Type     string             `json:"type"`
	Files    []int              `json:"files"`
	Tap      *tap.Handover      `json:"tap,omitempty"`
	AFPacket *afpacket.Handover `json:"afpacket,omitempty"`
}

// Giver is a daemon's side of a takeover (takeover.Giver). Export
// freezes the configuration: commands wait until Resume, or for good once
// HandedOver.
type Giver struct {
	d       *Daemon
	frozen  bool
	stopped bool
	files   []*os.File // duplicates made for the transfer
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
		default:
			return nil, nil, fmt.Errorf("port %s (type=%s) cannot be handed over yet (only tap and veth io=afpacket ports): stop this vswitchd and start the new one instead", n, spec.Type)
		}
		for _, fd := range fds {
			hp.Files = append(hp.Files, len(g.files))
			if err := g.addFD(fd, n); err != nil {
				return nil, nil, err
			}
		}
		st.Ports = append(st.Ports, hp)
	}
	st.Learned = d.sw.ExportLearned()
	b, err := json.Marshal(st)
	if err != nil {
		return nil, nil, err
	}
	return b, g.files, nil
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
// too); the ports stay open.
func (g *Giver) StopPolling() error {
	g.d.sw.Stop()
	g.stopped = true
	return nil
}

// Resume implements takeover.Giver: polling again, commands again.
func (g *Giver) Resume() {
	g.closeFiles()
	if g.stopped {
		if err := g.d.sw.Start(); err != nil {
			g.d.log.Error("takeover failed and the data plane did not restart", "err", err)
		}
		g.stopped = false
	}
	if g.frozen {
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
	for _, dr := range d.drivers {
		if p, ok := dr.port.(*tap.Port); ok {
			p.Release()
		}
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
}

// Inherit checks a giver's state and files. It takes ownership of the
// files: Close closes those not used.
func Inherit(state []byte, files []*os.File) (*Inherited, error) {
	in := &Inherited{files: files, ports: map[string]*handedPort{}}
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
		if (hp.Tap == nil) == (hp.AFPacket == nil) {
			in.Close()
			return nil, fmt.Errorf("takeover state: port %s: no driver state", hp.Name)
		}
		in.ports[hp.Name] = hp
	}
	return in, nil
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

// lock is the state directory's lock, now also this process's.
func (in *Inherited) lock() (io.Closer, error) {
	f := in.files[in.st.Lock]
	in.files[in.st.Lock] = nil
	// The flock belongs to the shared open file: holding it is having
	// the descriptor. Check it is the lock, and take the PID line.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("takeover: the inherited state directory lock is not held: %w", err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// stateLock locks the state directory, or takes the giver's lock.
func (cfg *Config) stateLock() (io.Closer, error) {
	if cfg.Inherit != nil {
		return cfg.Inherit.lock()
	}
	return lockStateDir(cfg.StateDir)
}

// makeOrAdoptPort adopts spec's port from the giver if it handed it
// over, and makes it otherwise (a port the giver had down).
func (d *Daemon) makeOrAdoptPort(spec PortSpec, replay bool) (*driver, error) {
	if d.inherit == nil {
		return d.makePort(spec, replay)
	}
	hp, ok := d.inherit.ports[spec.Name]
	if !ok {
		return d.makePort(spec, replay)
	}
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
	}
	return fail(fmt.Errorf("takeover: port %s: type=%s with the giver's driver state", spec.Name, spec.Type))
}

// FinishTakeover checks, once New has run, that every port the giver
// handed over was adopted (a takeover never leaves one down), then adds
// the giver's learned MACs and neighbors to the switch. It closes what
// the takeover left unused. Without Config.Inherit it does nothing.
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
	return d.sw.ImportLearned(d.inherit.st.Learned)
}

// ReleaseInherited is for a successor that gives up before its commit:
// the adopted ports are released, so that Close leaves their devices to
// the giver, which resumes.
func (d *Daemon) ReleaseInherited() {
	if d.inherit == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, dr := range d.drivers {
		if _, ok := d.inherit.ports[name]; !ok {
			continue
		}
		if p, ok := dr.port.(*tap.Port); ok {
			p.Release()
		}
	}
	d.inherit.Close()
}

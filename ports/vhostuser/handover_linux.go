package vhostuser

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports"
)

// Handing a running port to another process (vswitchd --takeover); see
// the package doc, "Handing a port to another process", for the design.

// handoverWait bounds how long Handover waits for the port's goroutine to
// finish the request it is handling (a reply may wait replyTimeout).
const handoverWait = 2 * replyTimeout

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadHandover}, a...)...)
}

// Handover describes the port and returns its descriptors, still the
// port's: the caller sends them (SCM_RIGHTS duplicates them) and must not
// close them. They are the listening socket, the front-end's connection
// if one is connected, each guest memory region's file, and each ring's
// kick and call eventfds; h names each by its index in fds.
//
// From the moment it is called the port reads no request from the
// front-end and accepts no connection (what the front-end sends meanwhile
// waits in the socket for the adopter; a request being handled is
// finished first); its rings keep running. TakeBack undoes it if the
// takeover is abandoned; LateState, once the workers have stopped, says
// where the rings stopped; Release and Close end the port once the other
// process has taken over. Handover may be called again (the port stays
// paused).
func (p *Port) Handover() (Handover, []int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return Handover{}, nil, fmt.Errorf("vhostuser %s: %w: closed", p.name, ErrNoHandover)
	case p.adopted:
		return Handover{}, nil, fmt.Errorf("vhostuser %s: %w: adopted and not restored yet", p.name, ErrNoHandover)
	}
	if err := p.srv.pause(handoverWait); err != nil {
		return Handover{}, nil, fmt.Errorf("vhostuser %s: %w: %w", p.name, ErrNoHandover, err)
	}
	h, fds, err := p.describe()
	if err != nil {
		p.srv.resume()
		return Handover{}, nil, fmt.Errorf("vhostuser %s: %w: %w", p.name, ErrNoHandover, err)
	}
	return h, fds, nil
}

// describe makes the Handover of a paused port.
func (p *Port) describe() (Handover, []int, error) {
	b := p.b
	b.mu.Lock()
	defer b.mu.Unlock()
	lfd, err := rawFD(p.srv.ln)
	if err != nil {
		return Handover{}, nil, fmt.Errorf("listener: %w", err)
	}
	h := Handover{Socket: p.socket, Queues: b.pairs, BatchSize: p.info.BatchSize, NoOffload: !p.info.Offload,
		Listener: 0, Conn: -1, Rings: make([]RingHandover, len(b.vqs))}
	fds := []int{lfd}
	add := func(fd int) int {
		if fd < 0 {
			return -1
		}
		fds = append(fds, fd)
		return len(fds) - 1
	}
	if c := p.srv.conn.Load(); c != nil {
		cfd, err := rawFD(c)
		if err != nil {
			return Handover{}, nil, fmt.Errorf("connection: %w", err)
		}
		h.Conn = add(cfd)
		h.Features, h.ProtocolFeatures = b.features, b.protocol
		if b.mem != nil {
			for _, r := range b.mem.regions {
				h.Regions = append(h.Regions, RegionHandover{GPA: r.gpa, UVA: r.uva, Size: r.size, Offset: r.offset, FD: add(r.fd)})
			}
		}
	}
	for i, v := range b.vqs {
		h.Rings[i] = RingHandover{Num: v.num, HasAddr: v.hasAddr, Flags: v.addr.flags,
			Desc: v.addr.desc, Used: v.addr.used, Avail: v.addr.avail, Log: v.addr.log,
			Base: v.base, Started: v.started, Enabled: v.enabled, Running: v.running, Kick: -1, Call: -1}
		if h.Conn >= 0 {
			h.Rings[i].Kick, h.Rings[i].Call = add(v.kick), add(v.call)
		}
	}
	return h, fds, nil
}

// rawFD is a socket's descriptor, which stays its own.
func rawFD(c interface {
	SyscallConn() (syscall.RawConn, error)
}) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return -1, err
	}
	return fd, nil
}

// LateState returns where each running ring stands, for Restore in the
// adopter. The workers must have stopped polling the port's queues (a
// ring has one consumer: the two processes must never serve it at the
// same time). It changes nothing: if the takeover is abandoned, the
// workers start again where they were.
func (p *Port) LateState() LateState {
	b := p.b
	b.mu.Lock()
	defer b.mu.Unlock()
	var ls LateState
	for i := range b.vqs {
		if !b.vqs[i].running {
			continue
		}
		s := &b.slots[i]
		s.lockSlow()
		if r := s.ring; r != nil {
			ls.Rings = append(ls.Rings, RingState{VQ: i, LastAvail: r.lastAvail, LastUsed: r.lastUsed, Broken: r.broken})
		}
		s.unlock()
	}
	return ls
}

// TakeBack undoes Handover after the takeover was abandoned: the port
// reads the front-end's requests again (those sent meanwhile first) and
// accepts connections. It must not be called once the other process has
// restored the port (it then serves the front-end).
func (p *Port) TakeBack() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return fmt.Errorf("vhostuser %s: take back: %w", p.name, ports.ErrClosed)
	case p.adopted:
		return fmt.Errorf("vhostuser %s: take back: adopted and not restored (Release and Close it)", p.name)
	}
	p.srv.resume()
	return nil
}

// Release marks the port as handed over (the giver, after the commit) or
// given up (an adopter that was not restored): closing it then closes
// this process's descriptors and mappings only. The socket path is not
// removed, nothing is sent to the front-end, and the connection, the
// memory and the eventfds live on in the other process. After Release,
// only the queues' Close and Close are called.
func (p *Port) Release() {
	p.srv.released.Store(true)
	p.srv.ln.SetUnlinkOnClose(false)
}

// Adopt makes a port of what another process handed over (Port.Handover
// there): h, and fds, named by index in h. It checks each descriptor (a
// listening unix stream socket bound to h.Socket, a unix stream socket
// connected on it, regular files at least as long as their regions,
// eventfds), maps the memory table again and rebuilds the device state
// (features, protocol features, rings' sizes, addresses, bases, enabled,
// kick and call) without starting any ring and without reading from the
// connection: Restore does both, once the giver's workers have stopped.
// On success the descriptors are the port's; on failure (an error
// wrapping ErrBadHandover for what does not fit) they are left to the
// caller. cfg supplies the name, logger and MAC; the port's shape
// (Socket, Queues, BatchSize, NoOffload) comes from h, since the
// front-end negotiated against it: a cfg.Socket that differs is refused.
func Adopt(cfg Config, h Handover, fds []int) (_ *Port, err error) {
	if cfg.Socket != "" && cfg.Socket != h.Socket {
		return nil, bad("vhostuser %s: adopt: socket %s handed over, %s configured", cfg.Name, h.Socket, cfg.Socket)
	}
	cfg.Socket, cfg.Queues, cfg.BatchSize, cfg.NoOffload = h.Socket, h.Queues, h.BatchSize, h.NoOffload
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, bad("adopt: %w", err)
	}
	name := cfg.Name
	if err := h.check(len(fds)); err != nil {
		return nil, bad("vhostuser %s: adopt: %w", name, err)
	}
	// Work on duplicates, so that a refusal leaves the caller's intact.
	dups := make([]int, len(fds))
	for i := range dups {
		dups[i] = -1
	}
	p := &Port{
		name: name, socket: h.Socket, log: cfg.Logger,
		info:   ports.Info{RxQueues: h.Queues, TxQueues: h.Queues, BatchSize: cfg.BatchSize, Offload: !cfg.NoOffload},
		rxOpen: make([]bool, h.Queues), txOpen: make([]bool, h.Queues),
		rxc: make([]rxCounters, h.Queues), txc: make([]txCounters, h.Queues),
	}
	var mem *guestMem
	var ln *net.UnixListener
	var conn *net.UnixConn
	sys := linuxSys{}
	defer func() {
		if err == nil {
			return
		}
		if mem != nil {
			for _, r := range mem.regions {
				sys.unmap(r.mapping)
			}
		}
		if ln != nil {
			ln.Close()
		}
		if conn != nil {
			conn.Close()
		}
		closePortFDs(p.pollFDs)
		closePortFDs(p.busyFDs)
		closePortFDs(dups)
	}()
	for i, fd := range fds {
		d, derr := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if derr != nil {
			return nil, bad("vhostuser %s: adopt: descriptor %d: %w", name, i, derr)
		}
		dups[i] = d
	}
	if err := checkSocket(dups[h.Listener], h.Socket, true); err != nil {
		return nil, bad("vhostuser %s: adopt: listener: %w", name, err)
	}
	if h.Conn >= 0 {
		if err := checkSocket(dups[h.Conn], h.Socket, false); err != nil {
			return nil, bad("vhostuser %s: adopt: connection: %w", name, err)
		}
	}
	for i, r := range h.Regions {
		if err := checkRegionFile(dups[r.FD], r.Offset+r.Size); err != nil {
			return nil, bad("vhostuser %s: adopt: region %d: %w", name, i, err)
		}
	}
	for i, r := range h.Rings {
		for _, fd := range [...]int{r.Kick, r.Call} {
			if fd >= 0 && !isEventfd(dups[fd]) {
				return nil, bad("vhostuser %s: adopt: virtqueue %d: descriptor %d is not an eventfd", name, i, fd)
			}
		}
	}

	if err := p.makePortFDs(h.Queues); err != nil {
		return nil, fmt.Errorf("vhostuser %s: adopt: %w", name, err)
	}
	b := newBackend(name, cfg.Logger, sys, h.Queues, !cfg.NoOffload, cfg.mac48(), p.pollFDs, p.busyFDs, &p.ctl)
	p.b = b
	if len(h.Regions) > 0 {
		mem = &guestMem{regions: make([]region, 0, len(h.Regions))}
		for i, r := range h.Regions {
			mapping, data, merr := sys.mapRegion(dups[r.FD], r.Offset, r.Size)
			if merr != nil {
				return nil, bad("vhostuser %s: adopt: region %d: %w", name, i, merr)
			}
			mem.regions = append(mem.regions, region{gpa: r.GPA, uva: r.UVA, size: r.Size, offset: r.Offset, data: data, mapping: mapping, fd: -1})
		}
	}
	b.connected = h.Conn >= 0
	b.features, b.protocol, b.mem = h.Features, h.ProtocolFeatures, mem
	for i, r := range h.Rings {
		v := &b.vqs[i]
		v.num, v.hasAddr, v.base, v.started, v.enabled = r.Num, r.HasAddr, r.Base, r.Started, r.Enabled
		v.addr = vringAddr{index: uint32(i), flags: r.Flags, desc: r.Desc, used: r.Used, avail: r.Avail, log: r.Log}
	}
	for i, r := range h.Rings {
		if runs := b.willRun(i); runs != r.Running {
			return nil, bad("vhostuser %s: adopt: virtqueue %d: running %v in the giver, %v here", name, i, r.Running, runs)
		}
	}
	for _, r := range h.Rings {
		if r.Kick >= 0 {
			if err := sys.prepareKick(dups[r.Kick]); err != nil {
				return nil, bad("vhostuser %s: adopt: kick eventfd: %w", name, err)
			}
		}
	}
	ln, err = fileListener(dups[h.Listener])
	dups[h.Listener] = -1 // closed by fileListener
	if err != nil {
		return nil, bad("vhostuser %s: adopt: listener: %w", name, err)
	}
	if h.Conn >= 0 {
		conn, err = fileConn(dups[h.Conn])
		dups[h.Conn] = -1
		if err != nil {
			return nil, bad("vhostuser %s: adopt: connection: %w", name, err)
		}
	}

	// Nothing fails from here: the descriptors are the port's.
	for i, r := range h.Regions {
		mem.regions[i].fd, dups[r.FD] = dups[r.FD], -1
	}
	for i, r := range h.Rings {
		v := &b.vqs[i]
		if r.Kick >= 0 {
			v.kick, dups[r.Kick] = dups[r.Kick], -1
		}
		if r.Call >= 0 {
			v.call, dups[r.Call] = dups[r.Call], -1
		}
	}
	ln.SetUnlinkOnClose(true)
	p.srv = newServer(b, cfg.Logger, &p.ctl, ln)
	p.srv.inherited = conn
	p.srv.pauseAtStart()
	p.adopted = true
	go p.srv.run()
	for _, fd := range fds {
		unix.Close(fd)
	}
	return p, nil
}

// willRun reports whether ring i would run: it has all it needs and its
// addresses lie in guest memory. It touches no guest memory.
func (b *backend) willRun(i int) bool {
	if !b.runnable(i) {
		return false
	}
	_, _, _, err := b.ringParts(&b.vqs[i])
	return err == nil
}

// check validates h's shape against n descriptors: every index in range
// and used once, all used, features offered, a valid memory table, ring
// sizes, and no device state without a connection.
func (h *Handover) check(n int) error {
	if h.Queues < 1 || h.Queues > MaxQueues || len(h.Rings) != 2*h.Queues {
		return fmt.Errorf("%d queue pairs with %d rings", h.Queues, len(h.Rings))
	}
	used := make([]bool, n)
	use := func(what string, i int, optional bool) error {
		switch {
		case i == -1 && optional:
			return nil
		case i < 0 || i >= n:
			return fmt.Errorf("%s: descriptor %d of %d", what, i, n)
		case used[i]:
			return fmt.Errorf("%s: descriptor %d used twice", what, i)
		}
		used[i] = true
		return nil
	}
	if err := use("listener", h.Listener, false); err != nil {
		return err
	}
	if err := use("connection", h.Conn, true); err != nil {
		return err
	}
	if h.Features&^offeredFeatures(h.Queues, !h.NoOffload) != 0 || h.ProtocolFeatures&^offeredProtocolFeatures() != 0 {
		return fmt.Errorf("features %#x, protocol features %#x: not all offered", h.Features, h.ProtocolFeatures)
	}
	if len(h.Regions) > maxRegions {
		return fmt.Errorf("%d memory regions, at most %d", len(h.Regions), maxRegions)
	}
	regs := make([]memRegion, len(h.Regions))
	for i, r := range h.Regions {
		if err := use("region "+strconv.Itoa(i), r.FD, false); err != nil {
			return err
		}
		regs[i] = memRegion{gpa: r.GPA, size: r.Size, uva: r.UVA, offset: r.Offset}
	}
	if err := checkRegions(regs); err != nil {
		return err
	}
	for i, r := range h.Rings {
		if r.Num != 0 && (r.Num > maxRingSize || r.Num&(r.Num-1) != 0) {
			return fmt.Errorf("virtqueue %d: size %d", i, r.Num)
		}
		if err := use("kick "+strconv.Itoa(i), r.Kick, true); err != nil {
			return err
		}
		if err := use("call "+strconv.Itoa(i), r.Call, true); err != nil {
			return err
		}
	}
	if h.Conn < 0 {
		if h.Features != 0 || h.ProtocolFeatures != 0 || len(h.Regions) > 0 {
			return errors.New("device state without a connection")
		}
		for i, r := range h.Rings {
			if r.Kick >= 0 || r.Call >= 0 || r.Running {
				return fmt.Errorf("virtqueue %d: state without a connection", i)
			}
		}
	}
	for i, u := range used {
		if !u {
			return fmt.Errorf("descriptor %d of %d not described", i, n)
		}
	}
	return nil
}

// checkSocket checks that fd is a unix stream socket bound to path:
// listening if listener, else connected.
func checkSocket(fd int, path string, listener bool) error {
	dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return fmt.Errorf("not a socket: %w", err)
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return err
	}
	acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil {
		return err
	}
	if dom != unix.AF_UNIX || typ != unix.SOCK_STREAM {
		return fmt.Errorf("socket of domain %d type %d, want a unix stream socket", dom, typ)
	}
	if (acc == 1) != listener {
		return fmt.Errorf("listening: %v", acc == 1)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return err
	}
	if ua, ok := sa.(*unix.SockaddrUnix); !ok || ua.Name != path {
		return fmt.Errorf("bound to %v, want %s", sa, path)
	}
	if !listener {
		if _, err := unix.Getpeername(fd); err != nil {
			return fmt.Errorf("not connected: %w", err)
		}
	}
	return nil
}

// checkRegionFile checks that fd is a regular file (a memfd, a file of
// hugetlbfs or tmpfs) of at least end bytes.
func checkRegionFile(fd int, end uint64) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("not a regular file (mode %#o)", st.Mode)
	}
	if st.Size < 0 || uint64(st.Size) < end {
		return fmt.Errorf("file of %d bytes, the region ends at %d", st.Size, end)
	}
	return nil
}

// isEventfd reports whether fd is an eventfd.
func isEventfd(fd int) bool {
	l, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	return err == nil && l == "anon_inode:[eventfd]"
}

// fileListener makes a listener of fd, which it closes.
func fileListener(fd int) (*net.UnixListener, error) {
	f := os.NewFile(uintptr(fd), "vhost-user listener")
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	ul, ok := l.(*net.UnixListener)
	if !ok {
		l.Close()
		return nil, fmt.Errorf("%T, not a unix listener", l)
	}
	return ul, nil
}

// fileConn makes a connection of fd, which it closes.
func fileConn(fd int) (*net.UnixConn, error) {
	f := os.NewFile(uintptr(fd), "vhost-user connection")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("%T, not a unix connection", c)
	}
	return uc, nil
}

// Restore starts the adopted port's rings where the giver's data path
// left them (the giver's LateState, read once its workers stopped) and
// lets the port read the front-end's requests, those sent since Handover
// first. Call it once the queues are open, before the workers poll them.
// All or nothing: a late state that does not name each ring that runs
// exactly once, or names another, is refused (ErrBadHandover) and changes
// nothing.
func (p *Port) Restore(late LateState) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return fmt.Errorf("vhostuser %s: restore: %w", p.name, ports.ErrClosed)
	case !p.adopted:
		return bad("vhostuser %s: restore: not adopted, or restored already", p.name)
	}
	b := p.b
	b.mu.Lock()
	seen := make([]bool, len(b.vqs))
	for _, st := range late.Rings {
		if st.VQ < 0 || st.VQ >= len(b.vqs) || seen[st.VQ] || !b.willRun(st.VQ) {
			b.mu.Unlock()
			return bad("vhostuser %s: restore: virtqueue %d: out of range, listed twice or not running", p.name, st.VQ)
		}
		seen[st.VQ] = true
	}
	for i := range b.vqs {
		if b.willRun(i) && !seen[i] {
			b.mu.Unlock()
			return bad("vhostuser %s: restore: no late state for virtqueue %d", p.name, i)
		}
	}
	for i := range late.Rings {
		st := &late.Rings[i]
		b.startAt(st.VQ, st)
		v := &b.vqs[st.VQ]
		if v.running && st.VQ%2 == 1 && v.kick >= 0 {
			// Kicks the giver's worker drained went with it: wake the
			// rx queue once to look.
			var ev [8]byte
			signal(v.kick, &ev)
		}
	}
	b.mu.Unlock()
	p.adopted = false
	p.srv.resume()
	return nil
}

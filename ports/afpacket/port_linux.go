package afpacket

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/internal/vnetio"
)

// Port is an AF_PACKET port. Its methods are for the control plane; its
// queues are used by one worker each.
type Port struct {
	name   string
	info   ports.Info
	ifname string
	index  int
	fds    []int
	log    *slog.Logger
	drop   link.Link // the tcx ingress drop program

	mu             sync.Mutex
	closed         bool
	rxOpen, txOpen []bool
	c              []counters
	// kernelDrops is the sum of the sockets' PACKET_STATISTICS drops
	// read so far (each read resets the kernel's); mu guards it.
	kernelDrops uint64
}

type counters struct {
	rxPackets, rxBytes, rxOversize, rxInvalid, rxNoBuffer, rxErrors atomic.Uint64
	txPackets, txBytes, txFull, txOversize, txInvalid, txErrors     atomic.Uint64
	_                                                               [16]byte
}

// htons is the protocol number as sockets take it.
func htons(v uint16) uint16 { return v<<8 | v>>8 }

// New opens cfg.Queues sockets on cfg.Ifname and stops the interface's
// stack from receiving its frames (see the package doc). On failure
// nothing is left behind.
func New(cfg Config) (_ *Port, err error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l, err := netlink.LinkByName(cfg.Ifname)
	if err != nil {
		return nil, fmt.Errorf("afpacket %s: no interface %s: %w", cfg.Name, cfg.Ifname, err)
	}
	p := &Port{name: cfg.Name, ifname: cfg.Ifname, index: l.Attrs().Index, log: cfg.Logger,
		rxOpen: make([]bool, cfg.Queues), txOpen: make([]bool, cfg.Queues), c: make([]counters, cfg.Queues)}
	p.info = ports.Info{RxQueues: cfg.Queues, TxQueues: cfg.Queues, BatchSize: cfg.BatchSize, MaxFrame: cfg.MaxFrame, Offload: true}
	defer func() {
		if err != nil {
			p.release()
		}
	}()
	group := rand.IntN(0xFFFF) + 1
	for q := range cfg.Queues {
		fd, err := openSocket(p.index, cfg.Queues > 1, group)
		if err != nil {
			return nil, fmt.Errorf("afpacket %s on %s (queue %d): %w", cfg.Name, cfg.Ifname, q, err)
		}
		p.fds = append(p.fds, fd)
	}
	if err := p.dropIngress(); err != nil {
		return nil, fmt.Errorf("afpacket %s on %s: %w", cfg.Name, cfg.Ifname, err)
	}
	return p, nil
}

// openSocket opens one queue's socket.
func openSocket(index int, fanout bool, group int) (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	opts := []struct {
		name      string
		level, op int
		v         int
	}{
		{"PACKET_VNET_HDR", unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1},
		// Each frame's VLAN tag, which the kernel took out of it (reader).
		{"PACKET_AUXDATA", unix.SOL_PACKET, unix.PACKET_AUXDATA, 1},
		{"PACKET_IGNORE_OUTGOING", unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1},
		{"PACKET_QDISC_BYPASS", unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1},
		// Room for some 64 KiB frames each way while the worker is busy.
		{"SO_RCVBUFFORCE", unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8 << 20},
		{"SO_SNDBUFFORCE", unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4 << 20},
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o.level, o.op, o.v); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("%s: %w", o.name, err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: index}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind: %w", err)
	}
	if fanout {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_FANOUT, group|unix.PACKET_FANOUT_HASH<<16); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("PACKET_FANOUT: %w", err)
		}
	}
	return fd, nil
}

// dropIngress attaches, at tcx ingress, a two-instruction BPF program
// that drops every frame: the packet sockets have seen it by then (tc
// runs after AF_PACKET delivery), the host's stack never does. tcx needs
// Linux 6.6; the link is the port's, detached by Close.
func (p *Port) dropIngress() error {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "vs_afp_drop",
		Type: ebpf.SchedCLS,
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 2), // TC_ACT_SHOT
			asm.Return(),
		},
		License: "Dual MIT/GPL",
	})
	if err != nil {
		return fmt.Errorf("load the ingress drop program: %w", err)
	}
	defer prog.Close() // the link keeps it
	l, err := link.AttachTCX(link.TCXOptions{Interface: p.index, Program: prog, Attach: ebpf.AttachTCXIngress})
	if err != nil {
		return fmt.Errorf("attach the ingress drop program (tcx, Linux 6.6 or later): %w", err)
	}
	p.drop = l
	return nil
}

// release closes the sockets and detaches the drop program. An interface
// already gone is fine (the kernel detached it).
func (p *Port) release() error {
	var errs []error
	for _, fd := range p.fds {
		if err := unix.Close(fd); err != nil {
			errs = append(errs, err)
		}
	}
	p.fds = nil
	if p.drop != nil {
		if err := p.drop.Close(); err != nil {
			errs = append(errs, fmt.Errorf("detach the ingress drop program: %w", err))
		}
		p.drop = nil
	}
	return errors.Join(errs...)
}

// Name implements ports.Port.
func (p *Port) Name() string { return p.name }

// Info implements ports.Port: Offload is set, the port takes large frames.
func (p *Port) Info() ports.Info { return p.info }

// Ifname is the interface the port runs on.
func (p *Port) Ifname() string { return p.ifname }

// OpenRx implements ports.Port.
func (p *Port) OpenRx(q int, pool *pipeline.Pool) (pipeline.RxQueue, error) {
	if err := p.claim(p.rxOpen, "rx", q); err != nil {
		return nil, err
	}
	return &rxQueue{p: p, q: q, batch: p.info.BatchSize, r: vnetio.NewPacketReader(p.fds[q], pool), fd: p.fds[q], c: &p.c[q]}, nil
}

// OpenTx implements ports.Port.
func (p *Port) OpenTx(q int, pool *pipeline.Pool) (pipeline.TxQueue, error) {
	if err := p.claim(p.txOpen, "tx", q); err != nil {
		return nil, err
	}
	return &txQueue{p: p, q: q, pool: pool, w: vnetio.NewWriter(p.fds[q]), c: &p.c[q]}, nil
}

func (p *Port) claim(open []bool, kind string, q int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ports.ClaimQueue(open, p.closed, "afpacket "+p.name, kind, q)
}

func (p *Port) unclaim(open []bool, q int) {
	p.mu.Lock()
	open[q] = false
	p.mu.Unlock()
}

// Close implements ports.Port; its queues must be closed first.
func (p *Port) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ports.ErrClosed
	}
	for q := range p.rxOpen {
		if p.rxOpen[q] || p.txOpen[q] {
			return fmt.Errorf("afpacket %s: close with queue %d open", p.name, q)
		}
	}
	p.closed = true
	return p.release()
}

// Stats sums the queues' counters, and reads the drops the kernel
// counted at each socket (RxKernelDrops: one getsockopt per queue, on the
// caller's goroutine, never the workers').
func (p *Port) Stats() Stats {
	s := Stats{RxKernelDrops: p.readKernelDrops()}
	for i := range p.c {
		c := &p.c[i]
		s.RxPackets += c.rxPackets.Load()
		s.RxBytes += c.rxBytes.Load()
		s.RxOversize += c.rxOversize.Load()
		s.RxInvalid += c.rxInvalid.Load()
		s.RxNoBuffer += c.rxNoBuffer.Load()
		s.RxErrors += c.rxErrors.Load()
		s.TxPackets += c.txPackets.Load()
		s.TxBytes += c.txBytes.Load()
		s.TxFull += c.txFull.Load()
		s.TxOversize += c.txOversize.Load()
		s.TxInvalid += c.txInvalid.Load()
		s.TxErrors += c.txErrors.Load()
	}
	return s
}

// readKernelDrops adds the drops the kernel counted at each socket since
// the last read to p.kernelDrops and returns the total. PACKET_STATISTICS
// resets the kernel's counters as it reads them, so concurrent callers
// (port/stats, show errors, metrics) are serialized by mu and none loses
// what another read. A closed port keeps its total.
func (p *Port) readKernelDrops() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return p.kernelDrops
	}
	for q, fd := range p.fds {
		st, err := unix.GetsockoptTpacketStats(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err != nil {
			p.log.Debug("afpacket: PACKET_STATISTICS", "port", p.name, "queue", q, "err", err)
			continue
		}
		p.kernelDrops += uint64(st.Drops)
	}
	return p.kernelDrops
}

var errQueueClosed = errors.New("afpacket: queue closed")

type rxQueue struct {
	p      *Port
	q      int
	fd     int
	batch  int
	r      *vnetio.Reader
	c      *counters
	closed bool
}

// Rx reads up to min(len(bufs), batch) frames, one recvmsg(2) each,
// until the socket has none.
func (q *rxQueue) Rx(bufs []pipeline.BufID) (int, error) {
	if q.closed {
		return 0, errQueueClosed
	}
	if len(bufs) > q.batch {
		bufs = bufs[:q.batch]
	}
	n := 0
	var bytes uint64
	var err error
loop:
	for tries := len(bufs); tries > 0 && n < len(bufs); tries-- {
		id, size, res, errno := q.r.Read()
		switch res {
		case vnetio.Got:
			bufs[n] = id
			n++
			bytes += uint64(size)
		case vnetio.Empty:
			break loop
		case vnetio.NoBuffer:
			add(&q.c.rxNoBuffer, 1)
			break loop
		case vnetio.Oversize:
			add(&q.c.rxOversize, 1)
		case vnetio.Invalid:
			add(&q.c.rxInvalid, 1)
		case vnetio.Failed:
			add(&q.c.rxErrors, 1)
			err = errno
			break loop
		}
	}
	add(&q.c.rxPackets, uint64(n))
	add(&q.c.rxBytes, bytes)
	return n, err
}

// PollFD implements pipeline.Pollable.
func (q *rxQueue) PollFD() int { return q.fd }

// Close releases the queue and gives its buffers back to the pool.
func (q *rxQueue) Close() error {
	if q.closed {
		return errQueueClosed
	}
	q.closed = true
	q.r.Close()
	q.p.unclaim(q.p.rxOpen, q.q)
	return nil
}

type txQueue struct {
	p      *Port
	q      int
	pool   *pipeline.Pool
	w      *vnetio.Writer
	c      *counters
	closed bool
}

// Tx writes each frame with one writev(2) behind its virtio-net header
// and frees every buffer. It stops at the first EAGAIN (the rest count as
// TxFull).
func (q *txQueue) Tx(bufs []pipeline.BufID) (int, error) {
	pool := q.pool
	if q.closed {
		pool.FreeN(bufs)
		return 0, errQueueClosed
	}
	sent := 0
	var bytes uint64
	var err error
	maxFrame := q.p.info.MaxFrame
loop:
	for i := 0; i < len(bufs); i++ {
		m := pool.Meta(bufs[i])
		if m.Offload&pipeline.OffloadGSO == 0 && m.Next == 0 && int(m.Len) > maxFrame {
			add(&q.c.txOversize, 1)
			continue
		}
		size, tooLong, werr := q.w.Write(pool, bufs[i])
		switch {
		case tooLong || werr == unix.EINVAL || werr == unix.EMSGSIZE:
			add(&q.c.txInvalid, 1)
		case werr == 0:
			sent++
			bytes += uint64(size)
		case werr == unix.EINTR:
			i--
		case werr == unix.EAGAIN || werr == unix.ENOBUFS:
			add(&q.c.txFull, uint64(len(bufs)-i))
			break loop
		default:
			add(&q.c.txErrors, 1)
			err = werr
		}
	}
	pool.FreeN(bufs)
	add(&q.c.txPackets, uint64(sent))
	add(&q.c.txBytes, bytes)
	return sent, err
}

// Close releases the queue.
func (q *txQueue) Close() error {
	if q.closed {
		return errQueueClosed
	}
	q.closed = true
	q.p.unclaim(q.p.txOpen, q.q)
	return nil
}

// add counts for the one goroutine that owns the queue: readers never see
// a torn value, and a store needs no read-modify-write.
func add(c *atomic.Uint64, n uint64) {
	if n != 0 {
		c.Store(c.Load() + n)
	}
}

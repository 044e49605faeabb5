package afxdp

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/internal/fastpath"
	"github.com/vecswitch/vecswitch/ports/internal/xsk"
)

// Config describes an AF_XDP port.
type Config struct {
	// Name is the port's name in the switch (default: Ifname).
	Name string
	// Ifname is the device to attach to.
	Ifname string
	// Queues is how many of the device's queues the port uses, from 0
	// (default: all of its rx queues).
	Queues int
	// Attach is "auto" (native XDP where the driver has it, else generic;
	// the default), "native" or "generic".
	Attach string
	// Copy is "auto" (zero-copy where the driver supports it, else copy
	// mode; the default), "copy" or "zerocopy".
	Copy string
	// RingSize is the size of each socket ring, a power of two (default
	// 4096). An idle socket's fill ring holds FillFloor buffers; a busy
	// one's grows up to RingSize as its share of the worker's pool allows
	// (see "Sharing the pool" in the package doc): at 0.4 Mpps 4096 rides
	// out a 10 ms stall of the worker without losing a frame.
	RingSize int
	// BatchSize is the most frames one Rx returns (default VectorSize).
	BatchSize int
	// FastPath, if not nil, attaches the XDP fast-path program (which
	// switches known unicast in the kernel and hands everything else to
	// the port's sockets) in place of the plain one. If the program cannot
	// be attached, or the device is a veth whose peer would drop or
	// corrupt redirected frames, the port runs with the plain program and
	// FastPathIfindex says why.
	FastPath *FastPath
	// Logger gets the port's control events (the device going away); nil
	// is slog.Default(). Never called per packet.
	Logger *slog.Logger
}

// Limits.
const (
	// MaxRxFrame is the longest frame an AF_XDP socket receives here: a
	// chunk less the kernel's XDP headroom.
	MaxRxFrame = pipeline.FrameSize - 256
	// MaxMTU is the largest device MTU the port accepts (MaxRxFrame less an
	// Ethernet header and a VLAN tag).
	MaxMTU = MaxRxFrame - 14 - 4
)

// Errors.
var (
	ErrDown = errors.New("afxdp: device is gone")
)

// Port is an AF_XDP port on one device.
type Port struct {
	cfg      Config
	ifindex  int
	mtu      int
	queues   int
	copyMode xsk.CopyMode
	prog     fastpath.Steering
	fpMu     sync.Mutex
	fpErr    error              // why the port is not in the fast path (FastPath set)
	peer     fastpath.PeerState // the device's veth peer, as last checked

	mu     sync.Mutex
	socks  map[int]*sock // by device queue
	closed bool
	// devQueues is the device's queue count when the program was
	// attached (its XSKMAP's size).
	devQueues int
	// inherit are the sockets an adopted port has not opened yet (by
	// queue); released says the port was handed over (Release).
	inherit  map[int]*inherited
	released atomic.Bool

	down atomic.Bool
	ctr  counters
}

var _ ports.Port = (*Port)(nil)

// New loads and attaches the XDP program to the device. Sockets are opened
// with the queues.
func New(cfg Config) (*Port, error) {
	if cfg.Ifname == "" {
		return nil, errors.New("afxdp: no device name")
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Ifname
	}
	if cfg.RingSize == 0 {
		cfg.RingSize = 4096
	}
	if cfg.RingSize < 64 || cfg.RingSize > 1<<16 || cfg.RingSize&(cfg.RingSize-1) != 0 {
		return nil, fmt.Errorf("afxdp %s: ring size %d: want a power of two from 64 to 65536", cfg.Name, cfg.RingSize)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = pipeline.VectorSize
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > pipeline.VectorSize {
		return nil, fmt.Errorf("afxdp %s: batch size %d: want 1 to %d", cfg.Name, cfg.BatchSize, pipeline.VectorSize)
	}
	var attach xsk.AttachMode
	switch cfg.Attach {
	case "", "auto":
	case "native":
		attach = xsk.AttachNative
	case "generic":
		attach = xsk.AttachGeneric
	default:
		return nil, fmt.Errorf("afxdp %s: attach mode %q: want auto, native or generic", cfg.Name, cfg.Attach)
	}
	p := &Port{cfg: cfg, socks: map[int]*sock{}}
	switch cfg.Copy {
	case "", "auto":
	case "copy":
		p.copyMode = xsk.Copy
	case "zerocopy":
		p.copyMode = xsk.ZeroCopy
	default:
		return nil, fmt.Errorf("afxdp %s: copy mode %q: want auto, copy or zerocopy", cfg.Name, cfg.Copy)
	}
	var err error
	if p.ifindex, p.mtu, err = deviceInfo(cfg.Ifname); err != nil {
		return nil, fmt.Errorf("afxdp %s: %w", cfg.Name, err)
	}
	if p.mtu > MaxMTU {
		return nil, fmt.Errorf("afxdp %s: device %s has MTU %d; AF_XDP frames here allow at most %d", cfg.Name, cfg.Ifname, p.mtu, MaxMTU)
	}
	nq, err := queueCount(cfg.Ifname)
	if err != nil {
		return nil, fmt.Errorf("afxdp %s: %w", cfg.Name, err)
	}
	p.queues, p.devQueues = cfg.Queues, nq
	if p.queues == 0 {
		p.queues = nq
	}
	if p.queues < 1 || p.queues > nq {
		return nil, fmt.Errorf("afxdp %s: %d queues asked, device %s has %d", cfg.Name, p.queues, cfg.Ifname, nq)
	}
	if cfg.FastPath != nil {
		p.prog = p.attachFastPath(nq, attach)
		if p.fpErr != nil {
			cfg.Logger.Warn("port not in the XDP fast path: its traffic all goes through the pipeline", "port", cfg.Name, "reason", p.fpErr)
		}
	}
	if p.prog == nil {
		if p.prog, err = xsk.NewProgram(p.ifindex, nq, attach); err != nil {
			return nil, fmt.Errorf("afxdp %s: %w", cfg.Name, err)
		}
	}
	return p, nil
}

// Name implements ports.Port.
func (p *Port) Name() string { return p.cfg.Name }

// Info implements ports.Port.
func (p *Port) Info() ports.Info {
	return ports.Info{RxQueues: p.queues, TxQueues: p.queues, BatchSize: p.cfg.BatchSize,
		MaxFrame: min(p.mtu+14+4, pipeline.MaxPacket)}
}

// NativeXDP reports whether the XDP program runs in the driver.
func (p *Port) NativeXDP() bool { return p.prog.Native() }

// Down reports whether the device was found gone.
func (p *Port) Down() bool { return p.down.Load() }

// Stats returns the port's counters.
func (p *Port) Stats() Stats {
	st := Stats{TxRingFull: p.ctr.txRingFull.Load(), FillEmpty: p.ctr.fillEmpty.Load(),
		KickErrors: p.ctr.kickErrors.Load(), Down: p.down.Load()}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.socks {
		qs := s.stats()
		k, err := s.sk.Stats()
		if err == nil {
			st.RxDropped += k.Rx_dropped
			st.RxInvalidDescs += k.Rx_invalid_descs
			st.TxInvalidDescs += k.Tx_invalid_descs
			st.RxRingFull += k.Rx_ring_full
			st.RxFillEmpty += k.Rx_fill_ring_empty_descs
			st.TxRingEmpty += k.Tx_ring_empty_descs
			qs.RxFillEmpty = k.Rx_fill_ring_empty_descs
		}
		st.Queues = append(st.Queues, qs)
	}
	slices.SortFunc(st.Queues, func(a, b QueueStats) int { return a.Queue - b.Queue })
	return st
}

// StarvedWindow is how long after its last starvation a port counts as
// degraded (Degraded).
const StarvedWindow = 10 * time.Second

// Degraded says why the port does not receive as it should, or "" if it
// does: an rx queue that starved (its fill ring below its floor with the
// worker's pool empty) within StarvedWindow. The control plane shows it
// beside the port's state.
func (p *Port) Degraded() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var why []string
	for _, s := range p.socks {
		last := s.lastStarved.Load()
		if last == 0 || time.Since(time.Unix(0, last)) > StarvedWindow {
			continue
		}
		b := s.fill.b
		why = append(why, fmt.Sprintf("rx queue %d starved %d times, last %s ago (its worker's pool of %d frames had no free buffer; %d sockets share it)",
			s.q, s.starved.Load(), time.Since(time.Unix(0, last)).Round(time.Second), b.frames, b.sockets.Load()))
	}
	slices.Sort(why)
	return strings.Join(why, "; ")
}

// OpenRx implements ports.Port.
func (p *Port) OpenRx(q int, pool *pipeline.Pool) (pipeline.RxQueue, error) {
	s, err := p.use(q, pool, true)
	if err != nil {
		return nil, err
	}
	return &rxQueue{s: s}, nil
}

// OpenTx implements ports.Port.
func (p *Port) OpenTx(q int, pool *pipeline.Pool) (pipeline.TxQueue, error) {
	s, err := p.use(q, pool, false)
	if err != nil {
		return nil, err
	}
	return &txQueue{s: s}, nil
}

// Close detaches the XDP program. Every queue must be closed first.
func (p *Port) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ports.ErrClosed
	}
	if len(p.socks) > 0 {
		return fmt.Errorf("afxdp %s: %d queues still open", p.cfg.Name, len(p.socks))
	}
	p.closed = true
	var errs []error
	for q, in := range p.inherit {
		// Never opened here: nobody polls the queue any more. Its frames
		// stay lost to their pool (the switch opens every queue the old
		// process had unless its configuration changed).
		if !p.released.Load() {
			errs = append(errs, p.prog.Unregister(q))
		}
		errs = append(errs, in.sk.Close())
	}
	p.inherit = nil
	return errors.Join(append(errs, p.prog.Close())...)
}

package afxdp

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/internal/xsk"
)

// sock is one device queue's socket, shared by its rx and tx queue objects
// (which run on the same worker).
type sock struct {
	p      *Port
	q      int
	pool   *pipeline.Pool
	sk     *xsk.Socket
	share  *umemShare
	owned  owned
	rx, tx bool // which sides are open
	// adopted: taken over from another process and not restored yet
	// (Port.Restore).
	adopted bool
	// fill is the socket's part of the pool's budget (worker only).
	fill fillAcct
	// Starvation, written by the worker, read by Stats: how many refills
	// found the fill ring below its floor and no free frame in the pool,
	// and when the last one was (unix ns). target mirrors fill.target.
	starved     atomic.Uint64
	lastStarved atomic.Int64
	target      atomic.Int32
	// scratch, reused every call
	ids   [pipeline.VectorSize]pipeline.BufID
	addrs [pipeline.VectorSize]uint64
	descs [pipeline.VectorSize]unix.XDPDesc
}

// umemShare lists the live sockets on one pool; a new socket shares the
// UMEM of any of them, or registers the pool's arena if there is none.
type umemShare struct {
	mu     sync.Mutex
	socks  []*xsk.Socket // guarded by mu
	budget *budget
}

type umemKey struct{}

// copyModeNotice logs once why AF_XDP sockets run in copy mode.
var copyModeNotice sync.Once

// use opens (or joins) the socket of queue q for one side.
func (p *Port) use(q int, pool *pipeline.Pool, rx bool) (*sock, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ports.ErrClosed
	}
	side := map[bool]string{true: "rx", false: "tx"}[rx]
	if q < 0 || q >= p.queues {
		return nil, fmt.Errorf("afxdp %s: %s queue %d of %d: %w", p.cfg.Name, side, q, p.queues, ports.ErrNoQueue)
	}
	s := p.socks[q]
	if s == nil && p.inherit[q] != nil {
		var err error
		if s, err = p.adoptSock(q, pool); err != nil {
			return nil, err
		}
		p.socks[q] = s
	}
	if s == nil {
		var err error
		if s, err = p.openSock(q, pool); err != nil {
			return nil, err
		}
		p.socks[q] = s
	}
	if s.pool != pool {
		return nil, fmt.Errorf("afxdp %s: queue %d is open on another worker's pool (rx and tx of a queue must share one)", p.cfg.Name, q)
	}
	if (rx && s.rx) || (!rx && s.tx) {
		return nil, fmt.Errorf("afxdp %s: %s queue %d: %w", p.cfg.Name, side, q, ports.ErrQueueInUse)
	}
	if rx {
		s.rx = true
	} else {
		s.tx = true
	}
	return s, nil
}

func (p *Port) openSock(q int, pool *pipeline.Pool) (*sock, error) {
	share := pool.DriverState(umemKey{}, func() any { return &umemShare{budget: newBudget(pool.Size())} }).(*umemShare)
	share.mu.Lock()
	defer share.mu.Unlock()
	mode := p.copyMode
	if !pool.ChunksContiguous() {
		// Zero-copy drivers drop fill addresses whose frame crosses into
		// a non-contiguous page: on a shared pool of 4 KiB pages, about
		// half of them.
		switch mode {
		case xsk.ZeroCopy:
			return nil, fmt.Errorf("afxdp %s: queue %d: copy=zerocopy needs frames in contiguous memory, and the worker pools are shared memory on 4 KiB pages (this host gives shared memory no huge pages): run vswitchd --shared-pools=false for zero-copy (AF_XDP takeovers are then refused)", p.cfg.Name, q)
		case xsk.Auto:
			mode = xsk.Copy
			copyModeNotice.Do(func() {
				p.cfg.Logger.Info("AF_XDP ports run in copy mode: the worker pools are shared memory on 4 KiB pages (vswitchd --shared-pools, for takeovers), which zero-copy drivers cannot use; --shared-pools=false gives zero-copy back where the driver has it")
			})
		}
	}
	if err := share.budget.admit(p.cfg.Name, q); err != nil {
		return nil, err
	}
	cfg := xsk.Config{Ifindex: p.ifindex, Queue: q, RingSize: uint32(p.cfg.RingSize), Mode: mode,
		Mem: pool.Memory(), FrameSize: pipeline.FrameSize, TxBudget: pipeline.VectorSize}
	if len(share.socks) > 0 {
		cfg.Share = share.socks[0]
	}
	s := &sock{p: p, q: q, pool: pool, share: share, owned: newOwned(pool.Size()),
		fill: newFillAcct(share.budget, p.cfg.RingSize)}
	sk, err := xsk.Open(cfg)
	if err != nil {
		share.budget.leave(&s.fill)
		return nil, fmt.Errorf("afxdp %s: queue %d: %w", p.cfg.Name, q, err)
	}
	if err := p.prog.Register(q, sk); err != nil {
		sk.Close()
		share.budget.leave(&s.fill)
		return nil, fmt.Errorf("afxdp %s: %w", p.cfg.Name, err)
	}
	share.socks = append(share.socks, sk)
	s.sk = sk
	s.target.Store(int32(s.fill.target))
	return s, nil
}

// stats are the socket's fill state (control plane; reads only what the
// worker publishes).
func (s *sock) stats() QueueStats {
	b := s.fill.b
	qs := QueueStats{Queue: s.q, FillTarget: int(s.target.Load()), FillStarved: s.starved.Load(),
		Pool: PoolStats{Frames: b.frames, Sockets: int(b.sockets.Load()), Capacity: b.capacity(),
			Elastic: b.elastic, ElasticUsed: b.elasticUsed.Load(), Tx: b.tx, TxUsed: b.txUsed.Load()}}
	if t := s.lastStarved.Load(); t != 0 {
		qs.LastStarved = time.Unix(0, t)
	}
	return qs
}

// release closes one side; the socket closes with its last side. The worker
// no longer polls the queue (the switch quiesced it), so the frames the
// kernel still holds go back to the pool through GiveBack.
func (s *sock) release(rx bool) error {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if rx {
		s.rx = false
	} else {
		s.tx = false
	}
	if s.rx || s.tx {
		return nil
	}
	delete(p.socks, s.q)
	var errs []error
	if !p.released.Load() {
		errs = append(errs, p.prog.Unregister(s.q))
	}
	errs = append(errs, s.sk.Close())
	s.share.mu.Lock()
	for i, o := range s.share.socks {
		if o == s.sk {
			s.share.socks = append(s.share.socks[:i], s.share.socks[i+1:]...)
			break
		}
	}
	s.share.budget.leave(&s.fill)
	s.share.mu.Unlock()
	if !p.released.Load() {
		// Handed over, the frames are the adopter's.
		s.pool.GiveBack(s.owned.all())
	}
	return errors.Join(errs...)
}

// gone counts a failed kick or wake-up and marks the port down when the
// error means the device left. The port logs that once.
func (s *sock) gone(e unix.Errno) {
	s.p.ctr.kickErrors.Add(1)
	switch e {
	case unix.ENXIO, unix.ENODEV, unix.ENETDOWN, unix.EBADF:
		if !s.p.down.Swap(true) {
			s.p.cfg.Logger.Warn("afxdp port down: device gone", "port", s.p.cfg.Name, "device", s.p.cfg.Ifname, "queue", s.q, "errno", e.Error())
		}
	}
}

// queueCount is the number of rx queues of a device (sysfs).
// deviceInfo returns a device's index and MTU with two ioctls.
// (net.InterfaceByName dumps every link of the host and its addresses:
// with hundreds of container veths that is most of a port's start.)
func deviceInfo(ifname string) (index, mtu int, err error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("device %s: %w", ifname, err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(ifname)
	if err != nil {
		return 0, 0, fmt.Errorf("device %q: %w", ifname, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, 0, fmt.Errorf("device %s: %w", ifname, err)
	}
	index = int(ifr.Uint32())
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFMTU, ifr); err != nil {
		return 0, 0, fmt.Errorf("device %s: MTU: %w", ifname, err)
	}
	return index, int(ifr.Uint32()), nil
}

func queueCount(ifname string) (int, error) {
	ents, err := os.ReadDir("/sys/class/net/" + ifname + "/queues")
	if err != nil {
		return 0, fmt.Errorf("queues of %s: %w", ifname, err)
	}
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "rx-") {
			n++
		}
	}
	if n == 0 {
		n = 1
	}
	return n, nil
}

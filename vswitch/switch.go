package vswitch

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
)

// Options configure a Switch. The zero value is one unpinned worker.
type Options struct {
	// Workers is the number of data-plane workers (default 1).
	Workers int
	// CPUs pins worker i to CPUs[i]; nil leaves workers unpinned.
	CPUs []int
	// PoolFrames is the number of buffers per worker (default 8192).
	PoolFrames int
	// SharedPools puts each worker's pool in a memfd
	// (pipeline.PoolConfig.Shared), so that a successor process can adopt
	// the pools with the AF_XDP ports whose UMEM they are (vswitchd
	// --takeover).
	SharedPools bool
	// Pools, if not nil, are the workers' pools (one per worker), for
	// example adopted from a predecessor; the switch closes them.
	Pools []*pipeline.Pool
	// Idle is what workers do when they find no packet.
	Idle pipeline.IdleMode
	// LearnRing is the size of each worker's learn-event ring, a power of
	// two (default 4096).
	LearnRing int
	// Clock tells the time for MAC and neighbor aging and for the ICMP
	// error rate limits (default time.Now).
	Clock func() time.Time
	// LearnInterval is how often the learner drains learn events while the
	// switch runs (default 1 ms).
	LearnInterval time.Duration
	// Neighbors is the most ARP/ND entries the switch keeps (default 65536).
	Neighbors int
	// NeighborAge is how long a learned neighbor lives without being
	// confirmed (default 300 s); in use, it is re-resolved from half that.
	NeighborAge time.Duration
	// FastPath is a kernel fast path (ports/afxdp.FastPath) that the
	// switch programs with what it learns, for the ports that are its
	// members (fastpath.go). Nil: the pipeline alone. The caller closes
	// it after the switch.
	FastPath ports.FastPath
	// FastPathRecheck is how often members whose readiness can change
	// (ports.FastPathRechecker: veths whose peer settings a container
	// runtime may change) are checked again (default 5 s).
	FastPathRecheck time.Duration
	// ConntrackCapacity is the most flows the connection tracker of the
	// security groups holds (default DefaultConntrackCapacity). The
	// tracker is made when a group first has a port.
	ConntrackCapacity int
}

// Switch is an L2 switch: bridges of ports with MAC learning and VLANs,
// running on a pipeline graph per worker.
//
// Lock order: Switch.mu, then learner.mu. Neither is ever taken by a worker.
type Switch struct {
	opts  Options
	start time.Time

	mu       sync.Mutex // guards everything down to the atomics
	cfg      Config
	attached map[string]*attachment
	portIdx  *idAlloc[string]
	portSig  map[string]string
	statics  map[uint64]uint16 // static entries in the table: key -> port index
	brIDs    *idAlloc[string]
	domIDs   *idAlloc[domKey]
	graph    *pipeline.Graph
	workers  []*pipeline.Worker
	pools    []*pipeline.Pool
	running  bool
	stopLrn  chan struct{}
	lrnDone  chan struct{}
	closed   bool
	nextGen  uint64

	l3      *l3State
	l3cfg   *l3Config
	rifMACs []rifMAC
	nbr     *neighbors
	obs     *pipeline.Observer // traces and captures; nil until first used
	// tunnelPorts are the port indices of remote VTEPs' pseudo-ports.
	tunnelPorts map[string]uint16
	// Overlay state from a control plane (overlay.go).
	ovRemotes map[uint32][]netip.Addr
	ovMACs    map[overlayKey]netip.Addr

	fpath       *fastPath
	tracePort   int // port index a trace runs on, -1 none
	capturePort int // port index a capture runs on, -1 none
	// retired is, by port index, the last port detached from it.
	retired map[uint16]retiredPort

	tables  atomic.Pointer[tables]
	portSeq []atomic.Uint32 // flush sequence per port index
	now     atomic.Uint32   // seconds since start, for MAC timestamps
	lrn     *learner
	wake    *waker // workers wake the parked learner loop

	// Security groups (sg.go): the published policy, the signature of
	// what it was compiled from, the connection tracker, and the
	// learner loop's position in its expiry sweep.
	sg     atomic.Pointer[sgTables]
	sgSig  string
	ct     atomic.Pointer[ctState]
	ctNext uint32

	// NAT (nat.go): the published state (nil: off, routed packets skip
	// the nat node), the state kept while NAT is off (its table and
	// counters), and the expiry sweep's position.
	nat     atomic.Pointer[natState]
	natObj  *natState
	natNext uint32

	// DNS punt path (dnspunt.go) and DNS over TCP (dnstcp.go).
	dns    *dnsPunt
	dnsTCP *dnsTCP
}

type attachment struct {
	port      ports.Port
	fpIfindex int    // in the fast path by this ifindex; 0: not a member
	fpReason  string // why not, when the switch has a fast path
	idx       uint16
	maxFrame  uint16
	offload   bool // ports.Info.Offload
	rx        []rxBinding
	tx        []pipeline.TxQueue // per worker
	// base is what the workers had counted for the port index when the
	// port was attached (an earlier port's frames, under a reused index):
	// the port's counters are the workers' minus base.
	base pipeline.PortCounters
}

// retiredPort is the last port a detached index had: a port of the same
// name attached again at that index (set-port mtu=, its interface back)
// keeps counting from where it was, any other starts from zero.
type retiredPort struct {
	name string
	base pipeline.PortCounters
}

type rxBinding struct {
	worker int
	q      pipeline.RxQueue
}

// Errors returned by port management.
var (
	ErrPortExists  = errors.New("port already attached")
	ErrNoPort      = errors.New("no such port")
	ErrClosed      = errors.New("switch closed")
	ErrTooFewQueue = errors.New("port has fewer tx queues than the switch has workers")
)

// New builds a switch with its workers (not started) and an empty
// configuration.
func New(opts Options) (*Switch, error) {
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	if opts.Workers < 0 || opts.Workers > 256 {
		return nil, fmt.Errorf("vswitch: %d workers: want 1..256", opts.Workers)
	}
	if opts.CPUs != nil && len(opts.CPUs) != opts.Workers {
		return nil, fmt.Errorf("vswitch: %d CPUs listed for %d workers", len(opts.CPUs), opts.Workers)
	}
	if opts.LearnRing == 0 {
		opts.LearnRing = 4096
	}
	if opts.LearnRing&(opts.LearnRing-1) != 0 || opts.LearnRing < 0 {
		return nil, fmt.Errorf("vswitch: learn ring size %d is not a power of two", opts.LearnRing)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.LearnInterval == 0 {
		opts.LearnInterval = time.Millisecond
	}
	if opts.FastPathRecheck <= 0 {
		opts.FastPathRecheck = 5 * time.Second
	}
	if opts.ConntrackCapacity == 0 {
		opts.ConntrackCapacity = DefaultConntrackCapacity
	}
	s := &Switch{
		opts: opts, start: opts.Clock(),
		attached:    map[string]*attachment{},
		portIdx:     newIDAlloc[string](pipeline.MaxPorts - 2), // MaxPorts-1 is routerPort
		portSig:     map[string]string{},
		statics:     map[uint64]uint16{},
		tunnelPorts: map[string]uint16{},
		ovRemotes:   map[uint32][]netip.Addr{},
		ovMACs:      map[overlayKey]netip.Addr{},
		brIDs:       newIDAlloc[string](0xFFFE),
		domIDs:      newIDAlloc[domKey](maxDomains),
		portSeq:     make([]atomic.Uint32, pipeline.MaxPorts),
		retired:     map[uint16]retiredPort{},
	}
	s.fpath = newFastPath(opts.FastPath)
	s.tracePort, s.capturePort = -1, -1
	s.lrn = newLearner(s, opts.Workers, opts.LearnRing)
	s.wake = newWaker()
	for _, r := range s.lrn.rings {
		r.wake = s.wake
	}
	s.l3 = newL3State()
	s.nbr = newNeighbors(s, opts.Workers, opts.LearnRing, opts.Neighbors)
	for _, r := range s.nbr.rings {
		r.wake = s.wake
	}
	s.dns = newDNSPunt(opts.Workers)
	s.dnsTCP = newDNSTCP()
	t, c, err := s.compile(&Config{}, nil, nil)
	if err != nil {
		return nil, err
	}
	if err := s.l3.install(t, c.l3); err != nil {
		return nil, err
	}
	s.tables.Store(t)
	if s.graph, err = pipeline.NewGraph(s.nodeSpecs()...); err != nil {
		return nil, err
	}
	if opts.Pools != nil && len(opts.Pools) != opts.Workers {
		return nil, fmt.Errorf("vswitch: %d pools given for %d workers", len(opts.Pools), opts.Workers)
	}
	for i := range opts.Workers {
		var pool *pipeline.Pool
		var err error
		if opts.Pools != nil {
			pool = opts.Pools[i]
		} else if pool, err = pipeline.NewPool(pipeline.PoolConfig{Frames: opts.PoolFrames, Shared: opts.SharedPools}); err != nil {
			s.closePools()
			return nil, err
		}
		s.pools = append(s.pools, pool)
		cpu := -1
		if opts.CPUs != nil {
			cpu = opts.CPUs[i]
		}
		w, err := s.graph.NewWorker(pipeline.WorkerConfig{ID: i, Pool: pool, CPU: cpu, Idle: opts.Idle})
		if err != nil {
			s.closePools()
			return nil, err
		}
		s.workers = append(s.workers, w)
	}
	return s, nil
}

func (s *Switch) closePools() {
	for _, p := range s.pools {
		p.Close()
	}
	s.pools = nil
}

// Graph is the switch's node graph.
func (s *Switch) Graph() *pipeline.Graph { return s.graph }

// Workers are the switch's data-plane workers.
func (s *Switch) Workers() []*pipeline.Worker { return s.workers }

// Config returns the applied configuration, defaults filled in.
func (s *Switch) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// Start runs the workers and the learner.
func (s *Switch) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.running {
		return errors.New("vswitch: already running")
	}
	for i, w := range s.workers {
		if err := w.Start(); err != nil {
			for _, v := range s.workers[:i] {
				v.Stop()
			}
			return err
		}
	}
	s.running = true
	s.stopLrn, s.lrnDone = make(chan struct{}), make(chan struct{})
	go s.learnLoop(s.stopLrn, s.lrnDone)
	return nil
}

// Stop stops the workers and the learner; Start may run them again.
func (s *Switch) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Switch) stopLocked() {
	if !s.running {
		return
	}
	for _, w := range s.workers {
		w.Stop()
	}
	close(s.stopLrn)
	<-s.lrnDone
	s.running = false
}

func (s *Switch) learnLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	// The learner drains every LearnInterval while there are events, and
	// backs off to 64 times that when there are none, so an idle switch
	// wakes rarely. While backed off it is parked: the first worker to
	// publish an event wakes it (waker), so a new MAC is learned — and,
	// with the fast path, switched in the kernel — within a wakeup of its
	// first frame, not up to 64 ms later (64,000 frames of a 1 Mpps flow,
	// twice what the pipeline carries).
	timer := time.NewTimer(s.opts.LearnInterval)
	defer timer.Stop()
	interval := s.opts.LearnInterval
	lastAge, lastRecheck := time.Now(), time.Now()
	for {
		parked := interval > s.opts.LearnInterval && s.parkLearner()
		select {
		case <-stop:
			return
		case <-timer.C:
		case <-s.wake.ch:
			interval = s.opts.LearnInterval
		}
		if parked {
			s.wake.parked.Store(false)
		}
		s.lrn.mu.Lock()
		events := s.lrn.drain()
		s.lrn.mu.Unlock()
		events += s.nbr.drain()
		events += s.drainPunts()
		s.dnsTCP.tick(s, time.Now())
		if events > 0 {
			interval = s.opts.LearnInterval
		} else {
			interval = min(2*interval, 64*s.opts.LearnInterval)
		}
		timer.Reset(interval)
		if time.Since(lastAge) >= time.Second {
			lastAge = time.Now()
			s.lrn.mu.Lock()
			s.tick()
			s.lrn.ageStep(s.now.Load())
			s.lrn.mu.Unlock()
			s.endedTrace()
			s.nbr.ageStep(s.now.Load())
			s.expireFlows()
			s.expireNATFlows()
			if time.Since(lastRecheck) >= s.opts.FastPathRecheck {
				lastRecheck = time.Now()
				s.recheckFastPath()
			}
		}
	}
}

// parkLearner marks the learner parked, so that workers wake it, unless
// events arrived meanwhile (then it should not sleep at all, and the
// caller's next timer tick is early anyway). It reports whether it parked.
func (s *Switch) parkLearner() bool {
	s.wake.parked.Store(true)
	for _, r := range s.lrn.rings {
		if r.pending() {
			s.wake.parked.Store(false)
			return false
		}
	}
	for _, r := range s.nbr.rings {
		if r.pending() {
			s.wake.parked.Store(false)
			return false
		}
	}
	for _, r := range s.dns.punt {
		if r.tail.Load() != r.head.Load() {
			s.wake.parked.Store(false)
			return false
		}
	}
	return true
}

// endedTrace gives the fast path back to a port whose trace has seen all
// its packets. It only tries the switch's lock (Stop holds it while
// waiting for the learner loop).
func (s *Switch) endedTrace() {
	if !s.mu.TryLock() {
		return
	}
	defer s.mu.Unlock()
	if s.tracePort >= 0 && s.obs != nil && !s.obs.Tracing() {
		s.tracePort = -1
		s.syncFastPathLocked()
	}
}

// tick updates the coarse clock the data plane stamps MAC entries with.
func (s *Switch) tick() {
	s.now.Store(uint32(s.opts.Clock().Sub(s.start) / time.Second))
}

// Close stops the switch, detaches and closes every port and unmaps the
// buffer pools.
func (s *Switch) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.stopLocked()
	var errs []error
	for name := range s.attached {
		if err := s.detachLocked(name); err != nil {
			errs = append(errs, err)
		}
	}
	s.closed = true
	for _, w := range s.workers {
		w.Close()
	}
	s.closePools()
	s.l3.close()
	return errors.Join(errs...)
}

// Poll runs one iteration of every worker on the calling goroutine, then
// processes learn events. It is for tests and benchmarks that drive the
// switch without Start; it must not be called while the switch runs.
func (s *Switch) Poll() int {
	n := 0
	for _, w := range s.workers {
		n += w.Poll()
		w.PublishStats()
	}
	s.SyncLearning()
	return n
}

// SyncLearning processes every pending learn event now.
func (s *Switch) SyncLearning() {
	s.lrn.mu.Lock()
	s.lrn.drain()
	s.lrn.mu.Unlock()
	s.nbr.drain()
	s.drainPunts()
}

// Age reads the clock and sweeps the whole MAC table now, removing entries
// older than their bridge's age and entries of flushed ports.
func (s *Switch) Age() {
	s.lrn.mu.Lock()
	defer s.lrn.mu.Unlock()
	s.lrn.drain()
	s.tick()
	s.lrn.sweep(0, len(s.lrn.macs.Load().b), s.now.Load())
}

// Pools are the workers' buffer pools, by worker. Their free lists are
// the workers' own: read them (pipeline.Pool.FreeIDs) only with the
// switch stopped.
func (s *Switch) Pools() []*pipeline.Pool { return s.pools }

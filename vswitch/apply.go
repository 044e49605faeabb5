package vswitch

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
)

// Reconfigure validates cfg, compiles it and publishes it to the running
// workers without stopping them. Ports whose bridge or VLANs change lose
// their learned MACs (frames to them are flooded until relearned); removed
// bridges and VLANs lose theirs.
func (s *Switch) Reconfigure(cfg Config) error {
	n, l3, err := cfg.normalize()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.applyLocked(n, l3, nil)
}

// AddPort attaches a port driver. The switch owns it from now on and closes
// it when it is removed. It starts forwarding once the configuration puts a
// port of that name in a bridge.
func (s *Switch) AddPort(p ports.Port) error { return s.AddPortWith(p, AttachOptions{}) }

// AttachOptions say how a port's queues are spread over workers.
type AttachOptions struct {
	// RxAffinity pins rx queue -> worker (OVS's pmd-rxq-affinity). Queues
	// not listed are spread round-robin. Each worker must end up with at
	// least one of the port's rx queues, because a worker transmits on a
	// queue it also receives on (AF_XDP binds both directions of a queue
	// to one socket).
	RxAffinity map[int]int
	// Deferred leaves publishing to the caller's next Reconfigure (which
	// must follow: a command that attaches a port and then commits the
	// configuration naming it compiles and publishes once, not twice).
	// Until then the port's queues are not polled.
	Deferred bool
}

// AddPortWith is AddPort with queue placement. Without affinity, rx queue
// q goes to worker (q + port index) mod workers: every worker gets the same
// share of each port's queues, and the rotation by port index spreads the
// remainder when a port has more queues than there are workers. Worker w
// transmits on the first queue it receives on.
func (s *Switch) AddPortWith(p ports.Port, o AttachOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	name := p.Name()
	if err := checkName(name); err != nil {
		return fmt.Errorf("vswitch: add port: %w", err)
	}
	if _, ok := s.attached[name]; ok {
		return fmt.Errorf("vswitch: add port %s: %w", name, ErrPortExists)
	}
	info := p.Info()
	if info.TxQueues < len(s.workers) {
		return fmt.Errorf("vswitch: add port %s: %d tx queues for %d workers: %w", name, info.TxQueues, len(s.workers), ErrTooFewQueue)
	}
	if info.RxQueues < 1 {
		return fmt.Errorf("vswitch: add port %s: no rx queue", name)
	}
	idx, err := s.portIdx.get(name)
	if err != nil {
		return fmt.Errorf("vswitch: add port %s: %w", name, err)
	}
	a := &attachment{port: p, idx: idx, maxFrame: uint16(info.MaxFrame), offload: info.Offload, base: s.indexBase(idx, name)}
	if s.fpath.fp != nil {
		a.fpReason = "the port's driver has no fast path: AF_XDP ports have one (type=veth io=afxdp, afxdp, sriov)"
		if m, ok := p.(ports.FastPathMember); ok {
			ix, err := m.FastPathIfindex()
			if err != nil {
				a.fpReason = err.Error()
			} else {
				a.fpIfindex, a.fpReason = ix, ""
			}
		}
	}
	if info.MaxFrame <= 0 || info.MaxFrame > pipeline.MaxPacket+vlanTagLen {
		a.maxFrame = pipeline.MaxPacket
	}
	if err := s.openQueues(a, info, o.RxAffinity); err != nil {
		s.closeQueues(a)
		s.portIdx.release(name)
		return fmt.Errorf("vswitch: add port %s: %w", name, err)
	}
	s.attached[name] = a
	// A new port index starts with a fresh flush sequence, so no entry of
	// an earlier port with this index is valid for it, and fresh counters.
	s.portSeq[idx].Add(1)
	s.lrn.mu.Lock()
	s.lrn.portLimitHit[idx] = 0
	s.lrn.stale = true // the entries of an earlier port with this index
	s.lrn.mu.Unlock()
	if o.Deferred {
		return nil
	}
	return s.applyLocked(s.cfg, s.l3cfg, nil)
}

// indexBase is where the counters of port name, attached at index idx,
// start: what the workers have counted for idx so far (an earlier port's
// frames), or, if name itself was the last port at idx, the base it had
// (its counters go on). Caller holds s.mu.
func (s *Switch) indexBase(idx uint16, name string) pipeline.PortCounters {
	if r, ok := s.retired[idx]; ok && r.name == name {
		return r.base
	}
	var c pipeline.PortCounters
	for _, w := range s.workers {
		if !w.Running() {
			w.PublishStats() // a stopped worker's last counts (publishStopped)
		}
		c = c.Add(w.PortCounters(idx))
	}
	return c
}

// RemovePort detaches a port: it stops being polled, its learned MACs are
// flushed, in-flight packets to it are dropped, and it is closed. Its
// configuration stays.
func (s *Switch) RemovePort(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.detachLocked(name)
}

func (s *Switch) detachLocked(name string) error {
	a, ok := s.attached[name]
	if !ok {
		return fmt.Errorf("vswitch: remove port %s: %w", name, ErrNoPort)
	}
	delete(s.attached, name)
	s.retired[a.idx] = retiredPort{name: name, base: a.base}
	s.endObservationLocked(name, a)
	err := s.applyLocked(s.cfg, s.l3cfg, a)
	return errors.Join(err, s.closeQueues(a), a.port.Close())
}

// ErrAffinity is wrapped by bad rx queue placements.
var ErrAffinity = errors.New("bad rx queue affinity")

func (s *Switch) openQueues(a *attachment, info ports.Info, affinity map[int]int) error {
	nw := len(s.workers)
	place := make([]int, info.RxQueues)
	txq := make([]int, nw)
	for w := range txq {
		txq[w] = -1
	}
	for q := range place {
		place[q] = (q + int(a.idx)) % nw
		if w, ok := affinity[q]; ok {
			if w < 0 || w >= nw {
				return fmt.Errorf("%w: queue %d to worker %d of %d", ErrAffinity, q, w, nw)
			}
			place[q] = w
		}
		if txq[place[q]] < 0 && q < info.TxQueues {
			txq[place[q]] = q
		}
	}
	for q := range affinity {
		if q < 0 || q >= info.RxQueues {
			return fmt.Errorf("%w: the port has no rx queue %d", ErrAffinity, q)
		}
	}
	for w, q := range txq {
		if q < 0 {
			return fmt.Errorf("%w: worker %d gets no rx queue of this port, so it has no queue to transmit on", ErrAffinity, w)
		}
	}
	for q, w := range place {
		rq, err := a.port.OpenRx(q, s.pools[w])
		if err != nil {
			return err
		}
		a.rx = append(a.rx, rxBinding{worker: w, q: rq})
	}
	for w, q := range txq {
		tq, err := a.port.OpenTx(q, s.pools[w])
		if err != nil {
			return err
		}
		a.tx = append(a.tx, tq)
	}
	return nil
}

func (s *Switch) closeQueues(a *attachment) error {
	var errs []error
	for _, r := range a.rx {
		errs = append(errs, r.q.Close())
	}
	for _, t := range a.tx {
		errs = append(errs, t.Close())
	}
	a.rx, a.tx = nil, nil
	return errors.Join(errs...)
}

// applyLocked publishes cfg with the current attachments, then, once every
// worker has moved on, flushes what changed. gone is a port just detached
// (nil if none); its index is freed at the end.
func (s *Switch) applyLocked(cfg Config, l3 *l3Config, gone *attachment) error {
	idx := make(map[string]attachedPort, len(s.attached))
	for n, a := range s.attached {
		idx[n] = attachedPort{idx: a.idx, maxFrame: a.maxFrame, offload: a.offload}
	}
	t, c, err := s.compile(&cfg, l3, idx)
	if err != nil {
		return err
	}
	sg, sgSig, err := s.compileSG(&cfg, idx)
	if err != nil {
		return err
	}
	var nc *natConfig
	if l3 != nil {
		nc = l3.nat
	}
	natSt, err := s.syncNAT(nc)
	if err != nil {
		return err
	}
	// Ports leaving the fast path, or changing how it classifies their
	// frames, leave it before the new tables are published (a port being
	// removed among them: no frame is redirected to it from here on).
	guards := compileGuards(&cfg, idx)
	fpWant := s.wantFastPath(t, &cfg, guards)
	s.lrn.mu.Lock()
	s.fpath.prune(fpWant)
	s.lrn.mu.Unlock()
	s.nextGen++
	t.gen = s.nextGen
	// The guards first: a worker that loads the new tables finds the
	// guards of their ports (one that loads the new guards with the old
	// tables applies them a vector early).
	s.lrn.guards.Store(guards)
	s.tables.Store(t)
	sgChanged := s.publishSG(sg, sgSig)
	s.nat.Store(natSt)
	s.publishPollLists(t)
	// Routes change in place after the adjacencies they use are published.
	routeErr := s.l3.install(t, c.l3)
	for _, w := range s.workers {
		w.Quiesce()
	}
	s.l3.finish(c.l3)
	if sgChanged {
		s.revalidateSG() // no worker classifies with the old policy now
	}

	// Flush ports whose membership changed or that went away.
	sig := portSignatures(&cfg)
	var flushed []uint16
	for name, a := range s.attached {
		if s.portSig[name] != sig[name] {
			flushed = append(flushed, a.idx)
		}
	}
	if gone != nil {
		flushed = append(flushed, gone.idx)
	}
	s.portSig = sig
	// Tunnel pseudo-ports that exist no more: their MACs go, their
	// indices are freed below.
	wantTun := map[string]bool{}
	for _, n := range c.tunnels {
		wantTun[n] = true
	}
	var goneTun []string
	for n, idx := range s.tunnelPorts {
		if !wantTun[n] {
			flushed = append(flushed, idx)
			goneTun = append(goneTun, n)
			delete(s.tunnelPorts, n)
		}
	}
	for _, n := range c.tunnels {
		s.tunnelPorts[n] = s.portIdx.ids[n]
	}

	l := s.lrn
	l.mu.Lock()
	l.drain() // events queued under the old tables are checked against t
	for _, p := range flushed {
		s.fpath.flushPort(p)
		if s.portSeq[p].Add(1)&0xFFFF == 0 {
			// The 16-bit sequence in entries wrapped: reclaim before an
			// old entry could look valid again.
			l.sweep(0, len(l.macs.Load().b), s.now.Load())
		}
		l.stale = true
	}
	if len(c.goneDom) > 0 {
		l.sweep(0, len(l.macs.Load().b), s.now.Load())
	}
	s.rifMACs = c.rifMACs
	s.syncStaticsLocked(&cfg, t)
	s.fpath.sync(fpWant, l)
	l.mu.Unlock()
	s.nbr.sync(t, l3)

	for _, k := range c.goneDom {
		s.domIDs.release(k)
	}
	for _, k := range c.goneBr {
		s.brIDs.release(k)
	}
	if gone != nil {
		s.portIdx.release(gone.port.Name())
	}
	for _, n := range goneTun {
		s.portIdx.release(n)
	}
	s.cfg, s.l3cfg = cfg, l3
	return routeErr
}

// publishPollLists gives each worker the rx queues of attached, configured
// ports it owns, and its tx queue of every attached port.
func (s *Switch) publishPollLists(t *tables) {
	entry, _ := s.graph.Index(nodeL2Input)
	lists := make([]*pipeline.PollList, len(s.workers))
	maxIdx := 0
	for _, a := range s.attached {
		maxIdx = max(maxIdx, int(a.idx))
	}
	for i := range lists {
		lists[i] = &pipeline.PollList{Tx: make([]pipeline.TxQueue, maxIdx+1)}
	}
	names := make([]string, 0, len(s.attached))
	for n := range s.attached {
		names = append(names, n)
	}
	slices.Sort(names) // a stable poll order
	for _, n := range names {
		a := s.attached[n]
		for w, q := range a.tx {
			lists[w].Tx[a.idx] = q
		}
		if !t.ports[a.idx].up {
			continue
		}
		for _, r := range a.rx {
			lists[r.worker].Rx = append(lists[r.worker].Rx, pipeline.RxEntry{Queue: r.q, Port: a.idx, Entry: entry})
		}
	}
	if t.dns {
		// Each worker polls its DNS inject ring (dnspunt.go).
		reply, _ := s.graph.Index(nodeDNSReply)
		for i := range lists {
			lists[i].Rx = append(lists[i].Rx, pipeline.RxEntry{Queue: &injectQueue{r: s.dns.inject[i], pool: s.pools[i]},
				Port: routerPort, Entry: reply})
		}
	}
	for i, w := range s.workers {
		w.SetPollList(lists[i])
	}
}

func portSignatures(cfg *Config) map[string]string {
	sig := map[string]string{}
	for _, b := range cfg.allBridges() {
		for _, p := range b.Ports {
			sig[p.Name] = fmt.Sprint(b.Name, p.Mode, p.VLAN, p.Trunks, p.boundMACs())
		}
	}
	return sig
}

// syncStaticsLocked makes the static entries in the MAC table match cfg:
// each configured static MAC whose port is attached, and each MAC bound to
// an attached port by port security (in every VLAN the port carries), is
// present with the port's current flush sequence; statics no longer
// configured are removed.
// Caller holds s.mu and the learner's mu.
func (s *Switch) syncStaticsLocked(cfg *Config, t *tables) {
	l := s.lrn
	want := map[uint64]uint16{}
	wantDom := map[uint64]uint16{}
	bound := map[uint64]bool{}
	for _, b := range cfg.Bridges {
		for _, p := range b.Ports {
			a, ok := s.attached[p.Name]
			if !ok {
				continue
			}
			for _, mac := range p.boundMACs() {
				for _, v := range append([]uint16{p.VLAN}, p.Trunks...) {
					dom := s.domIDs.ids[domKey{b.Name, v}]
					k := macKey(dom, mac)
					want[k], wantDom[k], bound[k] = a.idx, dom, true
				}
			}
		}
		for _, st := range b.StaticMACs {
			var idx uint16
			if st.VTEP != "" {
				a, _ := netip.ParseAddr(st.VTEP) // validated
				idx = s.tunnelPorts[tunnelName(b.Name, a.Unmap())]
			} else if a, ok := s.attached[st.Port]; ok {
				idx = a.idx
			}
			if idx == 0 {
				continue
			}
			mac, _ := parseMAC(st.MAC) // validated
			dom := s.domIDs.ids[domKey{b.Name, st.VLAN}]
			k := macKey(dom, mac)
			want[k] = idx
			wantDom[k] = dom
		}
	}
	s.overlayStatics(t, want, wantDom)
	for _, r := range s.rifMACs {
		k := macKey(r.dom, r.mac)
		want[k] = routerPort
		wantDom[k] = r.dom
	}
	for k := range s.statics {
		if _, ok := want[k]; !ok {
			if _, v, found := l.macs.Load().lookup(k); found && valStaticOf(v) {
				l.remove(k)
			}
			delete(s.statics, k)
		}
	}
	now := s.now.Load()
	for k, p := range want {
		dom := wantDom[k]
		val := packVal(p, uint16(s.portSeq[p].Load()), true, now)
		if bound[k] {
			val |= valBound
		}
		if _, v, found := l.macs.Load().lookup(k); found && v == val {
			continue
		}
		l.insert(dom, t.domains[dom].bridge, k, val)
		s.fpath.set(k, p)
		s.statics[k] = p
	}
}

// FlushFDB forgets the learned MACs of one bridge's ports ("" for every
// bridge): each port's flush sequence is bumped, so its entries are ignored
// at once and reclaimed by the ager. Static MACs stay.
func (s *Switch) FlushFDB(bridge string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	t := s.tables.Load()
	found := bridge == ""
	l := s.lrn
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range s.cfg.Bridges {
		if bridge != "" && b.Name != bridge {
			continue
		}
		found = true
		for _, p := range b.Ports {
			if a, ok := s.attached[p.Name]; ok {
				s.fpath.flushPort(a.idx)
				s.portSeq[a.idx].Add(1)
				l.stale = true
			}
		}
	}
	if !found {
		return fmt.Errorf("vswitch: flush: no bridge %q", bridge)
	}
	s.syncStaticsLocked(&s.cfg, t)
	return nil
}

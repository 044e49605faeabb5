package vswitch

import (
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
)

// The kernel fast path (Options.FastPath, ports.FastPath): the switch
// mirrors the part of its MAC table that the fast path can use into the
// kernel's tables, and keeps that mirror in step with every change of the
// table, so that the pipeline stays the only source of truth.
//
// Which ports: attached ports that are fast-path members
// (ports.FastPathMember, ready), up in a bridge, neither routed nor
// tunnels, with the fast path on for their bridge and themselves
// (Bridge.FastPath, Port.FastPath). A port whose traffic the pipeline
// must see is in the fast path with SlowPath set: all its traffic, both
// ways, goes through the pipeline — a port in a security group (the XDP
// program has no policy: sg-policy must see every packet from and to the
// port), from the Reconfigure that binds it to the one that unbinds it,
// and a port with a trace or capture running, while it runs (a trace that
// has taken its count gives the port back at once: watchTraceEnd). Routed
// traffic needs nothing: frames to a router MAC, which NAT and services
// see, are never offloaded (the router's MACs are on routerPort, no
// fast-path port), and routed ports are not members.
//
// A port with port security is in the fast path Secured, with the sources
// its guard allows: the kernel switches what it sends only when the
// pipeline's guards would pass it, and leaves the rest to them
// (fastpath_guard.go says how and in which order).
//
// Which entries: every valid MAC-table entry (learned or static) whose
// port is in the fast path and carries the entry's domain, with the VLAN
// tag the port sends that domain with (none on an access port or a
// trunk's native VLAN) — but on a port with port security only its bound
// MACs: an entry is also what lets a frame from its MAC on its port pass
// the program's source check, so a static entry (fdb/add) of another MAC
// on a secured port stays out, and that MAC's frames take the pipeline,
// whose l2-input drops them (src-mac-not-allowed).
//
// When (all under the learner's mutex, the MAC table's writer lock, so the
// mirror changes in the same order as the table):
//
//   - learn and move: SetEntry after the table's write (learner.learn); a
//     MAC that moves to a port outside the fast path loses its entry.
//   - age: an entry that looks idle in the table is kept, and its time
//     refreshed, if its source hit counter grew since the last pass — the
//     MAC talks through the fast path only, which the workers never see.
//     Otherwise DelEntry with the table's delete.
//   - flush (fdb/flush, a port leaving a bridge or changing VLANs) and
//     port removal: FlushPort or DelPort before the call returns — and
//     for a removed port before its queues and device are closed, so no
//     frame is ever redirected to a port that is gone.
//   - a port joining (or coming back after fast-path=off, or after a
//     trace): SetPort, then every valid table entry on it is replayed.
//   - the sources of a secured port changing (its addresses,
//     allowed_ips=): SetPort in place, before the new guards are
//     published (prune).
//
// Counters: the kernel's counters of a port or an entry live in a slot
// that is freed when the port leaves the kernel (a reclassification:
// VLANs, mode, port security, fast-path=off and on) and its entries with
// it; the next slot starts at zero. So the switch keeps what the freed
// slots had counted — per port (portBase, for the attachment that counted
// it: a new port at the index starts at zero), and per entry taken out
// with its port while its MAC-table entry stays (carry, then hitBase by
// the slot it comes back with) — and reports the sums: port/stats,
// fdb/show and /metrics never go backwards for a port that is attached.
//
// Errors from the kernel are counted (FastPathStatus) and leave the entry
// out of the fast path: its frames take the pipeline, which loses
// nothing.
type fastPath struct {
	// fp is nil without a fast path; else the kernel's, its EntryHits
	// summed with hitBase (hitsFP).
	fp ports.FastPath
	// Guarded by the learner's mu:
	ports    map[uint16]*fpPort  // by port index: in the kernel (SetPort done)
	entries  map[uint64]*fpEntry // by MAC-table key: in the kernel
	portBase map[uint16]portBase // by port index: counted by freed slots
	carry    map[uint64]hitCarry // by MAC-table key: out with its port
	hitBase  map[uint32]fpHits   // by entry slot: counted by freed slots
	errors   atomic.Uint64
	lastErr  atomic.Pointer[string]
	// Guarded by the switch's mu: closed to stop watching the running
	// trace's end (watchTraceEnd).
	traceStop chan struct{}
}

// fpPort is a port as the fast path has it.
type fpPort struct {
	ifindex int
	att     *attachment // whose counters these are
	cfg     ports.FastPathPort
	vid     map[uint16]uint16 // domain -> VID it leaves with (0 untagged)
	// bound: the port has port security; only these MACs are mirrored
	// on it.
	bound []uint64
	// why the port is in SlowPath (for FastPathPort.Reason).
	why string
}

// fpEntry is one MAC-table entry in the kernel.
type fpEntry struct {
	port uint16
	slot uint32
	src  uint64 // source hits at the last aging look
}

// fpHits are an entry's hit counters.
type fpHits struct{ src, dst uint64 }

// portBase is what the freed kernel slots of a port counted.
type portBase struct {
	att *attachment
	c   ports.FastPathCounters
}

// hitCarry is what an entry taken out with its port had counted.
type hitCarry struct {
	port uint16
	att  *attachment
	h    fpHits
}

func newFastPath(fp ports.FastPath) *fastPath {
	f := &fastPath{ports: map[uint16]*fpPort{}, entries: map[uint64]*fpEntry{},
		portBase: map[uint16]portBase{}, carry: map[uint64]hitCarry{}, hitBase: map[uint32]fpHits{}}
	if fp != nil {
		f.fp = hitsFP{fp, f}
	}
	return f
}

// hitsFP is the kernel's fast path as the switch reads it: an entry's
// hits include what it counted in the slots it had before.
type hitsFP struct {
	ports.FastPath
	f *fastPath
}

// EntryHits implements ports.FastPath. Caller holds the learner's mu.
func (h hitsFP) EntryHits(slot uint32) (src, dst uint64, err error) {
	src, dst, err = h.FastPath.EntryHits(slot)
	if b, ok := h.f.hitBase[slot]; ok && err == nil {
		src, dst = src+b.src, dst+b.dst
	}
	return src, dst, err
}

// addCounters adds b to a.
func addCounters(a *ports.FastPathCounters, b ports.FastPathCounters) {
	a.RxPackets += b.RxPackets
	a.RxBytes += b.RxBytes
	a.TxPackets += b.TxPackets
	a.TxBytes += b.TxBytes
	a.SlowPass += b.SlowPass
	a.Errors += b.Errors
	for k, v := range b.Misses {
		if a.Misses == nil {
			a.Misses = map[string]uint64{}
		}
		a.Misses[k] += v
	}
}

// allows reports whether key's MAC may be mirrored on the port.
func (p *fpPort) allows(key uint64) bool {
	return p.bound == nil || slices.Contains(p.bound, key&(1<<48-1))
}

func (f *fastPath) fail(err error) {
	if err == nil {
		return
	}
	f.errors.Add(1)
	s := err.Error()
	f.lastErr.Store(&s)
}

// keyMAC is the MAC of a MAC-table key.
func keyMAC(key uint64) [6]byte {
	var m [6]byte
	putMAC(m[:], key)
	return m
}

// set mirrors the table entry key -> port. Caller holds the learner's mu.
func (f *fastPath) set(key uint64, port uint16) {
	if f.fp == nil {
		return
	}
	dom := uint16(key >> 48)
	p := f.ports[port]
	vid, ok := uint16(0), false
	if p != nil {
		vid, ok = p.vid[dom]
	}
	if !ok || !p.allows(key) {
		f.forget(key)
		return
	}
	slot, err := f.fp.SetEntry(dom, keyMAC(key), p.ifindex, vid)
	if err != nil {
		f.fail(err)
		f.forget(key)
		return
	}
	if e := f.entries[key]; e != nil {
		if e.slot == slot {
			e.port = port
			return
		}
		delete(f.hitBase, e.slot)
	}
	e := &fpEntry{port: port, slot: slot}
	if c, ok := f.carry[key]; ok {
		delete(f.carry, key)
		if c.port == port && c.att == p.att {
			f.hitBase[slot], e.src = c.h, c.h.src
		}
	}
	f.entries[key] = e
}

// forget removes key's entry from the kernel, if it is there, and its
// counts: the MAC-table entry is gone, or no longer on a fast-path port.
func (f *fastPath) forget(key uint64) {
	if f.fp == nil {
		return
	}
	delete(f.carry, key)
	e, ok := f.entries[key]
	if !ok {
		return
	}
	delete(f.entries, key)
	delete(f.hitBase, e.slot)
	f.fail(f.fp.DelEntry(uint16(key>>48), keyMAC(key)))
}

// active reports whether key's entry forwarded frames from its MAC since
// the last call.
func (f *fastPath) active(key uint64) bool {
	e := f.entries[key]
	if e == nil {
		return false
	}
	src, _, err := f.fp.EntryHits(e.slot)
	if err != nil {
		f.fail(err)
		return false
	}
	if src == e.src {
		return false
	}
	e.src = src
	return true
}

// flushPort removes the entries whose egress is port (their MAC-table
// entries are flushed: their counts go too).
func (f *fastPath) flushPort(port uint16) {
	for k, c := range f.carry {
		if c.port == port {
			delete(f.carry, k)
		}
	}
	p := f.ports[port]
	if p == nil {
		return
	}
	n := 0
	for k, e := range f.entries {
		if e.port == port {
			delete(f.entries, k)
			delete(f.hitBase, e.slot)
			n++
		}
	}
	if n > 0 {
		f.fail(f.fp.FlushPort(p.ifindex))
	}
}

// delPort takes port out of the kernel's fast path, keeping what its
// slots and its entries' slots counted.
func (f *fastPath) delPort(port uint16) {
	p := f.ports[port]
	if p == nil {
		return
	}
	for k, e := range f.entries {
		if e.port != port {
			continue
		}
		if src, dst, err := f.fp.EntryHits(e.slot); err == nil {
			f.carry[k] = hitCarry{port: port, att: p.att, h: fpHits{src, dst}}
		}
		delete(f.entries, k)
		delete(f.hitBase, e.slot)
	}
	if c, err := f.fp.PortCounters(p.ifindex); err != nil {
		f.fail(fmt.Errorf("port %d: counters: %w", p.ifindex, err))
	} else {
		b := f.portBase[port]
		if b.att != p.att {
			b = portBase{att: p.att}
		}
		addCounters(&b.c, c)
		f.portBase[port] = b
	}
	delete(f.ports, port)
	f.fail(f.fp.DelPort(p.ifindex))
}

// counters returns what attachment a's port counted in the kernel: in
// the slots it had before (with the current one's, live, when it is in
// the fast path as p), or nil if none. Caller holds the learner's mu.
func (f *fastPath) counters(a *attachment, p *fpPort) (*ports.FastPathCounters, error) {
	var out *ports.FastPathCounters
	if b := f.portBase[a.idx]; b.att == a {
		out = &ports.FastPathCounters{}
		addCounters(out, b.c)
	}
	if p == nil {
		return out, nil
	}
	c, err := f.fp.PortCounters(p.ifindex)
	if err != nil {
		return out, err
	}
	if out == nil {
		return &c, nil
	}
	addCounters(out, c)
	return out, nil
}

// sameClass reports whether two port states classify and tag frames alike
// and mirror the same entries (they may differ in SlowPath and Sources
// only, which change in place).
func sameClass(a, b *fpPort) bool {
	return a.ifindex == b.ifindex && a.att == b.att && a.cfg.Domain == b.cfg.Domain && a.cfg.TaggedOnly == b.cfg.TaggedOnly &&
		maps.Equal(a.cfg.VLANs, b.cfg.VLANs) && maps.Equal(a.vid, b.vid) && slices.Equal(a.bound, b.bound) &&
		(a.bound == nil) == (b.bound == nil)
}

// prune takes out of the kernel every port that is not wanted any more or
// whose classification changes, and gives the secured ports that stay
// their new sources; sync puts the others back. Run before a new
// configuration is published: when it returns, the kernel switches
// nothing from a source a port may no longer send from.
func (f *fastPath) prune(want map[uint16]*fpPort) {
	for idx, p := range f.ports {
		w := want[idx]
		if w == nil || !sameClass(p, w) {
			f.delPort(idx)
			continue
		}
		if slices.Equal(p.cfg.Sources, w.cfg.Sources) {
			continue
		}
		cfg := p.cfg
		cfg.Sources = w.cfg.Sources
		if err := f.fp.SetPort(p.ifindex, cfg); err != nil {
			// The port's sources may be half changed: out with it.
			f.fail(fmt.Errorf("port %d: %w", p.ifindex, err))
			f.delPort(idx)
			continue
		}
		p.cfg.Sources = w.cfg.Sources
	}
}

// sync makes the kernel's ports what want says, replaying the valid table
// entries of every port that joins.
func (f *fastPath) sync(want map[uint16]*fpPort, l *learner) {
	f.prune(want)
	var joined []uint16
	for idx, w := range want {
		p := f.ports[idx]
		if p != nil {
			p.why = w.why
		}
		if p != nil && p.cfg.SlowPath == w.cfg.SlowPath && slices.Equal(p.cfg.Sources, w.cfg.Sources) {
			continue
		}
		if err := f.fp.SetPort(w.ifindex, w.cfg); err != nil {
			f.fail(fmt.Errorf("port %d: %w", w.ifindex, err))
			if p == nil {
				f.fail(f.fp.DelPort(w.ifindex)) // undo a half-done add
			} else if !slices.Equal(p.cfg.Sources, w.cfg.Sources) {
				f.delPort(idx) // its sources may be half changed
			}
			continue
		}
		if p == nil {
			f.ports[idx] = w
			joined = append(joined, idx)
		} else {
			p.cfg.SlowPath, p.cfg.Sources = w.cfg.SlowPath, w.cfg.Sources
		}
	}
	if len(joined) == 0 {
		return
	}
	in := map[uint16]bool{}
	for _, idx := range joined {
		in[idx] = true
	}
	mt := l.macs.Load()
	mt.each(0, len(mt.b), func(k, v uint64) bool {
		if in[valPort(v)] && l.valid(v) {
			f.set(k, valPort(v))
		}
		return false
	})
}

// wantFastPath computes which attached ports belong in the fast path under
// tables t, configuration cfg and the port guards compiled from them.
// Caller holds s.mu.
func (s *Switch) wantFastPath(t *tables, cfg *Config, guards *portGuards) map[uint16]*fpPort {
	want := map[uint16]*fpPort{}
	if s.fpath.fp == nil {
		return want
	}
	group := map[string]string{} // port -> a security group it is in
	for _, g := range cfg.SecurityGroups {
		for _, n := range g.Ports {
			if _, ok := group[n]; !ok {
				group[n] = g.Name
			}
		}
	}
	for _, b := range cfg.Bridges {
		if b.FastPath != nil && !*b.FastPath {
			continue
		}
		for _, p := range b.Ports {
			if p.FastPath != nil && !*p.FastPath {
				continue
			}
			a := s.attached[p.Name]
			if a == nil || a.fpIfindex == 0 {
				continue
			}
			pe := &t.ports[a.idx]
			if !pe.up || pe.rif != 0 || pe.tunnel != 0 {
				continue
			}
			w := &fpPort{ifindex: a.fpIfindex, att: a, cfg: ports.FastPathPort{Domain: pe.nativeDom},
				vid: map[uint16]uint16{pe.nativeDom: 0}}
			if pe.secure {
				w.bound = append([]uint64{pe.secMAC}, pe.secMore...)
				w.cfg.Secured, w.cfg.Sources = true, guards.port(a.idx).fastPathSources()
			}
			if pe.trunk {
				w.cfg.VLANs = map[uint16]uint16{}
				for vid := uint16(1); vid <= MaxVLAN; vid++ {
					if d := pe.vlanDom[vid]; d != 0 {
						w.cfg.VLANs[vid] = d
						if vid != pe.native {
							w.vid[d] = vid
						}
					}
				}
			}
			if g, ok := group[p.Name]; ok {
				w.cfg.SlowPath, w.why = true, "in security group "+g
			} else if s.observedPort(a.idx) {
				w.cfg.SlowPath, w.why = true, "trace or capture"
			}
			want[a.idx] = w
		}
	}
	return want
}

// observedPort reports whether a trace or a capture runs on the port: its
// traffic must then pass the pipeline. Caller holds s.mu.
func (s *Switch) observedPort(idx uint16) bool {
	if s.obs == nil {
		return false
	}
	return (s.tracePort == int(idx) && s.obs.Tracing()) || s.capturePort == int(idx)
}

// syncFastPathLocked brings the kernel's ports in line with the current
// tables and observers. Caller holds s.mu, not the learner's mu.
func (s *Switch) syncFastPathLocked() {
	if s.fpath.fp == nil {
		return
	}
	want := s.wantFastPath(s.tables.Load(), &s.cfg, s.lrn.guards.Load())
	s.lrn.mu.Lock()
	s.fpath.sync(want, s.lrn)
	s.lrn.mu.Unlock()
}

// recheckFastPath asks the members whose readiness can change to check
// again, and takes ports out of the fast path or puts them back. It runs
// from the learner loop, so it only tries the switch's lock (Stop holds it
// while waiting for that loop), and the checks themselves (netlink and
// ethtool in the containers' namespaces) run without it.
func (s *Switch) recheckFastPath() {
	if s.fpath.fp == nil || !s.mu.TryLock() {
		return
	}
	type member struct {
		a *attachment
		r ports.FastPathRechecker
	}
	var ms []member
	for _, a := range s.attached {
		if r, ok := a.port.(ports.FastPathRechecker); ok {
			ms = append(ms, member{a, r})
		}
	}
	s.mu.Unlock()
	if len(ms) == 0 {
		return
	}
	for _, m := range ms {
		m.r.RecheckFastPath()
	}
	if !s.mu.TryLock() {
		return // the next round applies it
	}
	defer s.mu.Unlock()
	changed := false
	for _, m := range ms {
		if s.attached[m.a.port.Name()] != m.a {
			continue // removed meanwhile
		}
		ix, reason := 0, ""
		if fm, ok := m.a.port.(ports.FastPathMember); ok {
			var err error
			if ix, err = fm.FastPathIfindex(); err != nil {
				ix, reason = 0, err.Error()
			}
		}
		if ix != m.a.fpIfindex || reason != m.a.fpReason {
			m.a.fpIfindex, m.a.fpReason = ix, reason
			changed = true
		}
	}
	if changed {
		s.syncFastPathLocked()
	}
}

// FastPathPort is a port's state in the kernel fast path.
type FastPathPort struct {
	// State is "on", "slow-path" (it is in a security group, or a trace
	// or capture runs on it: Reason says which), "off" (fast-path=off for
	// it or its bridge, or not in a bridge) or "unavailable" (Reason says
	// why).
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// Counters are the port's fast-path counters since it was attached
	// (nil if it never was in the fast path), in every state.
	Counters *ports.FastPathCounters `json:"counters,omitempty"`
}

// FastPathStatus is the fast path as a whole.
type FastPathStatus struct {
	// Enabled is false when the switch runs without one (Options.FastPath).
	Enabled bool `json:"enabled"`
	Ports   int  `json:"ports"`
	Entries int  `json:"entries"`
	// Errors counts kernel calls that failed (the entries concerned take
	// the pipeline); LastError is the latest.
	Errors    uint64 `json:"errors"`
	LastError string `json:"last_error,omitempty"`
}

// FastPathStatus returns the fast path's state.
func (s *Switch) FastPathStatus() FastPathStatus {
	st := FastPathStatus{Enabled: s.fpath.fp != nil, Errors: s.fpath.errors.Load()}
	if e := s.fpath.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	s.lrn.mu.Lock()
	st.Ports, st.Entries = len(s.fpath.ports), len(s.fpath.entries)
	s.lrn.mu.Unlock()
	return st
}

// portFastPath describes attachment a's fast-path state. Caller holds s.mu.
func (s *Switch) portFastPath(a *attachment) *FastPathPort {
	if s.fpath.fp == nil {
		return nil
	}
	s.lrn.mu.Lock()
	defer s.lrn.mu.Unlock()
	p := s.fpath.ports[a.idx]
	if p != nil && p.att != a {
		p = nil
	}
	out := &FastPathPort{State: "on"}
	switch {
	case a.fpIfindex == 0:
		out.State, out.Reason = "unavailable", a.fpReason
	case p == nil:
		out.State = "off"
	case p.cfg.SlowPath:
		out.State, out.Reason = "slow-path", p.why
	}
	c, err := s.fpath.counters(a, p)
	if err != nil {
		out.Reason = err.Error()
	}
	out.Counters = c
	return out
}

// watchTraceEnd makes the port of a trace about to start (spec) leave the
// slow path as soon as the trace has taken its count, not at the
// learner's next look (endedTrace): spec's filter is wrapped to count the
// packets that pass it, and the one that makes the count wakes a
// goroutine, which puts the port back once the trace has taken that
// packet. The goroutine ends then, or when the trace is replaced,
// cleared or ended by its port's removal (stopTraceWatchLocked). Without
// a fast path there is nothing to give back. Caller holds s.mu.
//
// Per packet on the traced port, while the trace runs, the filter costs
// an atomic add: no lock, no allocation.
func (s *Switch) watchTraceEnd(spec *pipeline.TraceSpec) {
	s.stopTraceWatchLocked()
	if s.fpath.fp == nil || spec.Count <= 0 {
		return
	}
	full, stop := make(chan struct{}, 1), make(chan struct{})
	s.fpath.traceStop = stop
	user, count := spec.Filter, int64(spec.Count)
	var passed atomic.Int64
	spec.Filter = func(pkt []byte) bool {
		if user != nil && !user(pkt) {
			return false
		}
		if passed.Add(1) == count {
			select {
			case full <- struct{}{}:
			default:
			}
		}
		return true
	}
	obs := s.observer()
	go func() {
		select {
		case <-stop:
			return
		case <-full:
		}
		for {
			s.mu.Lock()
			select {
			case <-stop:
				s.mu.Unlock()
				return
			default:
			}
			if !obs.Tracing() {
				s.stopTraceWatchLocked()
				s.tracePort = -1
				s.syncFastPathLocked()
				s.mu.Unlock()
				return
			}
			s.mu.Unlock()
			// The worker takes the packet right after the filter passed
			// it.
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
}

// stopTraceWatchLocked stops watching the running trace's end. Caller
// holds s.mu.
func (s *Switch) stopTraceWatchLocked() {
	if s.fpath.traceStop != nil {
		close(s.fpath.traceStop)
		s.fpath.traceStop = nil
	}
}

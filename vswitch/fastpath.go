package vswitch

import (
	"fmt"
	"maps"
	"sync/atomic"

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
// (Bridge.FastPath, Port.FastPath). A port with a trace or capture running
// is in the fast path with SlowPath set: all its traffic, both ways, goes
// through the pipeline while it runs.
//
// Which entries: every valid MAC-table entry (learned or static) whose
// port is in the fast path and carries the entry's domain, with the VLAN
// tag the port sends that domain with (none on an access port or a
// trunk's native VLAN).
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
//
// Errors from the kernel are counted (FastPathStatus) and leave the entry
// out of the fast path: its frames take the pipeline, which loses
// nothing.
type fastPath struct {
	fp ports.FastPath // nil: no fast path
	// Guarded by the learner's mu:
	ports   map[uint16]*fpPort  // by port index: in the kernel (SetPort done)
	entries map[uint64]*fpEntry // by MAC-table key: in the kernel
	errors  atomic.Uint64
	lastErr atomic.Pointer[string]
}

// fpPort is a port as the fast path has it.
type fpPort struct {
	ifindex int
	cfg     ports.FastPathPort
	vid     map[uint16]uint16 // domain -> VID it leaves with (0 untagged)
}

// fpEntry is one MAC-table entry in the kernel.
type fpEntry struct {
	port uint16
	slot uint32
	src  uint64 // source hits at the last aging look
}

func newFastPath(fp ports.FastPath) *fastPath {
	return &fastPath{fp: fp, ports: map[uint16]*fpPort{}, entries: map[uint64]*fpEntry{}}
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
	if !ok {
		f.forget(key)
		return
	}
	slot, err := f.fp.SetEntry(dom, keyMAC(key), p.ifindex, vid)
	if err != nil {
		f.fail(err)
		f.forget(key)
		return
	}
	if e := f.entries[key]; e != nil && e.slot == slot {
		e.port = port
		return
	}
	f.entries[key] = &fpEntry{port: port, slot: slot}
}

// forget removes key's entry from the kernel, if it is there.
func (f *fastPath) forget(key uint64) {
	if f.fp == nil {
		return
	}
	if _, ok := f.entries[key]; !ok {
		return
	}
	delete(f.entries, key)
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

// flushPort removes the entries whose egress is port.
func (f *fastPath) flushPort(port uint16) {
	p := f.ports[port]
	if p == nil {
		return
	}
	n := 0
	for k, e := range f.entries {
		if e.port == port {
			delete(f.entries, k)
			n++
		}
	}
	if n > 0 {
		f.fail(f.fp.FlushPort(p.ifindex))
	}
}

// delPort takes port out of the kernel's fast path.
func (f *fastPath) delPort(port uint16) {
	p := f.ports[port]
	if p == nil {
		return
	}
	for k, e := range f.entries {
		if e.port == port {
			delete(f.entries, k)
		}
	}
	delete(f.ports, port)
	f.fail(f.fp.DelPort(p.ifindex))
}

// sameClass reports whether two port states classify and tag frames alike
// (they may differ in SlowPath only).
func sameClass(a, b *fpPort) bool {
	return a.ifindex == b.ifindex && a.cfg.Domain == b.cfg.Domain && a.cfg.TaggedOnly == b.cfg.TaggedOnly &&
		maps.Equal(a.cfg.VLANs, b.cfg.VLANs) && maps.Equal(a.vid, b.vid)
}

// prune takes out of the kernel every port that is not wanted any more or
// whose classification changes; sync puts them back. Run before a new
// configuration is published.
func (f *fastPath) prune(want map[uint16]*fpPort) {
	for idx, p := range f.ports {
		if w := want[idx]; w == nil || !sameClass(p, w) {
			f.delPort(idx)
		}
	}
}

// sync makes the kernel's ports what want says, replaying the valid table
// entries of every port that joins.
func (f *fastPath) sync(want map[uint16]*fpPort, l *learner) {
	f.prune(want)
	var joined []uint16
	for idx, w := range want {
		p := f.ports[idx]
		if p != nil && p.cfg.SlowPath == w.cfg.SlowPath {
			continue
		}
		if err := f.fp.SetPort(w.ifindex, w.cfg); err != nil {
			f.fail(fmt.Errorf("port %d: %w", w.ifindex, err))
			if p == nil {
				f.fail(f.fp.DelPort(w.ifindex)) // undo a half-done add
			}
			continue
		}
		if p == nil {
			f.ports[idx] = w
			joined = append(joined, idx)
		} else {
			p.cfg.SlowPath = w.cfg.SlowPath
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
// tables t and configuration cfg. Caller holds s.mu.
func (s *Switch) wantFastPath(t *tables, cfg *Config) map[uint16]*fpPort {
	want := map[uint16]*fpPort{}
	if s.fpath.fp == nil {
		return want
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
			w := &fpPort{ifindex: a.fpIfindex, cfg: ports.FastPathPort{Domain: pe.nativeDom},
				vid: map[uint16]uint16{pe.nativeDom: 0}}
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
			w.cfg.SlowPath = s.observedPort(a.idx)
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
	want := s.wantFastPath(s.tables.Load(), &s.cfg)
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
	// State is "on", "slow-path" (a trace or capture runs on it), "off"
	// (fast-path=off for it or its bridge, or not in a bridge) or
	// "unavailable" (Reason says why).
	State    string                  `json:"state"`
	Reason   string                  `json:"reason,omitempty"`
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
	if a.fpIfindex == 0 {
		return &FastPathPort{State: "unavailable", Reason: a.fpReason}
	}
	s.lrn.mu.Lock()
	p := s.fpath.ports[a.idx]
	s.lrn.mu.Unlock()
	if p == nil {
		return &FastPathPort{State: "off"}
	}
	out := &FastPathPort{State: "on"}
	if p.cfg.SlowPath {
		out.State = "slow-path"
	}
	c, err := s.fpath.fp.PortCounters(p.ifindex)
	if err != nil {
		out.Reason = err.Error()
	} else {
		out.Counters = &c
	}
	return out
}

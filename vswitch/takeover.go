package vswitch

import (
	"fmt"
	"net/netip"
)

// Learned state for a hitless restart (internal/takeover): the running
// switch exports what it has learned, a successor that runs the same
// configuration imports it, so that no known station is flooded to and no
// neighbor is resolved again after the handover. Everything is named
// (bridge, VLAN, port, interface), never by the switch's internal indices,
// which differ between two processes.

// LearnedState is what a switch has learned from traffic: dynamic MAC
// entries and ARP/ND neighbors. Static entries are not part of it: they
// come from the configuration.
type LearnedState struct {
	MACs      []LearnedMAC      `json:"macs"`
	Neighbors []LearnedNeighbor `json:"neighbors"`
}

// LearnedMAC is one dynamic MAC table entry.
type LearnedMAC struct {
	Bridge string `json:"bridge"`
	VLAN   uint16 `json:"vlan"`
	MAC    string `json:"mac"`
	Port   string `json:"port"`
	// Age is the seconds since a frame from the MAC was last seen.
	Age uint32 `json:"age"`
}

// LearnedNeighbor is one learned ARP/ND entry.
type LearnedNeighbor struct {
	Interface string     `json:"interface"`
	Addr      netip.Addr `json:"addr"`
	MAC       string     `json:"mac"`
	// Age is the seconds since the neighbor was last confirmed.
	Age uint32 `json:"age"`
}

// ImportStats counts what ImportLearned took and left.
type ImportStats struct {
	MACs, Neighbors int
	// Skipped entries name a bridge, VLAN, port or interface this switch
	// does not have (or a MAC it already knows, or one over a limit).
	SkippedMACs, SkippedNeighbors int
}

// ExportLearned returns the learned MAC entries (those of flushed ports
// left out) and the learned neighbors. It takes the learner's and the
// neighbor manager's locks once each; workers keep running.
func (s *Switch) ExportLearned() LearnedState {
	var st LearnedState
	t := s.tables.Load()
	l := s.lrn
	l.mu.Lock()
	now := s.now.Load()
	mt := l.macs.Load()
	mt.each(0, len(mt.b), func(k, v uint64) bool {
		dom := uint16(k >> 48)
		if int(dom) >= len(t.domains) || !t.domains[dom].valid || !l.valid(v) || valStaticOf(v) || valPort(v) == routerPort {
			return false
		}
		d := &t.domains[dom]
		st.MACs = append(st.MACs, LearnedMAC{Bridge: t.bridges[d.bridge].name, VLAN: d.vlan, MAC: formatMAC(k),
			Port: t.ports[valPort(v)].name, Age: (now - valTS(v)) & tsMask})
		return false
	})
	l.mu.Unlock()

	n := s.nbr
	n.mu.Lock()
	for k, pos := range n.keys {
		e := &n.slab[pos]
		if e.static || int(k.iface) >= len(t.ifaces) || !t.ifaces[k.iface].valid {
			continue
		}
		st.Neighbors = append(st.Neighbors, LearnedNeighbor{Interface: t.ifaces[k.iface].name, Addr: k.a.addr(),
			MAC: formatMAC(e.mac.Load()), Age: now - e.seen.Load()})
	}
	n.mu.Unlock()
	return st
}

// ImportLearned adds a predecessor's learned entries to this switch,
// keeping their ages (they age out when they would have there). Call it
// once the configuration is applied and the ports attached: an entry
// whose bridge, VLAN, port or interface this switch lacks is skipped, as
// is one this switch already knows or one beyond a MAC limit. A malformed
// MAC or address is an error (nothing is imported).
func (s *Switch) ImportLearned(st LearnedState) (ImportStats, error) {
	var is ImportStats
	macs := make([]uint64, len(st.MACs))
	for i, m := range st.MACs {
		v, err := parseMAC(m.MAC)
		if err != nil || v == 0 || v&(1<<40) != 0 {
			return is, fmt.Errorf("vswitch: learned MAC %d: %q is not a unicast MAC", i, m.MAC)
		}
		macs[i] = v
	}
	nmacs := make([]uint64, len(st.Neighbors))
	for i, nb := range st.Neighbors {
		v, err := parseMAC(nb.MAC)
		if err != nil || !nb.Addr.IsValid() {
			return is, fmt.Errorf("vswitch: learned neighbor %d: address %v, MAC %q", i, nb.Addr, nb.MAC)
		}
		nmacs[i] = v
	}

	s.mu.Lock() // the name -> ID maps; Switch.mu before learner.mu
	defer s.mu.Unlock()
	t := s.tables.Load()
	l := s.lrn
	l.mu.Lock()
	s.tick()
	now := s.now.Load()
	for i, m := range st.MACs {
		if l.importMAC(t, m, macs[i], now) {
			is.MACs++
		} else {
			is.SkippedMACs++
		}
	}
	l.mu.Unlock()

	n := s.nbr
	n.mu.Lock()
	added := false
	for i, nb := range st.Neighbors {
		id, ok := s.l3.ifIDs.ids[nb.Interface]
		key := nbrKey{id, addrKey(nb.Addr)}
		if _, known := n.keys[key]; !ok || int(id) >= len(t.ifaces) || !t.ifaces[id].valid || known ||
			!n.add(id, key.a, nmacs[i], false, now-nb.Age) {
			is.SkippedNeighbors++
			continue
		}
		added = true
		is.Neighbors++
	}
	if added {
		n.publish()
	}
	n.mu.Unlock()
	return is, nil
}

// importMAC inserts one learned entry with its age; it reports whether it
// did. Caller holds Switch.mu and l.mu.
func (l *learner) importMAC(t *tables, m LearnedMAC, mac uint64, now uint32) bool {
	s := l.s
	dom, ok := s.domIDs.ids[domKey{m.Bridge, m.VLAN}]
	if !ok || int(dom) >= len(t.domains) || !t.domains[dom].valid {
		return false
	}
	d := &t.domains[dom]
	p, ok := s.portIdx.ids[m.Port]
	if !ok || int(p) >= len(t.ports) {
		return false
	}
	pe := &t.ports[p]
	if !pe.up || pe.bridge != d.bridge || !pe.carriesDomain(d.vlan, dom) {
		return false
	}
	key := macKey(dom, mac)
	if _, old, found := l.macs.Load().lookup(key); found && l.valid(old) {
		return false // known here already (static, or learned since start)
	}
	b := d.bridge
	l.brCount = growTo(l.brCount, int(b))
	if l.brCount[b] >= t.bridges[b].limit {
		return false
	}
	if lim := int(pe.macLimit); lim > 0 && l.portCount[p] >= lim {
		return false
	}
	ts := (now - m.Age) & tsMask
	l.insert(dom, b, key, packVal(p, uint16(s.portSeq[p].Load()), false, ts))
	s.fpath.set(key, p)
	return true
}

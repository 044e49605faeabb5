package vswitch

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vecswitch/vecswitch/policy/conntrack"
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
	// NATFlows are the NAT tracker's flows: without them every
	// masqueraded or port-mapped connection would break at a restart
	// (the successor would translate its next packet anew, to another
	// port).
	NATFlows []LearnedFlow `json:"nat_flows,omitempty"`
	// SGFlows are the security-group tracker's flows. Without them the
	// successor would classify each connection's next packet as a new
	// flow in the direction that packet goes: a reply from a port whose
	// group allows no egress (a server) would be dropped, and a download
	// whose client is silent would stall until the client sent again.
	SGFlows []LearnedSGFlow `json:"sg_flows,omitempty"`
}

// LearnedSGFlow is one flow of the security-group tracker: its keys, its
// zone by name (the L2 domain, bridge and VLAN, of switched traffic; the
// VRF of routed traffic), the two ports it was allowed between (its
// original direction's source and destination), its TCP state, reply
// flag and age.
type LearnedSGFlow struct {
	Orig, Reply conntrack.Key
	Bridge      string `json:",omitempty"`
	VLAN        uint16 `json:",omitempty"`
	VRF         string `json:",omitempty"`
	From, To    string
	TCP         conntrack.TCPState
	Replied     bool
	// Age is the seconds since the flow's last packet.
	Age uint32
}

// LearnedFlow is one tracked flow: its keys with the zones (VRFs) named,
// its TCP state, reply flag, mark and label, and its age.
type LearnedFlow struct {
	Orig, Reply       conntrack.Key
	OrigVRF, ReplyVRF string
	TCP               conntrack.TCPState
	Replied           bool
	Mark              uint32
	Label             uint64
	// Age is the seconds since the flow's last packet.
	Age uint32
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
	MACs, Neighbors, NATFlows int
	// Skipped entries name a bridge, VLAN, port or interface this switch
	// does not have (or a MAC it already knows, or one over a limit).
	SkippedMACs, SkippedNeighbors int
	// SkippedNATFlows name a VRF this switch lacks, or did not fit (the
	// table full, a key another flow's), or NAT is off here.
	SkippedNATFlows int
	// SGFlows were restored in the security-group tracker; SkippedSGFlows
	// name a bridge, VLAN, VRF or port this switch lacks, did not fit, or
	// no group has a port here.
	SGFlows, SkippedSGFlows int
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

	if ns := s.nat.Load(); ns != nil {
		vrfName := func(z uint16) string {
			if int(z) < len(t.vrfs) && t.vrfs[z].valid {
				return t.vrfs[z].name
			}
			return ""
		}
		ns.ct.Walk(func(f *conntrack.Flow) bool {
			st.NATFlows = append(st.NATFlows, LearnedFlow{Orig: f.Orig, Reply: f.Reply, OrigVRF: vrfName(f.Orig.Zone),
				ReplyVRF: vrfName(f.Reply.Zone), TCP: f.TCP, Replied: f.Replied, Mark: f.Mark, Label: f.Label, Age: now - f.LastSeen})
			return true
		})
		if len(st.NATFlows) > MaxHandedNATFlows {
			// The most recently active first: the state must fit one
			// takeover message (internal/takeover.MaxPayload).
			slices.SortFunc(st.NATFlows, func(a, b LearnedFlow) int { return cmp.Compare(a.Age, b.Age) })
			st.NATFlows = st.NATFlows[:MaxHandedNATFlows]
		}
	}
	st.SGFlows = s.exportSGFlows(t, now)
	return st
}

// exportSGFlows lists the security-group tracker's flows, the most
// recently active MaxHandedSGFlows of them.
func (s *Switch) exportSGFlows(t *tables, now uint32) []LearnedSGFlow {
	ct := s.ct.Load()
	if ct == nil {
		return nil
	}
	port := func(i uint16) (string, bool) {
		if int(i) < len(t.ports) && t.ports[i].name != "" {
			return t.ports[i].name, true
		}
		return "", false
	}
	var out []LearnedSGFlow
	ct.tab.Walk(func(f *conntrack.Flow) bool {
		lf := LearnedSGFlow{Orig: f.Orig, Reply: f.Reply, TCP: f.TCP, Replied: f.Replied, Age: now - f.LastSeen}
		z := f.Orig.Zone
		switch {
		case f.Orig.Flags&conntrack.KeyRouted != 0:
			if int(z) >= len(t.vrfs) || !t.vrfs[z].valid {
				return true
			}
			lf.VRF = t.vrfs[z].name
		case int(z) < len(t.domains) && t.domains[z].valid:
			d := &t.domains[z]
			lf.Bridge, lf.VLAN = t.bridges[d.bridge].name, d.vlan
		default:
			return true
		}
		var ok1, ok2 bool
		lf.From, ok1 = port(uint16(f.Mark >> 16))
		lf.To, ok2 = port(uint16(f.Mark))
		if ok1 && ok2 {
			out = append(out, lf)
		}
		return true
	})
	if len(out) > MaxHandedSGFlows {
		slices.SortFunc(out, func(a, b LearnedSGFlow) int { return cmp.Compare(a.Age, b.Age) })
		out = out[:MaxHandedSGFlows]
	}
	return out
}

// MaxHandedSGFlows bounds the security-group flows ExportLearned hands
// over, as MaxHandedNATFlows the NAT flows: about 350 bytes each in JSON,
// so at most 12 MB beside the NAT flows' 26, inside one takeover message
// (64 MiB) with room for the MAC and neighbor tables.
const MaxHandedSGFlows = 32768

// importSGFlows restores a predecessor's security-group flows, zones and
// ports mapped by name. Caller holds Switch.mu.
func (s *Switch) importSGFlows(t *tables, flows []LearnedSGFlow, now uint32, is *ImportStats) {
	ct := s.ct.Load()
	if ct == nil || s.sg.Load() == nil {
		is.SkippedSGFlows += len(flows)
		return
	}
	w := ct.tab.NewWorker() // the control plane's own: the workers run meanwhile
	for _, lf := range flows {
		var zone uint16
		ok := true
		if lf.VRF != "" {
			ok = false
			for i := range t.vrfs {
				if t.vrfs[i].valid && t.vrfs[i].name == lf.VRF {
					zone, ok = uint16(i), true
					break
				}
			}
		} else {
			d, found := s.domIDs.ids[domKey{lf.Bridge, lf.VLAN}]
			zone, ok = d, found && int(d) < len(t.domains) && t.domains[d].valid
		}
		from, ok1 := s.portIdx.ids[lf.From]
		to, ok2 := s.portIdx.ids[lf.To]
		routed := lf.Orig.Flags&conntrack.KeyRouted != 0
		if !ok || !ok1 || !ok2 || routed != (lf.VRF != "") || routed != (lf.Reply.Flags&conntrack.KeyRouted != 0) {
			is.SkippedSGFlows++
			continue
		}
		f := conntrack.Flow{Orig: lf.Orig, Reply: lf.Reply, TCP: lf.TCP, Replied: lf.Replied, Mark: flowMark(from, to)}
		f.Orig.Zone, f.Reply.Zone = zone, zone
		if !w.Restore(&f, now-lf.Age) {
			is.SkippedSGFlows++
			continue
		}
		is.SGFlows++
	}
}

// MaxHandedNATFlows bounds the NAT flows ExportLearned hands over (about
// 400 bytes each in JSON); the most recently active are kept, the others'
// connections are translated anew by the successor (TCP ones break).
const MaxHandedNATFlows = 65536

// importNATFlows restores a predecessor's NAT flows, their zones mapped
// by VRF name. Caller holds Switch.mu.
func (s *Switch) importNATFlows(t *tables, flows []LearnedFlow, now uint32, is *ImportStats) {
	ns := s.nat.Load()
	if ns == nil {
		is.SkippedNATFlows += len(flows)
		return
	}
	vrfID := func(name string) (uint16, bool) {
		for i := range t.vrfs {
			if t.vrfs[i].valid && t.vrfs[i].name == name {
				return uint16(i), true
			}
		}
		return 0, false
	}
	w := ns.ct.NewWorker() // the control plane's own: the workers run meanwhile
	for _, lf := range flows {
		oz, ok1 := vrfID(lf.OrigVRF)
		rz, ok2 := vrfID(lf.ReplyVRF)
		f := conntrack.Flow{Orig: lf.Orig, Reply: lf.Reply, TCP: lf.TCP, Replied: lf.Replied, Mark: lf.Mark, Label: lf.Label}
		f.Orig.Zone, f.Reply.Zone = oz, rz
		if !ok1 || !ok2 || !w.Restore(&f, now-lf.Age) {
			is.SkippedNATFlows++
			continue
		}
		is.NATFlows++
	}
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
	s.importNATFlows(t, st.NATFlows, now, &is)
	s.importSGFlows(t, st.SGFlows, now, &is)
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

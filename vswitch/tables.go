package vswitch

import (
	"cmp"
	"fmt"

	"github.com/vecswitch/vecswitch/pipeline"
)

// tables is the compiled, immutable form of the configuration plus the set
// of attached ports. Workers load it once per vector through an atomic
// pointer; the control plane replaces it whole.
type tables struct {
	gen     uint64
	ports   []portEntry   // by port index, len pipeline.MaxPorts
	domains []domainEntry // by domain ID; 0 is never valid
	bridges []bridgeEntry // by bridge ID
	ifaces  []ifaceEntry  // by interface ID; 0 is never valid
	dns     bool          // some interface answers DNS (Config.DNS)
	vrfs    []*vrfEntry   // by VRF ID; 0 is "default"
	adjs    []adjEntry    // by adjacency ID; 0 is never valid
	tunnels []tunnelEntry // by portEntry.tunnel - 1
	vnis    []vniEntry    // sorted by VNI
	vtep    *vtepEntry    // nil: no VXLAN
}

type portEntry struct {
	up        bool // attached and member of a bridge
	trunk     bool
	bridge    uint16
	native    uint16 // access VLAN, or a trunk's native VLAN
	nativeDom uint16
	vlanDom   *[4096]uint16 // trunk: any 12-bit VID -> domain (0: not carried)
	maxFrame  uint16        // longest frame the port transmits
	// plain is plainKey(nativeDom, native) for a real port that is up, 0
	// otherwise: a frame whose plainKey equals it leaves the port as it
	// is (untagged, no tunnel), l2-output's plain case in one compare.
	plain uint64
	// offload: the port's tx takes chains, GSO frames and partial
	// checksums (ports.Info.Offload); other ports get them through gso.
	offload bool
	name    string
	// A routed port's interface and its MAC: l2-input hands frames to
	// that MAC (and broadcasts, multicasts) straight to L3.
	rif    uint16
	rifMAC uint64
	// rifPlain: rif is valid and not a proxy-ARP interface, so an
	// untagged IPv4 or IPv6 frame to rifMAC goes to ip4-forward or
	// ip6-forward with no other check (l2-input's inline case; routedIn
	// does every other).
	rifPlain bool
	// tunnel is 1 + the index in tables.tunnels of a remote VTEP's
	// pseudo-port, 0 for a real port.
	tunnel uint16
	// Port security: the only source MACs the port may send from are
	// secMAC and secMore.
	secure  bool
	secMAC  uint64
	secMore []uint64
	// macLimit is the most MACs the port learns (0: only its bridge's
	// limit, for tunnel pseudo-ports).
	macLimit int32
}

// plainKey packs a frame's domain and VLAN (Meta.Domain, Meta.VLAN) to
// compare with portEntry.plain; never 0.
func plainKey(dom, vlan uint16) uint64 { return 1<<32 | uint64(vlan)<<16 | uint64(dom) }

// plainOutput reports whether l2-output would do nothing to frame m but
// stage it for tx on port p (its OutPort): the port is up and no tunnel,
// the frame is of its native VLAN and domain (no tag to push:
// portEntry.plain), needs no offload work and fits. l2-fwd, the fused
// l2-fwd of l2-input and vxlan-decap, and sg-policy (for the established
// flows it passes) make this check to stage such frames themselves, so
// they skip l2-output (issue 24). They never do it for a traced frame
// (traces show every node) nor when learner.unfused is set
// (TestL2FusedMatchesNodes, TestSGFusedMatchesNodes compare both ways).
func plainOutput(t *tables, p uint16, m *pipeline.Meta) bool {
	pe := &t.ports[p&(pipeline.MaxPorts-1)]
	return pe.plain == plainKey(m.Domain, m.VLAN) && !needsGSO(m) && m.Len <= pe.maxFrame
}

// boundMore reports whether mac is one of a secure port's MACs after the
// first.
func (p *portEntry) boundMore(mac uint64) bool {
	for _, m := range p.secMore {
		if m == mac {
			return true
		}
	}
	return false
}

type domainEntry struct {
	valid  bool
	bridge uint16
	vlan   uint16
	flood  []uint16 // up ports carrying this domain
	rif    uint16   // the domain's router interface, 0 if none
	vni    uint32   // the domain's VXLAN network, 0 if none
	vniIdx uint16   // its index among the bridge's VNIs (tunnelEntry.tmpl)
}

type bridgeEntry struct {
	valid   bool
	tunnels []uint16 // pseudo-ports of its remote VTEPs
	name    string
	limit   int
	ageSec  uint32
}

type domKey struct {
	bridge string
	vlan   uint16
}

// attachedPort is what compile needs to know of an attached port.
type attachedPort struct {
	idx      uint16
	maxFrame uint16
	offload  bool
}

// idAlloc hands out small stable IDs (1..max) for names; freed IDs are
// reused, lowest first.
type idAlloc[K comparable] struct {
	ids  map[K]uint16
	free []uint16
	next uint16
	max  uint16
}

func newIDAlloc[K comparable](max uint16) *idAlloc[K] {
	return &idAlloc[K]{ids: map[K]uint16{}, next: 1, max: max}
}

func (a *idAlloc[K]) get(k K) (uint16, error) {
	if id, ok := a.ids[k]; ok {
		return id, nil
	}
	var id uint16
	if n := len(a.free); n > 0 {
		id, a.free = a.free[n-1], a.free[:n-1]
	} else {
		if a.next == 0 || a.next > a.max {
			return 0, fmt.Errorf("out of IDs (%d in use)", len(a.ids))
		}
		id = a.next
		a.next++
	}
	a.ids[k] = id
	return id, nil
}

func (a *idAlloc[K]) release(k K) {
	if id, ok := a.ids[k]; ok {
		delete(a.ids, k)
		a.free = append(a.free, id)
	}
}

// compiled is what compile returns besides the tables.
type compiled struct {
	goneDom []domKey // domains that exist no more
	goneBr  []string // bridges that exist no more
	l3      *l3Plan  // routes to install
	rifMACs []rifMAC // router interface MACs, static entries to routerPort
	tunnels []string // names of the tunnel pseudo-ports in use
}

type rifMAC struct {
	dom uint16
	mac uint64
}

// compile builds tables for cfg (normalized, with its parsed L3 part) and
// the attached ports (name -> port index). It allocates bridge, domain,
// VRF, interface and adjacency IDs as needed.
func (s *Switch) compile(cfg *Config, l3 *l3Config, attached map[string]attachedPort) (*tables, *compiled, error) {
	t := &tables{ports: make([]portEntry, pipeline.MaxPorts)}
	out := &compiled{}
	wantDom := map[domKey]bool{}
	wantBr := map[string]bool{}
	rifDom := map[domKey]uint64{} // domains with a router interface -> its MAC
	if l3 != nil {
		for _, ifc := range l3.ifaces {
			k := domKey{ifc.Bridge, ifc.VLAN}
			if ifc.Port != "" {
				k = domKey{routedBridgeName(ifc.Port), 0}
			}
			rifDom[k] = ifc.mac
		}
	}
	bridges := cfg.allBridges()
	for bi := range bridges {
		b := &bridges[bi]
		bid, err := s.brIDs.get(b.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("bridge %s: %w", b.Name, err)
		}
		wantBr[b.Name] = true
		t.bridges = growTo(t.bridges, int(bid))
		t.bridges[bid] = bridgeEntry{valid: true, name: b.Name, limit: b.MACLimit, ageSec: uint32(b.MACAgeSeconds)}
		domOf := func(v uint16) (uint16, error) {
			k := domKey{b.Name, v}
			id, err := s.domIDs.get(k)
			if err != nil {
				return 0, fmt.Errorf("bridge %s VLAN %d: %w", b.Name, v, err)
			}
			if !wantDom[k] {
				wantDom[k] = true
				t.domains = growTo(t.domains, int(id))
				t.domains[id] = domainEntry{valid: true, bridge: bid, vlan: v}
				if mac, ok := rifDom[k]; ok {
					t.domains[id].flood = append(t.domains[id].flood, routerPort)
					out.rifMACs = append(out.rifMACs, rifMAC{id, mac})
				}
			}
			return id, nil
		}
		for k := range rifDom {
			if k.bridge == b.Name {
				if _, err := domOf(k.vlan); err != nil {
					return nil, nil, err
				}
			}
		}
		var vx *vxlanConfig
		if l3 != nil {
			vx = l3.vx
		}
		names, err := s.compileVXLAN(t, vx, b, bid, domOf)
		if err != nil {
			return nil, nil, err
		}
		out.tunnels = append(out.tunnels, names...)
		for pi := range b.Ports {
			p := &b.Ports[pi]
			nd, err := domOf(p.VLAN)
			if err != nil {
				return nil, nil, err
			}
			var vd *[4096]uint16
			if p.Mode == Trunk {
				// Indexed by the tag's 12 bits, so VID 4095 (reserved) is
				// in range and never carried.
				vd = new([4096]uint16)
				if p.VLAN != 0 {
					vd[p.VLAN] = nd
				}
				for _, v := range p.Trunks {
					if vd[v], err = domOf(v); err != nil {
						return nil, nil, err
					}
				}
			}
			ap, up := attached[p.Name]
			if !up {
				continue
			}
			idx := ap.idx
			t.ports[idx] = portEntry{up: true, trunk: p.Mode == Trunk, bridge: bid, native: p.VLAN,
				nativeDom: nd, vlanDom: vd, maxFrame: ap.maxFrame, offload: ap.offload, name: p.Name,
				plain: plainKey(nd, p.VLAN)}
			t.ports[idx].macLimit = int32(cmp.Or(p.MACLimit, DefaultPortMACLimit))
			if macs := p.boundMACs(); len(macs) > 0 {
				t.ports[idx].secure, t.ports[idx].secMAC, t.ports[idx].secMore = true, macs[0], macs[1:]
			}
			t.domains[nd].flood = append(t.domains[nd].flood, idx)
			if vd != nil {
				for _, v := range p.Trunks {
					if v != p.VLAN {
						t.domains[vd[v]].flood = append(t.domains[vd[v]].flood, idx)
					}
				}
			}
		}
	}
	// Every domain ID ever handed out indexes the table, so a packet still
	// carrying a retired ID is never out of range.
	t.domains = growTo(t.domains, int(s.domIDs.next))
	for k := range s.domIDs.ids {
		if !wantDom[k] {
			out.goneDom = append(out.goneDom, k)
		}
	}
	for k := range s.brIDs.ids {
		if !wantBr[k] {
			out.goneBr = append(out.goneBr, k)
		}
	}
	plan, err := s.l3.compileL3(t, l3, func(br string, vlan uint16) (uint16, bool) {
		id, ok := s.domIDs.ids[domKey{br, vlan}]
		return id, ok && wantDom[domKey{br, vlan}]
	})
	if err != nil {
		return nil, nil, err
	}
	out.l3 = plan
	var vx *vxlanConfig
	if l3 != nil {
		vx = l3.vx
	}
	t.finishVXLAN(vx, func(pos uint16) uint16 { return s.l3.ifIDs.ids[l3.ifaces[pos-1].Name] })
	// Routed ports: the port and its interface know each other.
	for id := range t.ifaces {
		e := &t.ifaces[id]
		if !e.valid || !e.routed || int(e.domain) >= len(t.domains) {
			continue
		}
		for _, p := range t.domains[e.domain].flood {
			if p != routerPort && t.ports[p].up {
				e.port = p
				t.ports[p].rif, t.ports[p].rifMAC = uint16(id), mac48(e.mac[:])
				t.ports[p].rifPlain = !e.proxy
			}
		}
	}
	return t, out, nil
}

func growTo[T any](s []T, i int) []T {
	for len(s) <= i {
		var z T
		s = append(s, z)
	}
	return s
}

// carriesDomain reports whether port entry p sends and receives frames of
// domain d in VLAN v.
func (p *portEntry) carriesDomain(v, d uint16) bool {
	if v == p.native {
		return p.nativeDom == d
	}
	return p.vlanDom != nil && p.vlanDom[v&0xFFF] == d
}

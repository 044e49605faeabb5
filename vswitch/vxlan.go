package vswitch

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/vecswitch/vecswitch/encap"
)

// VXLAN in the tables. A remote VTEP of a bridge is a pseudo-port (a port
// index without queues, named vxlan:BRIDGE:ADDR): MACs learned from its
// decapsulated frames point to it, it is a member of the flood list of
// every domain whose VNI it shares, and l2-output hands frames for it to
// vxlan-encap instead of a tx queue. So learning, aging, moves, flushes,
// static MACs and flooding are the L2 code's, unchanged; only split
// horizon is added (a frame from a tunnel is never flooded to another
// tunnel: every VTEP floods to all the others itself).

// vtepEntry is the compiled local VTEP.
type vtepEntry struct {
	addr  nbrAddr // local address (IPv4-mapped for IPv4)
	is6   bool
	port  uint16
	iface uint16 // router interface owning addr: its VRF routes the underlay
	decap encap.DecapConfig
	// inOverhead is what encapsulation adds to an inner frame to make the
	// outer IP packet: outer IP, UDP and VXLAN headers (36 or 56 bytes).
	inOverhead int
}

// tunnelEntry is a remote VTEP of a bridge.
type tunnelEntry struct {
	remote nbrAddr
	// tmpl holds one header template per VNI of the bridge, by the
	// domain's vniIdx; nil where the remote does not carry that VNI.
	tmpl []*encap.Template
}

// vniEntry maps a VNI to its domain, sorted by VNI for decap's search.
type vniEntry struct {
	vni uint32
	dom uint16
}

// vniDomain finds the domain of a VNI (0: unknown).
func (t *tables) vniDomain(vni uint32) uint16 {
	lo, hi := 0, len(t.vnis)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.vnis[m].vni < vni {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(t.vnis) && t.vnis[lo].vni == vni {
		return t.vnis[lo].dom
	}
	return 0
}

// tunnelPort finds the pseudo-port of remote VTEP a in a bridge (0: none).
func (t *tables) tunnelPort(bridge uint16, a nbrAddr) uint16 {
	for _, p := range t.bridges[bridge].tunnels {
		if t.tunnels[t.ports[p].tunnel-1].remote == a {
			return p
		}
	}
	return 0
}

// compileVXLAN adds the bridge's VNIs to t: their domains (made with
// domOf), the tunnel pseudo-ports of their remotes (in their domains'
// flood lists) and the header templates. It returns the tunnel names it
// uses.
func (s *Switch) compileVXLAN(t *tables, vx *vxlanConfig, b *Bridge, bid uint16, domOf func(uint16) (uint16, error)) ([]string, error) {
	if vx == nil {
		return nil, nil
	}
	var names []string
	byRemote := map[netip.Addr]uint16{} // remote -> pseudo-port
	vniIdx := 0
	for _, n := range vx.vnis {
		if n.bridge != b.Name {
			continue
		}
		dom, err := domOf(n.vlan)
		if err != nil {
			return nil, err
		}
		d := &t.domains[dom]
		d.vni, d.vniIdx = n.vni, uint16(vniIdx)
		t.vnis = append(t.vnis, vniEntry{n.vni, dom})
		remotes := n.remotes
		for _, r := range s.ovRemotes[n.vni] {
			if r != vx.vtep && r.Is4() == vx.vtep.Is4() && !slices.Contains(remotes, r) {
				remotes = append(slices.Clip(remotes), r)
			}
		}
		for _, r := range remotes {
			p, ok := byRemote[r]
			if !ok {
				name := tunnelName(b.Name, r)
				id, err := s.portIdx.get(name)
				if err != nil {
					return nil, fmt.Errorf("tunnel to %s: %w", r, err)
				}
				p = id
				byRemote[r] = p
				names = append(names, name)
				t.tunnels = append(t.tunnels, tunnelEntry{remote: addrKey(r)})
				t.ports[p] = portEntry{up: true, trunk: true, bridge: bid, native: 0xFFFF, vlanDom: new([4096]uint16),
					maxFrame: 0xFFFF, name: "vxlan:" + r.String(), tunnel: uint16(len(t.tunnels))}
				t.bridges[bid].tunnels = append(t.bridges[bid].tunnels, p)
			}
			pe := &t.ports[p]
			pe.vlanDom[n.vlan] = dom
			tun := &t.tunnels[pe.tunnel-1]
			tmpl, err := encap.NewTemplate(encap.TemplateConfig{Src: vx.vtep, Dst: r, VNI: n.vni, DstPort: vx.port, TTL: vx.ttl, DF: vx.df})
			if err != nil {
				return nil, fmt.Errorf("tunnel to %s VNI %d: %w", r, n.vni, err)
			}
			for len(tun.tmpl) <= vniIdx {
				tun.tmpl = append(tun.tmpl, nil)
			}
			tun.tmpl[vniIdx] = &tmpl
			d.flood = append(d.flood, p)
		}
		vniIdx++
	}
	return names, nil
}

// finishVXLAN sorts the VNI index and sets the VTEP.
func (t *tables) finishVXLAN(vx *vxlanConfig, ifID func(pos uint16) uint16) {
	slices.SortFunc(t.vnis, func(a, b vniEntry) int { return int(a.vni) - int(b.vni) })
	if vx == nil {
		return
	}
	t.vtep = &vtepEntry{addr: addrKey(vx.vtep), is6: vx.vtep.Is6(), port: vx.port, iface: ifID(vx.iface),
		decap: encap.DecapConfig{Port: vx.port, IPv4HeaderChecked: true}, inOverhead: encap.Overhead(vx.vtep.Is6()) - encap.EthLen}
}

package vswitch

import (
	"fmt"
	"net/netip"
	"slices"
)

// The VXLAN part of Config: the switch's tunnel endpoint and, per bridge,
// the VNIs that carry its VLANs to remote VTEPs.

// VTEP is the switch's VXLAN tunnel endpoint (RFC 7348). Its address must
// be an address of one of the router interfaces, which is how the
// underlay is reached: encapsulated packets are routed like any packet the
// switch sends, and VXLAN packets to the address are decapsulated.
type VTEP struct {
	Addr string `json:"addr"`
	// Port is the UDP port (default 4789).
	Port uint16 `json:"port,omitempty"`
	// TTL of the outer header (default 64).
	TTL uint8 `json:"ttl,omitempty"`
	// DF sets the outer IPv4 don't-fragment bit.
	DF bool `json:"df,omitempty"`
}

// VNI maps one VLAN of a bridge (0: its untagged domain) to a VXLAN
// network, shared with Remotes (their VTEP addresses): frames to a MAC
// behind a remote VTEP are sent to it; broadcast, multicast and unknown
// unicast go to every remote (head-end replication). Frames from VTEPs not
// listed are dropped: a MAC is learned behind its VTEP, which must be
// known.
type VNI struct {
	VNI     uint32   `json:"vni"`
	VLAN    uint16   `json:"vlan,omitempty"`
	Remotes []string `json:"remotes,omitempty"`
}

// Defaults and limits of VXLAN.
const (
	DefaultVXLANPort = 4789
	MaxVNI           = 1<<24 - 1
	maxRemotes       = 1024
	// OverlayMTU and OverlayMTU6 are the MTUs of container interfaces on
	// an overlay bridge with an IPv4 or IPv6 underlay of MTU 1500.
	OverlayMTU  = 1450
	OverlayMTU6 = 1430
)

type vxlanConfig struct {
	vtep  netip.Addr
	port  uint16
	ttl   uint8
	df    bool
	iface uint16 // the interface (position + 1 in l3Config.ifaces) owning vtep
	vnis  []vniCfg
}

type vniCfg struct {
	bridge  string
	vlan    uint16
	vni     uint32
	remotes []netip.Addr
}

// normalizeVXLAN validates the VTEP and the bridges' VNIs (after L2 and
// L3) and fills defaults in out.
func (c *Config) normalizeVXLAN(out *Config, l3 *l3Config) (*vxlanConfig, error) {
	any := c.VTEP != nil
	for _, b := range c.Bridges {
		any = any || len(b.VXLAN) > 0
	}
	if !any {
		return nil, nil
	}
	if c.VTEP == nil {
		return nil, cfgErr("vtep", "bridges carry VNIs but no VTEP is configured")
	}
	v := &vxlanConfig{port: c.VTEP.Port, ttl: c.VTEP.TTL, df: c.VTEP.DF}
	a, err := netip.ParseAddr(c.VTEP.Addr)
	if err != nil {
		return nil, cfgErr("vtep.addr", "%v", err)
	}
	v.vtep = a.Unmap()
	for i, ifc := range l3.ifaces {
		for _, p := range ifc.addrs {
			if p.Addr() == v.vtep {
				v.iface = uint16(i + 1)
			}
		}
	}
	if v.iface == 0 {
		return nil, cfgErr("vtep.addr", "%s is not an address of a router interface", v.vtep)
	}
	if v.port == 0 {
		v.port = DefaultVXLANPort
	}
	if v.ttl == 0 {
		v.ttl = 64
	}
	out.VTEP = &VTEP{Addr: v.vtep.String(), Port: v.port, TTL: v.ttl, DF: v.df}
	seenVNI := map[uint32]string{}
	for bi := range c.Bridges {
		b := &c.Bridges[bi]
		ob := &out.Bridges[bi]
		seenVLAN := map[uint16]bool{}
		for i, n := range b.VXLAN {
			p := fmt.Sprintf("bridges[%s].vxlan[%d]", b.Name, i)
			if n.VNI < 1 || n.VNI > MaxVNI {
				return nil, cfgErr(p+".vni", "%d out of range 1..%d", n.VNI, MaxVNI)
			}
			if o, dup := seenVNI[n.VNI]; dup {
				return nil, cfgErr(p+".vni", "VNI %d is already bridge %s's", n.VNI, o)
			}
			seenVNI[n.VNI] = b.Name
			if n.VLAN > MaxVLAN {
				return nil, cfgErr(p+".vlan", "%d out of range 0..%d", n.VLAN, MaxVLAN)
			}
			if seenVLAN[n.VLAN] {
				return nil, cfgErr(p+".vlan", "VLAN %d already has a VNI", n.VLAN)
			}
			seenVLAN[n.VLAN] = true
			vc := vniCfg{bridge: b.Name, vlan: n.VLAN, vni: n.VNI}
			nn := VNI{VNI: n.VNI, VLAN: n.VLAN}
			if len(n.Remotes) > maxRemotes {
				return nil, cfgErr(p+".remotes", "more than %d remote VTEPs", maxRemotes)
			}
			for ri, r := range n.Remotes {
				ra, err := netip.ParseAddr(r)
				if err != nil {
					return nil, cfgErr(fmt.Sprintf("%s.remotes[%d]", p, ri), "%v", err)
				}
				ra = ra.Unmap()
				switch {
				case ra.Is4() != v.vtep.Is4():
					return nil, cfgErr(fmt.Sprintf("%s.remotes[%d]", p, ri), "%s is not of the VTEP's address family", ra)
				case ra == v.vtep:
					return nil, cfgErr(fmt.Sprintf("%s.remotes[%d]", p, ri), "%s is the local VTEP", ra)
				case !ra.IsGlobalUnicast() || ra.Zone() != "":
					return nil, cfgErr(fmt.Sprintf("%s.remotes[%d]", p, ri), "%s is not a unicast address", ra)
				case slices.Contains(vc.remotes, ra):
					return nil, cfgErr(fmt.Sprintf("%s.remotes[%d]", p, ri), "%s listed twice", ra)
				}
				vc.remotes = append(vc.remotes, ra)
				nn.Remotes = append(nn.Remotes, ra.String())
			}
			v.vnis = append(v.vnis, vc)
			ob.VXLAN = append(ob.VXLAN, nn)
		}
	}
	return v, nil
}

// tunnelName is the name of the pseudo-port that stands for a remote VTEP
// in a bridge: MACs learned behind the VTEP point to it.
func tunnelName(bridge string, remote netip.Addr) string {
	return "vxlan:" + bridge + ":" + remote.String()
}

// remoteOf reports whether addr is a remote VTEP of the VNI carrying vlan
// in bridge b (as written in b, before normalization).
func remoteOf(b *Bridge, vlan uint16, addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	for _, n := range b.VXLAN {
		if n.VLAN != vlan {
			continue
		}
		for _, r := range n.Remotes {
			if ra, err := netip.ParseAddr(r); err == nil && ra.Unmap() == a.Unmap() {
				return true
			}
		}
	}
	return false
}

package vswitch

import (
	"encoding/binary"
	"net/netip"

	"github.com/vecswitch/vecswitch/vswitch/internal/fib"
)

// The compiled L3 tables, part of tables: router interfaces, VRFs (their
// FIBs are long-lived and updated in place, see l3state.go) and
// adjacencies. A FIB maps a destination to an adjacency ID; the adjacency
// says what to do: deliver locally, resolve the destination (or a gateway)
// on an interface and rewrite, drop, or pick one of several by flow hash.

// routerPort is the port index of the switch's own router in every domain
// that has an interface: its MACs are static entries pointing at it, and
// flooding hands it a copy of ARP and IPv6 frames. No real port gets it.
const routerPort uint16 = 0xFFF // pipeline.MaxPorts - 1

// Adjacency kinds.
const (
	adjNone    uint8 = iota
	adjLocal         // one of our addresses
	adjGlean         // connected subnet: resolve the destination itself
	adjGateway       // resolve the gateway address
	adjDrop          // blackhole
	adjECMP          // pick a member by flow hash
)

type adjEntry struct {
	kind    uint8
	iface   uint16
	via     nbrAddr  // adjGateway
	members []uint32 // adjECMP: adjacency IDs
}

// nbrAddr is an address as two big-endian halves; IPv4 addresses are
// IPv4-mapped (::ffff:a.b.c.d), so one neighbor table serves both.
type nbrAddr struct{ hi, lo uint64 }

func addrKey(a netip.Addr) nbrAddr {
	b := a.As16()
	return nbrAddr{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func v4Key(ip uint32) nbrAddr { return nbrAddr{0, 0xFFFF<<32 | uint64(ip)} }

func (a nbrAddr) addr() netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return netip.AddrFrom16(b).Unmap()
}

type ifaceEntry struct {
	valid  bool
	name   string
	vrf    uint16
	domain uint16
	vlan   uint16
	// mtu is the interface's effective MTU, the one forwarding, IPv4
	// fragmentation and VXLAN encapsulation check against: the smallest
	// of its own (cfgMTU) and those of the ports its frames can leave by
	// (limitMTU); mtuBy names the port that set it below cfgMTU.
	mtu    uint16
	cfgMTU uint16
	mtuBy  string
	mac    [6]byte
	routed bool   // on a routed port (a hidden single-port bridge)
	port   uint16 // that port's index when it is attached and up, else 0
	addr4  []ifAddr4
	addr6  []ifAddr6
	dns    bool // DNS queries to the switch from this interface are punted
	proxy  bool // answers ARP/ND for any address (Interface.ProxyARP)
	// srcs4 and srcs6 (proxy interfaces only) are the prefixes of the
	// routes through the interface: the only sources a packet from it
	// may have (its container's addresses).
	srcs4 []ifAddr4
	srcs6 []ifAddr6
}

// addSource lets a proxy interface's packets come from p.
func (e *ifaceEntry) addSource(p netip.Prefix) {
	if p.Addr().Is4() {
		b := p.Addr().As4()
		a := ifAddr4{ip: binary.BigEndian.Uint32(b[:])}
		if p.Bits() > 0 {
			a.mask = ^uint32(0) << (32 - p.Bits())
		}
		e.srcs4 = append(e.srcs4, a)
		return
	}
	e.srcs6 = append(e.srcs6, ifAddr6{a: addrKey(p.Addr()), bits: p.Bits()})
}

// srcOK4 reports whether a packet from the interface may have source ip:
// any, unless it is a proxy interface, whose packets must come from one
// of its routes' prefixes (strict reverse-path check, Calico's).
func (e *ifaceEntry) srcOK4(ip uint32) bool {
	if !e.proxy {
		return true
	}
	for _, a := range e.srcs4 {
		if ip&a.mask == a.ip&a.mask {
			return true
		}
	}
	return false
}

// srcOK6 is srcOK4 for IPv6.
func (e *ifaceEntry) srcOK6(a nbrAddr) bool {
	if !e.proxy {
		return true
	}
	for _, x := range e.srcs6 {
		if prefixMatch6(x.a, a, x.bits) {
			return true
		}
	}
	return false
}

// portLimit is the MTU port entry p imposes on an interface of its
// domain in VLAN vlan whose own MTU is own, and whether it imposes one.
// It does when l2-output would refuse the interface's full-size packets
// on the port (a frame longer than the port's MaxFrame, or MaxFrame-4
// when the port tags it): a routed packet between the two sizes would
// leave the router only to be dropped there as too big, with no ICMP
// error and no fragmentation. The MTU is then MaxFrame less an Ethernet
// header and an 802.1Q tag: ports report their MTU+18, room for the tag
// l2-output pushes on a trunk (ports.Info.MaxFrame: the daemon's ports,
// AF_XDP's), so this is the port's MTU (a vswitch API user's tap
// without Config.VLAN, which reports MTU+14, is taken as 4 bytes
// smaller than it is, never larger).
func portLimit(p *portEntry, vlan uint16, own int) (int, bool) {
	fits := int(p.maxFrame) - ethHdrLen
	if p.trunk && vlan != p.native {
		fits -= vlanTagLen
	}
	if fits >= own {
		return 0, false
	}
	return int(p.maxFrame) - ethHdrLen - vlanTagLen, true
}

// limitMTU lowers interface e's effective MTU (e.mtu, set to its own,
// e.cfgMTU, before) to the smallest MTU the ports of its domain impose
// (portLimit), as a Linux bridge's MTU follows its smallest port. A
// remote VTEP's pseudo-port carries tunMTU (what the VTEP interface's
// effective MTU leaves an inner packet once encapsulated; 0: not
// counted).
func (t *tables) limitMTU(e *ifaceEntry, tunMTU int) {
	if int(e.domain) >= len(t.domains) || !t.domains[e.domain].valid {
		return
	}
	for _, p := range t.domains[e.domain].flood {
		if p == routerPort {
			continue
		}
		pe := &t.ports[p]
		if !pe.up {
			continue
		}
		mtu, ok := tunMTU, tunMTU > 0
		if pe.tunnel == 0 {
			mtu, ok = portLimit(pe, e.vlan, int(e.cfgMTU))
		}
		if mtu = max(mtu, MinMTU4); ok && mtu < int(e.mtu) {
			e.mtu, e.mtuBy = uint16(mtu), pe.name
		}
	}
}

type ifAddr4 struct {
	ip, mask uint32
}

type ifAddr6 struct {
	a    nbrAddr
	bits int
}

type vrfEntry struct {
	valid bool
	name  string
	fib4  *fib.Table4
	fib6  *fib.Table6
}

// has4 reports whether ip is one of the interface's IPv4 addresses.
func (e *ifaceEntry) has4(ip uint32) bool {
	for _, a := range e.addr4 {
		if a.ip == ip {
			return true
		}
	}
	return false
}

// src4 is the interface address to send from toward dst: the one whose
// subnet holds dst, else the first; 0 when the interface has none.
func (e *ifaceEntry) src4(dst uint32) uint32 {
	for _, a := range e.addr4 {
		if a.ip&a.mask == dst&a.mask {
			return a.ip
		}
	}
	if len(e.addr4) > 0 {
		return e.addr4[0].ip
	}
	if e.proxy {
		return proxyGW4
	}
	return 0
}

// proxyAnswers reports whether a proxy-ARP interface answers a request
// from spa for tpa: any target but the sender's own, never a probe (a
// sender of 0.0.0.0 checking that its address is free).
func (e *ifaceEntry) proxyAnswers(spa, tpa uint32) bool {
	return e.proxy && spa != 0 && tpa != 0 && tpa != spa
}

// proxyAnswers6 is proxyAnswers for a neighbor solicitation from src for
// target (never duplicate address detection, whose source is ::).
func (e *ifaceEntry) proxyAnswers6(src, target nbrAddr) bool {
	return e.proxy && src != (nbrAddr{}) && target != src
}

// onLink4 reports whether ip is in one of the interface's IPv4 subnets.
func (e *ifaceEntry) onLink4(ip uint32) bool {
	for _, a := range e.addr4 {
		if a.ip&a.mask == ip&a.mask {
			return true
		}
	}
	return false
}

// has6 reports whether a is one of the interface's IPv6 addresses; a
// proxy-ARP interface also has its link-local gateway, fe80::1, to which
// its container sends neighbor advertisements and echo requests.
func (e *ifaceEntry) has6(a nbrAddr) bool {
	if e.proxy && a == proxyGW6 {
		return true
	}
	for _, x := range e.addr6 {
		if x.a == a {
			return true
		}
	}
	return false
}

// src6 is the interface address to send from toward dst.
func (e *ifaceEntry) src6(dst nbrAddr) (nbrAddr, bool) {
	for _, x := range e.addr6 {
		if prefixMatch6(x.a, dst, x.bits) {
			return x.a, true
		}
	}
	if len(e.addr6) > 0 {
		return e.addr6[0].a, true
	}
	if e.proxy {
		return proxyGW6, true
	}
	return nbrAddr{}, false
}

// onLink6 reports whether a is link-local or in one of the interface's
// IPv6 subnets.
func (e *ifaceEntry) onLink6(a nbrAddr) bool {
	if a.hi>>54 == 0xFE80>>6 {
		return true
	}
	for _, x := range e.addr6 {
		if prefixMatch6(x.a, a, x.bits) {
			return true
		}
	}
	return false
}

func prefixMatch6(p, a nbrAddr, bits int) bool {
	switch {
	case bits == 0:
		return true
	case bits <= 64:
		sh := uint(64 - bits)
		return p.hi>>sh == a.hi>>sh
	case bits == 128:
		return p == a
	default:
		sh := uint(128 - bits)
		return p.hi == a.hi && p.lo>>sh == a.lo>>sh
	}
}

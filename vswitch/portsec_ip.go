package vswitch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vecswitch/vecswitch/pipeline"
)

// Port security above L2: the IP source guard and the RA guard of a port
// with port security (Port.MACs bound), which l2-input applies after the
// source MAC check, so that the fused l2-fwd and the node-by-node path
// see the same frames.
//
//   - Link-layer claims (on every port with port security): an ARP
//     packet's sender MAC, and the source and target link-layer address
//     options of router solicitations and neighbor solicitations and
//     advertisements, must be one of the port's MACs (arp-not-allowed,
//     nd-not-allowed).
//   - IP source guard (when the port has addresses: Port.IPs, which the
//     control plane knows, and Port.AllowedIPs): an IPv4 or IPv6 source,
//     an ARP sender address and a neighbor advertisement's target must be
//     one of them (src-ip-not-allowed, arp-not-allowed, nd-not-allowed).
//     Always allowed: the unspecified source (0.0.0.0: DHCP, ARP probes;
//     ::, duplicate address detection) and IPv6 link-local sources and
//     targets (fe80::/10, any interface ID: stable-privacy and random
//     link-local addresses are common, and link-local traffic never
//     leaves the link; the link-layer claims above bind them to the port's
//     MACs anyway). A port with port security and no addresses has no IP
//     source guard (MAC port security only), as before.
//   - RA guard (unless Port.RAGuard is false): IPv6 router advertisements
//     and redirects are dropped (ra-guard): a container is not a router.
//     The IPv6 extension headers before the ICMPv6 header are walked
//     (RFC 7113); a first fragment or unfragmented packet whose header
//     chain does not end within the frame, or runs longer than
//     maxIP6ExtHeaders, is dropped too, since it could hide one.
//
// Per packet it is a few compares: no allocation, no map, a loop over
// at most MaxPortIPs prefixes of the packet's family.

// MaxPortIPs is the most addresses and prefixes (Port.IPs and
// Port.AllowedIPs together) a port's IP source guard holds.
const MaxPortIPs = 16

// maxIP6ExtHeaders is the most IPv6 extension headers the RA guard walks
// before the upper-layer header.
const maxIP6ExtHeaders = 8

// ICMPv6 types the guard looks at.
const (
	icmp6RouterSolicit = 133
	icmp6RouterAdvert  = 134
	icmp6NeighSolicit  = 135
	icmp6NeighAdvert   = 136
	icmp6Redirect      = 137
)

type prefix4 struct{ net, mask uint32 }

type prefix6 struct{ hi, lo, mhi, mlo uint64 }

// portGuard is the compiled guard of one port with port security.
type portGuard struct {
	ip     bool  // the IP source guard is on: the port has addresses
	ra     bool  // the RA guard is on
	n4, n6 uint8 // prefixes in p4, p6
	p4     [MaxPortIPs]prefix4
	p6     [MaxPortIPs]prefix6
}

// portGuards are the guards of all ports, by port index (nil: none). The
// control plane publishes a new one (learner.guards) with each new
// tables, just before them.
type portGuards struct {
	ports [pipeline.MaxPorts]*portGuard
}

// port returns the guard of port index p (nil if it has none).
func (g *portGuards) port(p uint16) *portGuard { return g.ports[p&(pipeline.MaxPorts-1)] }

// compileGuards makes the guards of the attached ports of cfg (normalized)
// that have port security.
func compileGuards(cfg *Config, attached map[string]attachedPort) *portGuards {
	g := new(portGuards)
	for _, b := range cfg.Bridges {
		for i := range b.Ports {
			p := &b.Ports[i]
			ap, ok := attached[p.Name]
			if !ok || len(p.boundMACs()) == 0 {
				continue
			}
			pg := &portGuard{ra: p.RAGuard == nil}
			for _, s := range p.IPs {
				if a, err := parseHostAddr(s); err == nil {
					pg.add(netip.PrefixFrom(a, a.BitLen()))
				}
			}
			for _, s := range p.AllowedIPs {
				if pf, err := parseAllowedIP(s); err == nil {
					pg.add(pf)
				}
			}
			pg.ip = pg.n4+pg.n6 > 0
			g.ports[ap.idx&(pipeline.MaxPorts-1)] = pg
		}
	}
	return g
}

// add puts a (normalized, masked) prefix in the guard, if there is room.
func (pg *portGuard) add(pf netip.Prefix) {
	if pf.Addr().Is4() {
		if int(pg.n4) < MaxPortIPs {
			a := pf.Addr().As4()
			// A shift by the width is 0 in Go: /0 masks nothing.
			pg.p4[pg.n4] = prefix4{binary.BigEndian.Uint32(a[:]), ^uint32(0) << (32 - pf.Bits())}
			pg.n4++
		}
		return
	}
	if int(pg.n6) < MaxPortIPs {
		a := pf.Addr().As16()
		mhi, mlo := ^uint64(0)<<(64-min(pf.Bits(), 64)), ^uint64(0)<<(128-max(pf.Bits(), 64))
		pg.p6[pg.n6] = prefix6{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]), mhi, mlo}
		pg.n6++
	}
}

// ok4 reports whether IPv4 address a is in one of the guard's prefixes.
func (pg *portGuard) ok4(a uint32) bool {
	for _, p := range pg.p4[:pg.n4] {
		if a&p.mask == p.net {
			return true
		}
	}
	return false
}

// ok6 reports whether IPv6 address hi:lo may be claimed by the port: the
// unspecified address, a link-local one, or one in the guard's prefixes.
func (pg *portGuard) ok6(hi, lo uint64) bool {
	if hi == 0 && lo == 0 || hi>>54 == 0xFE80>>6 {
		return true
	}
	for _, p := range pg.p6[:pg.n6] {
		if hi&p.mhi == p.hi && lo&p.mlo == p.lo {
			return true
		}
	}
	return false
}

// boundMAC reports whether mac is one of the port's MACs.
func (p *portEntry) boundMAC(mac uint64) bool { return mac == p.secMAC || p.boundMore(mac) }

// check returns the l2-input drop reason for untagged frame pkt from port
// pe (which has port security) under guard pg, or -1 to let it pass. A
// nil guard (the port's first tables are published, its guard not yet)
// passes everything.
func (pg *portGuard) check(pe *portEntry, pkt []byte) int {
	if pg == nil {
		return -1
	}
	l3 := pkt[ethHdrLen:]
	switch uint16(pkt[12])<<8 | uint16(pkt[13]) {
	case etherTypeIPv4:
		if !pg.ip {
			return -1
		}
		if len(l3) < 20 {
			return inDropSrcIPNotAllowed
		}
		if src := binary.BigEndian.Uint32(l3[12:16]); src != 0 && !pg.ok4(src) {
			return inDropSrcIPNotAllowed
		}
	case etherTypeARP:
		// Ethernet, IPv4, 6- and 4-byte addresses: the only ARP a
		// station on a bridge sends.
		if len(l3) < 28 || binary.BigEndian.Uint32(l3[0:4]) != 1<<16|etherTypeIPv4 || l3[4] != 6 || l3[5] != 4 {
			return inDropARPNotAllowed
		}
		if !pe.boundMAC(mac48(l3[8:14])) {
			return inDropARPNotAllowed
		}
		if spa := binary.BigEndian.Uint32(l3[14:18]); pg.ip && spa != 0 && !pg.ok4(spa) {
			return inDropARPNotAllowed
		}
	case etherTypeIPv6:
		return pg.check6(pe, l3)
	}
	return -1
}

// check6 is check for IPv6 packet l3.
func (pg *portGuard) check6(pe *portEntry, l3 []byte) int {
	if len(l3) < 40 {
		if pg.ip {
			return inDropSrcIPNotAllowed
		}
		return -1
	}
	if pg.ip && !pg.ok6(binary.BigEndian.Uint64(l3[8:16]), binary.BigEndian.Uint64(l3[16:24])) {
		return inDropSrcIPNotAllowed
	}
	// The packet ends at its payload length (the frame may be padded).
	end := min(40+int(binary.BigEndian.Uint16(l3[4:6])), len(l3))
	nh, off := l3[6], 40
	for range maxIP6ExtHeaders + 1 {
		switch nh {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if off+8 > end {
				return pg.hidden()
			}
			nh, off = l3[off], off+(int(l3[off+1])+1)*8
			continue
		case 51: // authentication header
			if off+8 > end {
				return pg.hidden()
			}
			nh, off = l3[off], off+(int(l3[off+1])+2)*4
			continue
		case 44: // fragment
			if off+8 > end {
				return pg.hidden()
			}
			if binary.BigEndian.Uint16(l3[off+2:off+4])&^7 != 0 {
				return -1 // a later fragment: no upper-layer header here
			}
			nh, off = l3[off], off+8
			continue
		case 58: // ICMPv6
			return pg.checkICMP6(pe, l3[:end], off)
		}
		return -1 // another upper-layer protocol
	}
	return pg.hidden()
}

// hidden is check6's verdict on a header chain it could not walk to its
// end: dropped by the RA guard, which cannot tell it is no router
// advertisement.
func (pg *portGuard) hidden() int {
	if pg.ra {
		return inDropRAGuard
	}
	return -1
}

// checkICMP6 checks the ICMPv6 message at off of IPv6 packet l3 (cut at
// its end).
func (pg *portGuard) checkICMP6(pe *portEntry, l3 []byte, off int) int {
	if off+4 > len(l3) {
		return pg.hidden()
	}
	opts := off + 8 // a router solicitation's options
	switch l3[off] {
	case icmp6RouterAdvert, icmp6Redirect:
		if pg.ra {
			return inDropRAGuard
		}
		return -1
	case icmp6RouterSolicit:
	case icmp6NeighAdvert:
		// The target is the address the advertisement claims.
		if off+24 > len(l3) {
			return inDropNDNotAllowed
		}
		if pg.ip && !pg.ok6(binary.BigEndian.Uint64(l3[off+8:]), binary.BigEndian.Uint64(l3[off+16:])) ||
			binary.BigEndian.Uint64(l3[off+8:])|binary.BigEndian.Uint64(l3[off+16:]) == 0 {
			return inDropNDNotAllowed
		}
		opts = off + 24
	case icmp6NeighSolicit:
		opts = off + 24
	default:
		return -1
	}
	// Source and target link-layer address options: the port's MACs.
	for o := opts; o+2 <= len(l3); {
		n := int(l3[o+1]) * 8
		if n == 0 || o+n > len(l3) {
			return inDropNDNotAllowed // malformed: receivers discard it too
		}
		if t := l3[o]; t == 1 || t == 2 {
			if n != 8 || !pe.boundMAC(mac48(l3[o+2:o+8])) {
				return inDropNDNotAllowed
			}
		}
		o += n
	}
	return -1
}

// parseHostAddr parses one of Port.IPs: an address, or an address with
// its subnet's prefix length ("10.0.0.5/24": the address counts).
func parseHostAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		p, perr := netip.ParsePrefix(s)
		if perr != nil {
			return netip.Addr{}, err
		}
		a = p.Addr()
	}
	if a.Zone() != "" {
		return netip.Addr{}, errors.New("an address with a zone")
	}
	return a.Unmap(), nil
}

// parseAllowedIP parses one of Port.AllowedIPs: an address (a host
// prefix) or a prefix without host bits.
func parseAllowedIP(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("an address with a zone")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, errors.New("an IPv4-mapped IPv6 prefix: give the IPv4 prefix")
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("host bits set: give %s, or the address %s alone", p.Masked(), p.Addr())
	}
	return p, nil
}

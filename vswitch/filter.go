package vswitch

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// FilterKeys are the keys ParseFilter understands.
var FilterKeys = []string{"mac", "ip", "proto", "port"}

// ParseFilter builds the packet filter of a trace or capture from
// key=value options: mac= (source or destination), ip= (source or
// destination, IPv4 or IPv6, also an ARP sender or target), proto=
// (arp, ipv4, ipv6, icmp, icmp6, tcp, udp or a number), port= (TCP or UDP
// source or destination). All given must match; none matches everything
// (nil). The filter reads past an outer VLAN tag and not past IPv6
// extension headers.
func ParseFilter(opts map[string]string) (func(pkt []byte) bool, error) {
	var f pktFilter
	any := false
	for k, v := range opts {
		any = true
		switch k {
		case "mac":
			m, err := parseMAC(v)
			if err != nil {
				return nil, fmt.Errorf("mac=%s: %v", v, err)
			}
			f.mac, f.hasMAC = m, true
		case "ip":
			a, err := netip.ParseAddr(v)
			if err != nil {
				return nil, fmt.Errorf("ip=%s: %v", v, err)
			}
			f.ip = a.Unmap()
		case "proto":
			p, ok := protoNames[strings.ToLower(v)]
			if !ok {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || n > 255 {
					return nil, fmt.Errorf("proto=%s: want arp, ipv4, ipv6, icmp, icmp6, tcp, udp or 0-255", v)
				}
				p = protoSel{l4: n}
			}
			f.proto = &p
		case "port":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 65535 {
				return nil, fmt.Errorf("port=%s: want 0-65535", v)
			}
			f.port = n
			f.hasPort = true
		default:
			return nil, fmt.Errorf("unknown filter %q (want %s)", k, strings.Join(FilterKeys, ", "))
		}
	}
	if !any {
		return nil, nil
	}
	return f.match, nil
}

type protoSel struct {
	etherType uint16 // 0: any
	l4        int    // -1: any
}

var protoNames = map[string]protoSel{
	"arp": {etherTypeARP, -1}, "ipv4": {etherTypeIPv4, -1}, "ipv6": {etherTypeIPv6, -1},
	"icmp": {etherTypeIPv4, 1}, "icmp6": {etherTypeIPv6, 58}, "tcp": {0, 6}, "udp": {0, 17},
}

type pktFilter struct {
	mac     uint64
	hasMAC  bool
	ip      netip.Addr
	proto   *protoSel
	port    int
	hasPort bool
}

func (f *pktFilter) match(pkt []byte) bool {
	if len(pkt) < ethHdrLen {
		return false
	}
	if f.hasMAC && mac48(pkt[0:6]) != f.mac && mac48(pkt[6:12]) != f.mac {
		return false
	}
	et, off := uint16(pkt[12])<<8|uint16(pkt[13]), ethHdrLen
	if isVLANType(et) && len(pkt) >= ethHdrLen+vlanTagLen {
		et, off = uint16(pkt[16])<<8|uint16(pkt[17]), ethHdrLen+vlanTagLen
	}
	l3 := pkt[off:]
	var src, dst netip.Addr
	l4 := -1
	var l4b []byte
	switch {
	case et == etherTypeIPv4 && len(l3) >= 20:
		src, dst = netip.AddrFrom4([4]byte(l3[12:16])), netip.AddrFrom4([4]byte(l3[16:20]))
		l4 = int(l3[9])
		if hl := int(l3[0]&0xF) * 4; hl >= 20 && len(l3) >= hl {
			l4b = l3[hl:]
		}
	case et == etherTypeIPv6 && len(l3) >= 40:
		src, dst = netip.AddrFrom16([16]byte(l3[8:24])), netip.AddrFrom16([16]byte(l3[24:40]))
		l4, l4b = int(l3[6]), l3[40:]
	case et == etherTypeARP && len(l3) >= 28:
		src, dst = netip.AddrFrom4([4]byte(l3[14:18])), netip.AddrFrom4([4]byte(l3[24:28]))
	}
	if f.ip.IsValid() && src != f.ip && dst != f.ip {
		return false
	}
	if p := f.proto; p != nil {
		if p.etherType != 0 && p.etherType != et || p.l4 >= 0 && p.l4 != l4 || p.etherType == 0 && l4 < 0 {
			return false
		}
	}
	if f.hasPort {
		if l4 != 6 && l4 != 17 || len(l4b) < 4 {
			return false
		}
		sp, dp := int(l4b[0])<<8|int(l4b[1]), int(l4b[2])<<8|int(l4b[3])
		if sp != f.port && dp != f.port {
			return false
		}
	}
	return true
}

package vswitch

import (
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// ip6-icmp-error is ip4-icmp-error for IPv6: hop limit exceeded, packet too
// big (with the MTU), no route and address unreachable, built in place in
// front of the quoted original (up to 1280 bytes in all), from the ingress
// interface's address, rate-limited per worker, never about ICMPv6 errors
// or from non-unicast sources (RFC 4443 2.4(e)), through nat when NAT is
// configured (as ip4-icmp-error's).
func ip6ErrorSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeIP6Error,
		Next:  []string{nodeIP6Forward, nodeNAT},
		Drops: icmpErrorDrops(),
		New:   func(pipeline.NodeContext) pipeline.Node { return &ip6Error{s: s} },
	}
}

type ip6Error struct {
	s   *Switch
	lim proto.Limiter
}

var icmp6Codes = [numErrs][2]uint8{
	errTTL:     {proto.ICMP6TimeExceeded, proto.ICMP6CodeHopLimit},
	errTooBig:  {proto.ICMP6PacketTooBig, 0},
	errNoRoute: {proto.ICMP6DestUnreach, proto.ICMP6CodeNoRoute},
	errAddr:    {proto.ICMP6DestUnreach, proto.ICMP6CodeAddr},
}

func (n *ip6Error) Process(f *pipeline.Frame) {
	t := n.s.tables.Load()
	next := errorNext(n.s)
	meta, mem := f.Pool.Arrays()
	for i, id := range f.IDs {
		m := &meta[id]
		e := errOf(m)
		if e == errNone || e >= numErrs {
			f.Drop(i, 0)
			continue
		}
		ip := pipeline.PacketAt(mem, id, m)[ethHdrLen:]
		c := icmp6Codes[e]
		if !proto.ICMP6ErrorAllowed(ip, c[0], c[1]) || int(m.Off) < ethHdrLen+proto.ICMP6ErrorHeadroom {
			f.Drop(i, icmpDropSuppressed)
			continue
		}
		var src nbrAddr
		ok := false
		if int(m.Iface) < len(t.ifaces) {
			shi, slo := proto.Src6(ip)
			src, ok = t.ifaces[m.Iface].src6(nbrAddr{shi, slo})
		}
		if !ok {
			f.Drop(i, icmpDropNoSource)
			continue
		}
		if !n.lim.Allow(n.s.opts.Clock().UnixNano()) {
			f.Drop(i, icmpDropRateLimited)
			continue
		}
		f.CountDrop(e, 1)
		frame := pipeline.FrameAt(mem, id)
		ipAt := int(m.Off) + ethHdrLen - proto.ICMP6ErrorHeadroom
		l := proto.BuildICMP6Error(frame[ipAt:], ip, c[0], c[1], m.Aux, src.hi, src.lo)
		m.Off -= uint16(proto.ICMP6ErrorHeadroom)
		m.Len = uint16(ethHdrLen + l)
		hdr := frame[ipAt-ethHdrLen : ipAt]
		hdr[12], hdr[13] = 0x86, 0xDD
		m.Flags = m.Flags&pipeline.FlagTraced | flagLocal
		f.Next[i] = next
	}
}

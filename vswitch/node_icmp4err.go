package vswitch

import (
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// ip4-icmp-error turns a packet the forwarding node could not deliver into
// the ICMP error about it (time exceeded, fragmentation needed with the
// MTU, network or host unreachable), in place: the error's headers are
// written into the headroom in front of the quoted original, so no buffer
// is allocated and nothing is copied but the quote's 576-byte cap. The
// error leaves from the ingress interface's address and goes back through
// ip4-forward. The original is counted under its cause. Errors are not sent
// about ICMP errors, fragments after the first, or packets from
// non-unicast sources (RFC 1812 4.3.2.7), nor beyond a per-worker token
// bucket (rate-limited); those are counted too.
//
// With NAT configured the error goes through the nat node first: the
// router translates before it routes, so the packet an error is about
// is already translated, and nat translates the error back (its quote to
// the packet as the sender sent it, its destination to the sender), as
// Linux's NAT does with the errors its router sends.
const (
	icmpNextForward = iota
	icmpNextNAT
)

const (
	icmpDropSuppressed = numErrs + iota
	icmpDropRateLimited
	icmpDropNoSource
)

func icmpErrorDrops() []string {
	d := append([]string{"unknown-error"}, errNames[1:]...)
	return append(d, "icmp-suppressed", "icmp-rate-limited", "icmp-no-source-address")
}

func ip4ErrorSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeIP4Error,
		Next:  []string{nodeIP4Forward, nodeNAT},
		Drops: icmpErrorDrops(),
		New:   func(pipeline.NodeContext) pipeline.Node { return &ip4Error{s: s} },
	}
}

type ip4Error struct {
	s   *Switch
	lim proto.Limiter
}

// icmp4Codes maps an error to its ICMP type and code.
var icmp4Codes = [numErrs][2]uint8{
	errTTL:     {proto.ICMP4TimeExceeded, proto.ICMP4CodeTTL},
	errTooBig:  {proto.ICMP4DestUnreach, proto.ICMP4CodeFragNeed},
	errNoRoute: {proto.ICMP4DestUnreach, proto.ICMP4CodeNet},
	errAddr:    {proto.ICMP4DestUnreach, proto.ICMP4CodeHost},
}

func (n *ip4Error) Process(f *pipeline.Frame) {
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
		pkt := pipeline.PacketAt(mem, id, m)
		ip := pkt[ethHdrLen:]
		if !proto.ICMP4ErrorAllowed(ip) || int(m.Off) < ethHdrLen+proto.ICMP4ErrorHeadroom {
			f.Drop(i, icmpDropSuppressed)
			continue
		}
		var src uint32
		if int(m.Iface) < len(t.ifaces) {
			src = t.ifaces[m.Iface].src4(proto.Src4(ip))
		}
		if src == 0 {
			f.Drop(i, icmpDropNoSource)
			continue
		}
		if !n.lim.Allow(n.s.opts.Clock().UnixNano()) {
			f.Drop(i, icmpDropRateLimited)
			continue
		}
		f.CountDrop(e, 1)
		// The error starts ICMP4ErrorHeadroom bytes before the original's
		// IP header, its Ethernet header before that.
		frame := pipeline.FrameAt(mem, id)
		ipAt := int(m.Off) + ethHdrLen - proto.ICMP4ErrorHeadroom
		c := icmp4Codes[e]
		l := proto.BuildICMP4Error(frame[ipAt:], ip, c[0], c[1], m.Aux, src)
		m.Off -= uint16(proto.ICMP4ErrorHeadroom)
		m.Len = uint16(ethHdrLen + l)
		hdr := frame[ipAt-ethHdrLen : ipAt]
		hdr[12], hdr[13] = 0x08, 0x00
		m.Flags = m.Flags&pipeline.FlagTraced | flagLocal
		f.Next[i] = next
	}
}

// errorNext is where the error nodes send the errors they build: to nat
// when NAT is configured (it translates errors about translated
// packets back), else straight to the forward node.
func errorNext(s *Switch) uint16 {
	if s.nat.Load() != nil {
		return icmpNextNAT
	}
	return icmpNextForward
}

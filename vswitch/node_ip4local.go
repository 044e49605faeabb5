package vswitch

import (
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// ip4-local takes IPv4 packets addressed to one of the switch's own
// addresses. It answers ICMP echo requests in place (addresses swapped,
// type 0, TTL 64, checksums updated) and sends the reply through
// ip4-forward, and hands UDP to the VTEP's port to vxlan-decap;
// everything else is counted and dropped (the switch runs no other IPv4
// service of its own).
const (
	localNextForward = iota
	localNextDecap
	localNextPunt
)

const (
	local4DropNotEcho = uint16(proto.NumReasons) + iota
	local4DropFragment
)

func ip4LocalSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeIP4Local,
		Next:  []string{nodeIP4Forward, nodeVXLANDecap, nodeDNSPunt},
		Drops: checkDrops("not-echo-request", "fragment"),
		New:   func(pipeline.NodeContext) pipeline.Node { return &ip4Local{s: s} },
	}
}

type ip4Local struct{ s *Switch }

func (n *ip4Local) Process(f *pipeline.Frame) {
	t := n.s.tables.Load()
	vt := t.vtep
	meta, mem := f.Pool.Arrays()
	for i, id := range f.IDs {
		m := &meta[id]
		ip := pipeline.PacketAt(mem, id, m)[ethHdrLen:]
		hl := proto.HeaderLen4(ip) // checked by ip4-forward
		if proto.IsFragment4(ip) {
			f.Drop(i, local4DropFragment)
			continue
		}
		if p := proto.Proto4(ip); p == proto.ProtoUDP && vt != nil && !vt.is6 && len(ip) >= hl+4 &&
			uint16(ip[hl+2])<<8|uint16(ip[hl+3]) == vt.port {
			f.Next[i] = localNextDecap
			continue
		}
		if p := proto.Proto4(ip); (p == proto.ProtoUDP || p == proto.ProtoTCP) && len(ip) >= hl+4 && uint16(ip[hl+2])<<8|uint16(ip[hl+3]) == dnsPort &&
			int(m.Iface) < len(t.ifaces) && t.ifaces[m.Iface].dns && m.Flags&flagLocal == 0 {
			f.Next[i] = localNextPunt
			continue
		}
		if proto.Proto4(ip) != proto.ProtoICMP {
			f.Drop(i, local4DropNotEcho)
			continue
		}
		if r := proto.CheckICMP4(ip, hl); r != proto.OK {
			f.Drop(i, uint16(r))
			continue
		}
		if proto.ICMP4Type(ip, hl) != proto.ICMP4Echo {
			f.Drop(i, local4DropNotEcho)
			continue
		}
		proto.Echo4ReplyInPlace(ip)
		m.Flags = m.Flags&pipeline.FlagTraced | flagLocal
		f.Next[i] = localNextForward
	}
}

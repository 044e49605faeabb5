package vswitch

import "github.com/vecswitch/vecswitch/pipeline"

// dns-punt takes UDP queries to port 53 of the switch's addresses that
// ip4-local and ip6-local found coming from an interface that answers
// DNS, copies each IP packet onto the worker's punt ring and frees its
// buffer; dns-reply takes the resolver's answers from the worker's inject
// ring and routes them (dnspunt.go has the whole path).
const (
	nodeDNSPunt  = "dns-punt"
	nodeDNSReply = "dns-reply"
)

const (
	puntDropFull = iota
	puntDropChained
)

func dnsPuntSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeDNSPunt,
		Drops: []string{"punt-queue-full", "chained"},
		New: func(ctx pipeline.NodeContext) pipeline.Node {
			return &dnsPuntNode{s: s, wid: ctx.Worker}
		},
	}
}

type dnsPuntNode struct {
	s      *Switch
	wid    int
	punted uint64
}

func (n *dnsPuntNode) Process(f *pipeline.Frame) {
	r := n.s.dns.punt[n.wid]
	meta, mem := f.Pool.Arrays()
	took := false
	for i, id := range f.IDs {
		m := &meta[id]
		if m.Next != 0 {
			f.Drop(i, puntDropChained)
			continue
		}
		if !r.put(pipeline.PacketAt(mem, id, m)[ethHdrLen:], m.Iface) {
			f.Drop(i, puntDropFull)
			continue
		}
		f.Pool.Free(id)
		f.Next[i] = pipeline.NextTaken
		n.punted++
		took = true
	}
	if took {
		n.s.dns.punted[n.wid].Store(n.punted)
		n.s.wake.kick()
	}
}

const (
	replyNextIP4 = iota
	replyNextIP6
)

func dnsReplySpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name: nodeDNSReply,
		Next: []string{nodeIP4Forward, nodeIP6Forward},
		New:  func(pipeline.NodeContext) pipeline.Node { return &dnsReplyNode{} },
	}
}

type dnsReplyNode struct{}

func (n *dnsReplyNode) Process(f *pipeline.Frame) {
	meta, mem := f.Pool.Arrays()
	for i, id := range f.IDs {
		m := &meta[id]
		m.Flags |= flagLocal
		f.Next[i] = replyNextIP4
		if pkt := pipeline.PacketAt(mem, id, m); pkt[12] == 0x86 {
			f.Next[i] = replyNextIP6
		}
	}
}

package vswitch

import "github.com/vecswitch/vecswitch/pipeline"

// l2-fwd learns and forwards. For each frame it looks up the source MAC in
// its domain: a known source on the same port gets its timestamp refreshed
// (at most once a second, by CAS); an unknown or moved source becomes a
// learn event for the learner; a source bound to another port by port
// security is dropped (src-mac-bound-elsewhere), so it never moves. Then it looks up the destination: a known
// unicast MAC sets Meta.OutPort and goes to l2-output; broadcast, multicast
// and unknown unicast go to l2-flood. A frame whose destination sits behind
// its own ingress port is dropped (it has already reached its segment).
//
// Learning and forwarding share one node (VPP has l2-learn and l2-fwd)
// because both lookups hash the same way and, done together, one pass that
// touches every bucket of the vector first lets the CPU overlap all their
// cache misses before the lookups run.
//
// Known unicast that l2-output would only stage for tx (an access or
// native-VLAN frame to an up, non-tunnel port it fits, no offload work)
// is staged here: l2-output is fused into this node for the common case
// (issue 24), and sees only the frames it has work for (tags, tunnels,
// GSO, drops) and traced ones, so traces still show every node. Drops
// keep their node and reason; l2-output's vector counts no longer include
// the fused frames (TestL2FusedMatchesNodes compares the two paths).
//
// A destination that is a router interface's MAC (a static entry on
// routerPort) goes to ip4-forward, ip6-forward or arp-input by EtherType,
// with Meta.Iface set to the domain's interface.
const (
	fwdNextOutput = iota
	fwdNextFlood
	fwdNextIP4
	fwdNextIP6
	fwdNextARP
	fwdNextGSO
	fwdNextSG  // sg-policy: a port of the two is in a security group
	fwdNextNAT // nat: IP to the router while NAT is configured
)

const (
	fwdDropSamePort = iota
	fwdDropL3Type
	fwdDropSrcBound
)

// touchMinBuckets is the table size (512 KiB, about the L2 cache) from which
// touching buckets ahead of the lookups pays.
const touchMinBuckets = 1 << 13

func l2FwdSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeL2Fwd,
		Next:  []string{nodeL2Output, nodeL2Flood, nodeIP4Forward, nodeIP6Forward, nodeARPInput, nodeGSO, nodeSGPolicy, nodeNAT},
		Drops: []string{"dst-on-ingress-port", "l3-unsupported-ethertype", "src-mac-bound-elsewhere"},
		New: func(ctx pipeline.NodeContext) pipeline.Node {
			return &l2Fwd{s: s, ring: s.lrn.rings[ctx.Worker]}
		},
	}
}

type l2Fwd struct {
	s          *Switch
	ring       *learnRing
	src, dst   [pipeline.VectorSize]uint64 // lookup keys
	bsrc, bdst [pipeline.VectorSize]uint64 // their first buckets
	sink       uint64
}

func (n *l2Fwd) Process(f *pipeline.Frame) {
	mt := n.s.lrn.macs.Load()
	sg := n.s.sg.Load()
	t := n.s.tables.Load()
	fuse := !n.s.lrn.unfused.Load()
	now := n.s.now.Load() & tsMask
	seqs := n.s.portSeq
	meta, mem := f.Pool.Arrays()
	ids := f.IDs
	src, dst := n.src[:len(ids)], n.dst[:len(ids)]
	bsrc, bdst := n.bsrc[:len(ids)], n.bdst[:len(ids)]
	// Pass 1: keys and their first buckets, each touched at once, so the
	// cache misses of the whole vector are in flight together.
	// Small tables stay in the cache and skip the touches.
	touch := len(mt.b) >= touchMinBuckets
	var sink uint64
	for i, id := range ids {
		m := &meta[id]
		dom := uint64(m.Domain) << 48
		pkt := pipeline.PacketAt(mem, id, m)
		s, d := dom|mac48(pkt[6:12]), dom|mac48(pkt[0:6])
		bs, bd := mt.first(s), mt.first(d)
		src[i], dst[i], bsrc[i], bdst[i] = s, d, bs, bd
		if touch {
			sink += mt.touchAt(bs) + mt.touchAt(bd)
		}
	}
	n.sink = sink
	// Pass 2: lookups (mostly cache hits now) and decisions.
	next := f.Next[:len(ids)]
	for i, id := range ids {
		m := &meta[id]
		in := m.InPort
		// Learn. A static source elsewhere is not moved; a bound one
		// (port security) elsewhere is a forgery, dropped.
		v, ok := mt.getAt(bsrc[i], src[i])
		switch {
		case !ok || valSeq(v) != uint16(seqs[valPort(v)].Load()):
			n.ring.push(learnEvent{src[i], in})
		case valPort(v) == in:
			if valTS(v) != now {
				mt.refresh(src[i], v, withTS(v, now))
			}
		case valBoundOf(v):
			f.Drop(i, fwdDropSrcBound)
			continue
		case !valStaticOf(v):
			n.ring.push(learnEvent{src[i], in})
		}
		// Forward.
		if isGroup(dst[i]) {
			next[i] = fwdNextFlood
			continue
		}
		v, ok = mt.getAt(bdst[i], dst[i])
		if !ok || valSeq(v) != uint16(seqs[valPort(v)].Load()) {
			next[i] = fwdNextFlood
			continue
		}
		if p := valPort(v); p != in {
			m.OutPort = p
			next[i] = fwdNextOutput
			if p == routerPort {
				n.toRouter(f, i)
			} else if sg.filtering(in, p) {
				next[i] = fwdNextSG
			} else if fuse && m.Flags&pipeline.FlagTraced == 0 && plainOutput(t, p, m) {
				if !f.TxFast(p, id) {
					f.Tx(p, id)
				}
				next[i] = pipeline.NextTaken
			}
		} else {
			f.Drop(i, fwdDropSamePort)
		}
	}
	n.ring.publish()
}

// toRouter sends frame i, addressed to a router interface, to L3.
func (n *l2Fwd) toRouter(f *pipeline.Frame, i int) {
	meta, mem := f.Pool.Arrays()
	m := &meta[f.IDs[i]]
	k := routerKindOf(n.s.tables.Load(), m, pipeline.PacketAt(mem, f.IDs[i], m), n.s.nat.Load() != nil)
	if k == rkDrop {
		f.Drop(i, fwdDropL3Type)
		return
	}
	f.Next[i] = fwdRouterNext[k]
}

// routerKind is where a frame addressed to a router interface goes: the
// same for l2-fwd and l2-input's fused pass, whose next indices differ.
type routerKind uint8

const (
	rkIP4 routerKind = iota
	rkIP6
	rkARP
	rkGSO // ARP in a large frame: gso first
	rkNAT // IP while NAT is configured: nat routes it after translating
	rkDrop
)

var fwdRouterNext = [...]uint16{rkIP4: fwdNextIP4, rkIP6: fwdNextIP6, rkARP: fwdNextARP, rkGSO: fwdNextGSO, rkNAT: fwdNextNAT}

// routerKindOf sets m.Iface to the frame's domain's interface and says
// where the frame (bytes pkt) goes; rkDrop for an EtherType L3 does not
// take. nat: NAT is configured.
func routerKindOf(t *tables, m *pipeline.Meta, pkt []byte, nat bool) routerKind {
	if int(m.Domain) < len(t.domains) {
		m.Iface = t.domains[m.Domain].rif
	}
	switch uint16(pkt[12])<<8 | uint16(pkt[13]) {
	case etherTypeIPv4:
		if nat {
			return rkNAT
		}
		return rkIP4
	case etherTypeIPv6:
		if nat {
			return rkNAT
		}
		return rkIP6
	case etherTypeARP:
		// ip4-forward and ip6-forward take large frames; ARP does not.
		if needsGSO(m) {
			m.Aux = gsoNextARP
			return rkGSO
		}
		return rkARP
	}
	return rkDrop
}

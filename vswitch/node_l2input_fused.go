package vswitch

import "github.com/vecswitch/vecswitch/pipeline"

// fusedFwd is l2-fwd fused into the nodes before it, l2-input and
// vxlan-decap (issue 24). The usual frame of a
// bridge (a unicast source on an access or trunk port that is not
// routed) used to cross the vector twice: l2-input read its metadata and
// Ethernet header, set its domain and handed it on; the dispatcher
// regrouped the vector; l2-fwd read the same metadata and header again to
// hash its MACs. Now l2-input takes both MACs while it has the header in
// hand (add), and after its loop run computes the keys' buckets, touches
// them in a large table (so the vector's misses overlap, as in l2-fwd),
// and learns and forwards the frames: known unicast is staged for tx (l2-output's
// plain case, as l2-fwd does) or sent to l2-output, sg-policy or L3;
// flooding goes to l2-flood.
//
// Anything that ends in a drop (a source bound to another port, a
// destination behind the ingress port, an EtherType L3 refuses) is handed
// to l2-fwd untouched, before any learning side effect, so drops keep
// their node and reason; traced frames take l2-fwd too, so traces still
// show every node. vxlan-decap does the same with the inner frames it
// hands on. l2-fwd's vector counters no longer include the fused
// frames (as l2-output's do not include those l2-fwd stages).
// TestL2FusedMatchesNodes compares the fused path with the node-by-node
// one (learner.unfused) on random configurations and traffic,
// TestVXLANFastMatchesNodes the decapsulated frames.
type fusedFwd struct {
	on    bool      // fusing this vector (not learner.unfused)
	mt    *macTable // the table of this vector
	touch bool      // the table is large: touch buckets ahead
	n     int       // frames taken (l2-input fills the arrays below)
	sink  uint64    // keeps the touches

	idx        [pipeline.VectorSize]uint16 // each taken frame's index in the vector
	src, dst   [pipeline.VectorSize]uint64 // lookup keys
	bsrc, bdst [pipeline.VectorSize]uint64 // their first buckets
}

// start begins a vector.
func (fw *fusedFwd) start(s *Switch) {
	fw.n = 0
	fw.on = !s.lrn.unfused.Load()
	if fw.on {
		fw.mt = s.lrn.macs.Load()
		fw.touch = len(fw.mt.b) >= touchMinBuckets
	}
}

// add takes frame i, in learning domain dom, with source and destination
// MACs src and dst. Small enough to inline into the callers' loops.
func (fw *fusedFwd) add(i int, dom uint16, src, dst uint64) {
	k := fw.n & (pipeline.VectorSize - 1)
	d := uint64(dom) << 48
	fw.idx[k], fw.src[k], fw.dst[k] = uint16(i), d|src, d|dst
	fw.n++
}

// fusedNexts are a node's next indices for the fused l2-fwd's outcomes.
type fusedNexts struct {
	flood, output, sg uint16
	router            [rkDrop]uint16 // by routerKind
}

// run learns and forwards the frames taken, as l2-fwd would, setting
// their next from nx; those that l2-fwd would drop keep the next the
// caller gave them (its own hand-off to l2-fwd). nat: NAT is configured.
func (fw *fusedFwd) run(f *pipeline.Frame, s *Switch, t *tables, ring *learnRing, nat bool, nxs *fusedNexts) {
	mt := fw.mt
	n := fw.n
	// The buckets of every key first, in one tight loop (with a large
	// table): the vector's cache misses are then in flight together.
	src, dst := fw.src[:n], fw.dst[:n]
	bsrc, bdst := fw.bsrc[:n], fw.bdst[:n]
	for k := range src {
		bsrc[k], bdst[k] = mt.first(src[k]), mt.first(dst[k])
	}
	if fw.touch {
		var sink uint64
		for k := range bsrc {
			sink += mt.touchAt(bsrc[k]) + mt.touchAt(bdst[k])
		}
		fw.sink = sink
	}
	sg := s.sg.Load()
	now := s.now.Load() & tsMask
	seqs := s.portSeq
	meta, mem := f.Pool.Arrays()
	ids, next := f.IDs, f.Next
	// Loaded once here, not through their pointers after every store of
	// the loop (the compiler cannot tell those stores miss them).
	mb := mt.b
	flood, output, toSG := nxs.flood, nxs.output, nxs.sg
	// The per-frame arrays are read through fw with a byte index (k <
	// VectorSize), not as five slices: no bounds checks, and one register
	// for all of them instead of ten the loop would spill.
	for kk := range n {
		k := uint8(kk)
		i := fw.idx[k]
		id := ids[i]
		m := &meta[id]
		in := m.InPort
		// Learn: decide only; act once the frame is known to stay.
		v, ok := mb[fw.bsrc[k]].get(fw.src[k]) // getAt, inlined by hand
		if !ok {
			v, ok = mt.getSecond(fw.bsrc[k], fw.src[k])
		}
		learn, refresh := false, false
		switch {
		case !ok || valSeq(v) != uint16(seqs[valPort(v)].Load()):
			learn = true
		case valPort(v) == in:
			refresh = valTS(v) != now
		case valBoundOf(v):
			continue // l2-fwd drops it: src-mac-bound-elsewhere
		case !valStaticOf(v):
			learn = true
		}
		// Forward.
		nx := flood
		if !isGroup(fw.dst[k]) {
			d, ok := mb[fw.bdst[k]].get(fw.dst[k])
			if !ok {
				d, ok = mt.getSecond(fw.bdst[k], fw.dst[k])
			}
			if ok && valSeq(d) == uint16(seqs[valPort(d)].Load()) {
				switch p := valPort(d); {
				case p == in:
					continue // l2-fwd drops it: dst-on-ingress-port
				case p == routerPort:
					rk := routerKindOf(t, m, pipeline.PacketAt(mem, id, m), nat)
					if rk == rkDrop {
						continue // l2-fwd drops it: l3-unsupported-ethertype
					}
					m.OutPort = p
					nx = nxs.router[rk]
				default:
					m.OutPort = p
					nx = output
					if sg.filtering(in, p) {
						nx = toSG
					} else if plainOutput(t, p, m) {
						if !f.TxFast(p, id) {
							f.Tx(p, id)
						}
						nx = pipeline.NextTaken
					}
				}
			}
		}
		if learn {
			ring.push(learnEvent{fw.src[k], in})
		} else if refresh {
			mt.refresh(fw.src[k], v, withTS(v, now))
		}
		next[i] = nx
	}
	ring.publish()
}

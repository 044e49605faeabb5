package vswitch

import (
	"encoding/binary"

	"github.com/vecswitch/vecswitch/pipeline"
)

// l2-input parses the Ethernet header, maps (ingress port, VLAN) to a
// learning domain and removes the VLAN tag: inside the switch frames are
// untagged and Meta.VLAN/Meta.Domain say where they belong. Sources that
// must never be learned are dropped here: multicast, all-zero, and a
// source equal to the destination (a forged frame that would move the
// destination's MAC to the sender's port). On a port with port security
// (Port.MACs), any source but the port's own MACs is dropped too
// (src-mac-not-allowed): one compare for the usual single MAC; then the
// port's IP source guard and RA guard (portsec_ip.go) check what the
// frame claims above L2: its IP source, its ARP sender, its neighbor
// discovery link-layer addresses and targets, and router advertisements.
// A priority tag (VID 0) is popped, but never one that wraps another tag:
// popping it would make the inner tag the frame's VLAN (VLAN hopping from
// an access port), so such frames are dropped (tagged-on-access-port on
// an access port, tag-in-priority-tag on a trunk).
//
// On a routed port (an interface directly on the port) every frame for
// the interface's MAC, and every broadcast or multicast, goes straight to
// L3 by EtherType: there is no other port to switch to, so l2-fwd (and
// learning) is skipped.
const (
	inNextFwd = iota
	inNextIP4
	inNextIP6
	inNextARP
	inNextGSO
	inNextNAT    // nat: IP to the router while NAT is configured
	inNextFlood  // the fused l2-fwd: broadcast, multicast, unknown unicast
	inNextOutput // the fused l2-fwd: known unicast l2-output has work for
	inNextSG     // the fused l2-fwd: a port of the two is in a security group
)

const (
	inDropRunt = iota
	inDropNotInBridge
	inDropTaggedOnAccess
	inDropVLANNotAllowed
	inDropSrcGroup
	inDropRoutedOther
	inDropSrcZero
	inDropSrcIsDst
	inDropSrcNotBound
	inDropSpoofedSrc
	inDropTagInPriority
	inDropSrcIPNotAllowed
	inDropARPNotAllowed
	inDropNDNotAllowed
	inDropRAGuard
)

func l2InputSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name: nodeL2Input,
		Next: []string{nodeL2Fwd, nodeIP4Forward, nodeIP6Forward, nodeARPInput, nodeGSO, nodeNAT,
			nodeL2Flood, nodeL2Output, nodeSGPolicy},
		Drops: []string{"runt", "port-not-in-bridge", "tagged-on-access-port", "vlan-not-allowed", "src-mac-multicast",
			"routed-port-not-for-us", "src-mac-zero", "src-mac-is-dst", "src-mac-not-allowed", "spoofed-source",
			"tag-in-priority-tag", "src-ip-not-allowed", "arp-not-allowed", "nd-not-allowed", "ra-guard"},
		New: func(ctx pipeline.NodeContext) pipeline.Node {
			return &l2Input{s: s, ring: s.lrn.rings[ctx.Worker]}
		},
	}
}

// inFused are l2-input's nexts for the fused l2-fwd's outcomes.
var inFused = fusedNexts{flood: inNextFlood, output: inNextOutput, sg: inNextSG,
	router: [...]uint16{rkIP4: inNextIP4, rkIP6: inNextIP6, rkARP: inNextARP, rkGSO: inNextGSO, rkNAT: inNextNAT}}

type l2Input struct {
	s    *Switch
	ring *learnRing // the worker's learn events (the fused l2-fwd's)
	fwd  fusedFwd
}

func (n *l2Input) Process(f *pipeline.Frame) {
	t := n.s.tables.Load()
	nat := n.s.nat.Load() != nil
	meta, mem := f.Pool.Arrays()
	guards := n.s.lrn.guards.Load()
	fw := &n.fwd
	fw.start(n.s)
	for i, id := range f.IDs {
		m := &meta[id]
		pkt := pipeline.PacketAt(mem, id, m)
		if len(pkt) < ethHdrLen {
			f.Drop(i, inDropRunt)
			continue
		}
		et := uint16(pkt[12])<<8 | uint16(pkt[13])
		tagged := isVLANType(et)
		if tagged && len(pkt) < ethHdrLen+vlanTagLen {
			f.Drop(i, inDropRunt)
			continue
		}
		pe := &t.ports[m.InPort]
		if !pe.up {
			f.Drop(i, inDropNotInBridge)
			continue
		}
		if pkt[6]&1 != 0 {
			f.Drop(i, inDropSrcGroup)
			continue
		}
		// A source that no station can have, or that is the destination
		// (another station's MAC: learning it here would take that MAC
		// from its port).
		// With port security, only the port's own MACs may send.
		src, dst := mac48(pkt[6:12]), mac48(pkt[0:6])
		switch {
		case src == 0:
			f.Drop(i, inDropSrcZero)
			continue
		case src == dst:
			f.Drop(i, inDropSrcIsDst)
			continue
		case pe.secure && src != pe.secMAC && !pe.boundMore(src):
			f.Drop(i, inDropSrcNotBound)
			continue
		}
		dom, vlan := pe.nativeDom, pe.native
		if tagged {
			if vid := tagVID(pkt); vid != 0 {
				if !pe.trunk {
					f.Drop(i, inDropTaggedOnAccess)
					continue
				}
				if dom = pe.vlanDom[vid]; dom == 0 {
					f.Drop(i, inDropVLANNotAllowed)
					continue
				}
				vlan = vid
			} else if isVLANType(uint16(pkt[16])<<8 | uint16(pkt[17])) {
				// A priority tag around another tag: popped, the
				// inner tag would be taken for the frame's VLAN
				// where it leaves untagged.
				if !pe.trunk {
					f.Drop(i, inDropTaggedOnAccess)
				} else {
					f.Drop(i, inDropTagInPriority)
				}
				continue
			}
			copy(pkt[vlanTagLen:vlanTagLen+12], pkt[:12])
			pkt = pkt[vlanTagLen:]
			m.Off += vlanTagLen
			m.Len -= vlanTagLen
			if m.Offload&pipeline.OffloadCsumPartial != 0 {
				m.CsumStart -= vlanTagLen
			}
		}
		if pe.secure {
			if r := guards.port(m.InPort).check(pe, pkt); r >= 0 {
				f.Drop(i, uint16(r))
				continue
			}
		}
		m.Domain, m.VLAN = dom, vlan
		f.Next[i] = inNextFwd
		if pe.rif != 0 && int(pe.rif) < len(t.ifaces) {
			// The usual routed frame, routedIn's IP cases inline: to the
			// interface's MAC, IPv4 or IPv6, no proxy-ARP source check, no
			// NAT.
			if pe.rifPlain && !nat && dst == pe.rifMAC && (et == etherTypeIPv4 || et == etherTypeIPv6) {
				m.Iface = pe.rif
				f.Next[i] = inNextIP4
				if et == etherTypeIPv6 {
					f.Next[i] = inNextIP6
				}
				continue
			}
			routedIn(f, i, pe, &t.ifaces[pe.rif], m, pkt, nat)
		} else if fw.on && m.Flags&pipeline.FlagTraced == 0 {
			fw.add(i, dom, src, dst)
		}
	}
	if fw.n > 0 {
		fw.run(f, n.s, t, n.ring, nat, &inFused)
	}
}

// routedIn sends frame i (metadata m, bytes pkt) of a routed port, whose
// interface is in, to L3, or drops it when it is unicast to another MAC,
// or (a proxy-ARP interface: a routed container) when its IP source is not
// one of the container's (a strict reverse-path check, before NAT: the
// routes through the interface are its addresses; IPv6 link-local and
// unspecified sources, which neighbor discovery uses, pass). nat: NAT is
// configured.
func routedIn(f *pipeline.Frame, i int, pe *portEntry, in *ifaceEntry, m *pipeline.Meta, pkt []byte, nat bool) {
	if d := mac48(pkt[0:6]); d != pe.rifMAC && pkt[0]&1 == 0 {
		f.Drop(i, inDropRoutedOther)
		return
	}
	m.Iface = pe.rif
	switch uint16(pkt[12])<<8 | uint16(pkt[13]) {
	case etherTypeIPv4:
		if in.proxy && len(pkt) >= ethHdrLen+20 && !in.srcOK4(binary.BigEndian.Uint32(pkt[ethHdrLen+12:])) {
			f.Drop(i, inDropSpoofedSrc)
			return
		}
		f.Next[i] = inNextIP4
	case etherTypeIPv6:
		if in.proxy && len(pkt) >= ethHdrLen+40 {
			src := nbrAddr{binary.BigEndian.Uint64(pkt[ethHdrLen+8:]), binary.BigEndian.Uint64(pkt[ethHdrLen+16:])}
			if src != (nbrAddr{}) && src.hi>>54 != 0xFE80>>6 && !in.srcOK6(src) {
				f.Drop(i, inDropSpoofedSrc)
				return
			}
		}
		f.Next[i] = inNextIP6
	case etherTypeARP:
		f.Next[i] = inNextARP
	default:
		f.Drop(i, inDropRoutedOther)
		return
	}
	if f.Next[i] != inNextARP && nat {
		f.Next[i] = inNextNAT // which routes it after translating
		return
	}
	// ip4-forward and ip6-forward take large frames; ARP does not.
	if f.Next[i] == inNextARP && needsGSO(m) {
		m.Aux = gsoNextARP
		f.Next[i] = inNextGSO
	}
}

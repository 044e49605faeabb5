package vswitch

import (
	"strconv"

	"github.com/vecswitch/vecswitch/encap"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// vxlan-encap wraps frames that l2-output sent to a remote VTEP's
// pseudo-port: it writes the tunnel's prebuilt header template (outer
// Ethernet, IP, UDP, VXLAN with the domain's VNI) into the headroom in
// front of the frame, with the UDP source port from a hash of the inner
// flow and the lengths and IPv4 checksum filled in incrementally (the
// payload is never copied), and hands the packet to ip4-forward or
// ip6-forward as one the switch sends from its VTEP address: the underlay
// route, next hop and MAC come from the FIB and neighbor table like any
// routed packet's, and a packet the underlay MTU cannot carry is dropped
// there and counted (mtu-exceeded; the outer packet is never fragmented).
//
// Before that, a frame that cannot fit the VTEP interface's effective MTU
// once encapsulated (its own or, when smaller, the MTU of a port of its
// domain: limitMTU) is dropped (too-big) and, when it is IPv4 with DF set or
// IPv6, answered with ICMP fragmentation needed / packet too big quoting
// the inner MTU. The overlay has no router address, so, like Linux's
// bridged tunnels (skb_tunnel_check_pmtu), the error comes from the
// original destination's addresses and goes straight back out of the
// ingress port; senders' path MTU discovery then fits the overlay.
//
// A large (GSO) frame from a port with offloads is wrapped whole when
// its segments fit the underlay once encapsulated (encap.EncapGSO:
// outer lengths of the whole chain, Meta.CsumStart moved to the inner L4
// header, OffloadTunnel set) and cut into complete VXLAN packets by gso
// just before the underlay port, so the header, the flow hash and the
// underlay route cost one per 64 KiB instead of one per segment. When its
// segments would not fit, it is cut first (gso) and each segment comes
// back here as any frame.
const (
	nodeVXLANEncap = "vxlan-encap"
	nodeVXLANDecap = "vxlan-decap"
)

const (
	encapNextIP4 = iota
	encapNextIP6
	encapNextOutput
	encapNextGSO
)

const (
	encapDropNoVTEP = iota
	encapDropNoTunnel
	encapDropNoHeadroom
	encapDropTooBig
	encapDropTooBigRated
)

func vxlanEncapSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeVXLANEncap,
		Next:  []string{nodeIP4Forward, nodeIP6Forward, nodeL2Output, nodeGSO},
		Drops: []string{"no-vtep", "no-tunnel", "no-headroom", "too-big", "too-big-icmp-rate-limited"},
		New:   func(pipeline.NodeContext) pipeline.Node { return &vxlanEncap{s: s} },
	}
}

type vxlanEncap struct {
	s   *Switch
	lim proto.Limiter
	ul  underlay // the underlay route of the last tunnel, for one vector
}

func (n *vxlanEncap) Process(f *pipeline.Frame) {
	t := n.s.tables.Load()
	vt := t.vtep
	meta, mem := f.Pool.Arrays()
	next := f.Next[:len(f.IDs)]
	// The template of the last (port, domain) pair: a vector is mostly
	// one tunnel and one VNI.
	lastPort, lastDom := uint16(0), uint16(0)
	var tmpl *encap.Template
	var remote nbrAddr
	n.ul.tmpl = nil
	fast := !n.s.lrn.unfused.Load()
	for i, id := range f.IDs {
		if vt == nil {
			f.Drop(i, encapDropNoVTEP)
			continue
		}
		m := &meta[id]
		if m.OutPort != lastPort || m.Domain != lastDom || tmpl == nil {
			lastPort, lastDom, tmpl = m.OutPort, m.Domain, nil
			pe := &t.ports[m.OutPort]
			if pe.tunnel != 0 && int(m.Domain) < len(t.domains) {
				tun := &t.tunnels[pe.tunnel-1]
				if vi := int(t.domains[m.Domain].vniIdx); vi < len(tun.tmpl) {
					tmpl, remote = tun.tmpl[vi], tun.remote
				}
			}
			if tmpl == nil {
				f.Drop(i, encapDropNoTunnel)
				continue
			}
		}
		frame := pipeline.FrameAt(mem, id)
		inner := frame[m.Off : int(m.Off)+int(m.Len)]
		if m.Offload&pipeline.OffloadGSO != 0 {
			// l2-output sends only GSO frames not yet encapsulated.
			mtu := int(t.ifaces[vt.iface].mtu)
			off, l, ok := 0, 0, wireLen(f.Pool, id, m, inner)+vt.inOverhead <= mtu
			if ok {
				off, l, ok = encap.EncapGSO(tmpl, frame, int(m.Off), int(m.Len), f.Pool.ChainLen(id), encap.InnerFlowHash(inner))
			}
			if !ok {
				// Segments too big for the underlay (each gets its
				// ICMP error), or the whole frame too long for the
				// outer length fields: cut first, encapsulate each.
				m.Aux = gsoNextL2Output
				next[i] = encapNextGSO
				continue
			}
			m.CsumStart += uint16(l - int(m.Len))
			m.Offload |= pipeline.OffloadTunnel
			m.Off, m.Len = uint16(off), uint16(l)
		} else {
			if int(m.Len)+vt.inOverhead > int(t.ifaces[vt.iface].mtu) {
				n.tooBig(f, i, m, mem, int(t.ifaces[vt.iface].mtu)-vt.inOverhead)
				continue
			}
			off, l, ok := encap.Encap(tmpl, frame, int(m.Off), int(m.Len), encap.InnerFlowHash(inner))
			if !ok {
				f.Drop(i, encapDropNoHeadroom)
				continue
			}
			m.Off, m.Len = uint16(off), uint16(l)
		}
		m.Iface = vt.iface
		m.Flags = m.Flags&pipeline.FlagTraced | flagLocal
		// The plain case is finished here (vxlan_fast.go); the rest,
		// and traced packets, take the underlay's forward node.
		if fast && m.Flags == flagLocal && !needsGSO(m) {
			if n.ul.tmpl != tmpl {
				n.ul.resolve(n.s, t, vt, tmpl, remote)
			}
			if n.ul.ok && n.ul.finish(f, m, mem, id) {
				next[i] = pipeline.NextTaken
				continue
			}
		}
		if vt.is6 {
			next[i] = encapNextIP6
		} else {
			next[i] = encapNextIP4
		}
	}
}

// Describe tells the tunnel and VNI.
func (n *vxlanEncap) Describe(f *pipeline.Frame, i int) string {
	t := n.s.tables.Load()
	m, _ := frameOf(f, i)
	if f.Next[i] == pipeline.NextDrop {
		return "not encapsulated"
	}
	return "to VTEP " + t.ports[m.OutPort].name[len("vxlan:"):] + " VNI " + strconv.Itoa(int(t.domains[m.Domain].vni))
}

// tooBig answers frame i, which would exceed the underlay MTU once
// encapsulated (frameMax is the largest inner frame that fits), with an
// ICMP error back out of its ingress port, built in place; or drops it.
func (n *vxlanEncap) tooBig(f *pipeline.Frame, i int, m *pipeline.Meta, mem []byte, frameMax int) {
	pkt := pipeline.PacketAt(mem, f.IDs[i], m)
	et := uint16(pkt[12])<<8 | uint16(pkt[13])
	ip := pkt[ethHdrLen:]
	mtu := uint32(frameMax - ethHdrLen) // the inner IP MTU
	var hdr int
	switch {
	case et == etherTypeIPv4 && len(ip) >= 20 && proto.DF4(ip) && proto.ICMP4ErrorAllowed(ip):
		hdr = proto.ICMP4ErrorHeadroom
	case et == etherTypeIPv6 && len(ip) >= 40 && proto.ICMP6ErrorAllowed(ip, proto.ICMP6PacketTooBig, 0):
		hdr = proto.ICMP6ErrorHeadroom
		mtu = max(mtu, 1280)
	}
	if hdr == 0 || int(m.Off) < ethHdrLen+hdr {
		f.Drop(i, encapDropTooBig)
		return
	}
	if !n.lim.Allow(n.s.opts.Clock().UnixNano()) {
		f.Drop(i, encapDropTooBigRated)
		return
	}
	f.CountDrop(encapDropTooBig, 1)
	var dstMAC, srcMAC [6]byte
	copy(dstMAC[:], pkt[6:12]) // back to the sender
	copy(srcMAC[:], pkt[0:6])  // from where it was going
	frame := pipeline.FrameAt(mem, f.IDs[i])
	ipAt := int(m.Off) + ethHdrLen - hdr
	var l int
	if hdr == proto.ICMP4ErrorHeadroom {
		l = proto.BuildICMP4Error(frame[ipAt:], ip, proto.ICMP4DestUnreach, proto.ICMP4CodeFragNeed, mtu, proto.Dst4(ip))
	} else {
		hi, lo := proto.Dst6(ip)
		l = proto.BuildICMP6Error(frame[ipAt:], ip, proto.ICMP6PacketTooBig, 0, mtu, hi, lo)
	}
	eth := frame[ipAt-ethHdrLen : ipAt]
	copy(eth[0:6], dstMAC[:])
	copy(eth[6:12], srcMAC[:])
	eth[12], eth[13] = byte(et>>8), byte(et)
	m.Off -= uint16(hdr)
	m.Len = uint16(ethHdrLen + l)
	m.OutPort = m.InPort
	m.Flags &= pipeline.FlagTraced
	f.Next[i] = encapNextOutput
}

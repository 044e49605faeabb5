package vswitch

import (
	"fmt"
	"net/netip"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// What each node tells a packet trace about its decision
// (pipeline.Describer). These run only for traced packets, after the
// node's Process, so they describe the outcome from the packet's metadata
// and bytes as the node left them.

func (t *tables) domainName(d uint16) string {
	if int(d) >= len(t.domains) || !t.domains[d].valid {
		return fmt.Sprintf("domain %d", d)
	}
	e := &t.domains[d]
	return fmt.Sprintf("bridge %s vlan %d", t.bridges[e.bridge].name, e.vlan)
}

func (t *tables) portName(p uint16) string {
	if p == routerPort {
		return "router"
	}
	if int(p) < len(t.ports) && t.ports[p].name != "" {
		return t.ports[p].name
	}
	return fmt.Sprintf("#%d", p)
}

func (t *tables) ifaceName(i uint16) string {
	if int(i) < len(t.ifaces) && t.ifaces[i].valid {
		return t.ifaces[i].name
	}
	return fmt.Sprintf("interface #%d", i)
}

func frameOf(f *pipeline.Frame, i int) (*pipeline.Meta, []byte) {
	id := f.IDs[i]
	return f.Pool.Meta(id), f.Pool.Packet(id)
}

// Describe tells the domain the frame was classified into.
func (n *l2Input) Describe(f *pipeline.Frame, i int) string {
	m, _ := frameOf(f, i)
	t := n.s.tables.Load()
	if f.Next[i] == inNextFwd {
		return "in " + t.domainName(m.Domain)
	}
	return "routed port: to interface " + t.ifaceName(m.Iface)
}

// Describe tells the MAC lookup's result.
func (n *l2Fwd) Describe(f *pipeline.Frame, i int) string {
	m, pkt := frameOf(f, i)
	t := n.s.tables.Load()
	dst := formatMAC(mac48(pkt[0:6]))
	switch f.Next[i] {
	case fwdNextOutput, fwdNextSG:
		return fmt.Sprintf("dst %s known on port %s", dst, t.portName(m.OutPort))
	case fwdNextFlood:
		if pkt[0]&1 != 0 {
			return fmt.Sprintf("dst %s is broadcast/multicast: flood", dst)
		}
		return fmt.Sprintf("dst %s unknown: flood", dst)
	case pipeline.NextDrop:
		return fmt.Sprintf("dst %s is behind the ingress port", dst)
	}
	return fmt.Sprintf("dst %s is router interface %s: route", dst, t.ifaceName(m.Iface))
}

// Describe tells how many copies the flood made.
func (n *l2Flood) Describe(f *pipeline.Frame, i int) string {
	m, _ := frameOf(f, i)
	t := n.s.tables.Load()
	if int(m.Domain) < len(t.domains) {
		return fmt.Sprintf("flood in %s (%d members), this copy to %s", t.domainName(m.Domain),
			len(t.domains[m.Domain].flood), t.portName(m.OutPort))
	}
	return "flood"
}

// Describe tells the port and the tag.
func (n *l2Output) Describe(f *pipeline.Frame, i int) string {
	m, pkt := frameOf(f, i)
	t := n.s.tables.Load()
	if f.Next[i] == pipeline.NextDrop {
		return "to port " + t.portName(m.OutPort)
	}
	if len(pkt) >= ethHdrLen+vlanTagLen && isVLANType(uint16(pkt[12])<<8|uint16(pkt[13])) {
		return fmt.Sprintf("to port %s tagged vlan %d", t.portName(m.OutPort), tagVID(pkt))
	}
	return fmt.Sprintf("to port %s untagged", t.portName(m.OutPort))
}

func describeRouted(t *tables, f *pipeline.Frame, i int, v6 bool) string {
	m, pkt := frameOf(f, i)
	var dst netip.Addr
	if len(pkt) >= ethHdrLen+40 && v6 {
		hi, lo := proto.Dst6(pkt[ethHdrLen:])
		dst = nbrAddr{hi, lo}.addr()
	} else if len(pkt) >= ethHdrLen+20 && !v6 {
		dst = v4Key(proto.Dst4(pkt[ethHdrLen:])).addr()
	}
	switch f.Next[i] {
	case fwdNextLocal:
		return fmt.Sprintf("%s is the switch's: local", dst)
	case fwdNextGlean:
		return fmt.Sprintf("to %s: next hop %s not resolved on %s", dst, nbrAddr{0, 0xFFFF<<32 | uint64(m.Aux)}.addr(), t.ifaceName(m.Iface))
	case fwdNextError:
		return fmt.Sprintf("to %s: %s", dst, errNames[errOf(m)])
	case fwdNextL2Output, fwdNextL2Flood, fwdNextRoutedSG, pipeline.NextTaken:
		ttl := 0
		if v6 {
			ttl = int(pkt[ethHdrLen+7])
		} else {
			ttl = int(pkt[ethHdrLen+8])
		}
		return fmt.Sprintf("to %s: out %s, next hop MAC %s, ttl now %d", dst, t.ifaceName(m.Iface), formatMAC(mac48(pkt[0:6])), ttl)
	}
	return fmt.Sprintf("to %s", dst)
}

// Describe tells the route's outcome.
func (n *ip4Forward) Describe(f *pipeline.Frame, i int) string {
	return describeRouted(n.s.tables.Load(), f, i, false)
}

// Describe tells the route's outcome.
func (n *ip6Forward) Describe(f *pipeline.Frame, i int) string {
	s := describeRouted(n.s.tables.Load(), f, i, true)
	if f.Next[i] == fwdNextGlean {
		return "next hop not resolved: neighbor solicitation"
	}
	return s
}

// Describe tells the ARP operation and what was done.
func (n *arpInput) Describe(f *pipeline.Frame, i int) string {
	_, pkt := frameOf(f, i)
	if len(pkt) < ethHdrLen+28 {
		return "arp"
	}
	arp := pkt[ethHdrLen:]
	who := fmt.Sprintf("%s for %s", v4Key(proto.ARPSenderIP(arp)).addr(), v4Key(proto.ARPTargetIP(arp)).addr())
	if f.Next[i] == arpNextOutput {
		return "request answered: " + who
	}
	return "consumed: " + who
}

// Describe tells which error was sent.
func (n *ip4Error) Describe(f *pipeline.Frame, i int) string {
	if f.Next[i] == pipeline.NextDrop {
		return "no ICMP error sent"
	}
	_, pkt := frameOf(f, i)
	ip := pkt[ethHdrLen:]
	hl := proto.HeaderLen4(ip)
	return fmt.Sprintf("ICMP type %d code %d to %s", ip[hl], ip[hl+1], v4Key(proto.Dst4(ip)).addr())
}

// Describe tells which error was sent.
func (n *ip6Error) Describe(f *pipeline.Frame, i int) string {
	if f.Next[i] == pipeline.NextDrop {
		return "no ICMPv6 error sent"
	}
	_, pkt := frameOf(f, i)
	ip := pkt[ethHdrLen:]
	hi, lo := proto.Dst6(ip)
	return fmt.Sprintf("ICMPv6 type %d code %d to %s", ip[40], ip[41], nbrAddr{hi, lo}.addr())
}

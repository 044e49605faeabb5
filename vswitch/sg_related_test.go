package vswitch

import (
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// icmpErr6Frame is an ICMPv6 destination-unreachable (port) from src to
// dst quoting the IP packet of quoted (an Ethernet frame).
func icmpErr6Frame(dstMAC, srcMAC, src, dst string, quoted []byte) []byte {
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(1, 4)}
	must(ic.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv6},
		ip, ic, gopacket.Payload(append([]byte{0, 0, 0, 0}, quoted[14:]...))) // 4 unused bytes, then the quote
}

// TestSGRelatedForged: an ICMP error is related to a flow, and passes on
// it, only if it goes back to the sender of the packet it quotes and
// between the ports the flow was admitted between. cli opens a flow to
// web's DNS (allowed); other is in a group that allows nothing. cli's
// error quoting that flow sent to other, and other's error quoting it
// sent to cli or web, once passed as "related" whatever their
// destination and ports: a port could send anything shaped as an error
// through any group, even a deny-all one. Errors from the flow's own
// ports, from either end or a router in between, still pass.
func TestSGRelatedForged(t *testing.T) {
	type fam struct {
		name                    string
		web, cli, other, router string
		udp                     func(dstMAC, srcMAC, src, dst string, sport, dport uint16) []byte
		icmpErr                 func(dstMAC, srcMAC, src, dst string, quoted []byte) []byte
	}
	udp6f := func(dstMAC, srcMAC, src, dst string, sport, dport uint16) []byte {
		return udp6(dstMAC, srcMAC, src, dst, sport, dport, "query")
	}
	for _, f := range []fam{
		{name: "ipv4", web: ipWeb, cli: ipCli, other: ipOther, router: "192.0.2.1", udp: udpFrame, icmpErr: icmpErrFrame},
		{name: "ipv6", web: "fd00::10", cli: "fd00::20", other: "fd00::30", router: "2001:db8::1", udp: udp6f, icmpErr: icmpErr6Frame},
	} {
		t.Run(f.name, func(t *testing.T) {
			deny := SecurityGroup{Name: "deny", Ports: []string{"other"}}
			r := newSGRig(t, Options{}, webGroup(), deny)
			s := r.s
			// The flow: cli -> web:53, allowed by web's dns rule, and its reply.
			req := f.udp(macWeb, macCli, f.cli, f.web, 5353, 53)
			rep := f.udp(macCli, macWeb, f.web, f.cli, 53, 5353)
			require.True(t, r.pass("cli", "web", req))
			require.True(t, r.pass("web", "cli", rep))

			// Legitimate errors: web's port unreachable about cli's
			// datagram, back to cli; a router behind cli's port reporting
			// web's reply, back to web (its source is neither end).
			require.True(t, r.pass("web", "cli", f.icmpErr(macCli, macWeb, f.web, f.cli, req)), "web's error to cli")
			require.True(t, r.pass("cli", "web", f.icmpErr(macWeb, macCli, f.router, f.web, rep)), "a router's error to web")
			related := s.SGStats().Conntrack.Related

			// cli's error quoting its flow with web, sent to other (in a
			// deny-all group): not addressed to the quoted packet's
			// sender, so conntrack does not relate it; invalid.
			require.NoError(t, s.TraceAdd("cli", 1, nil))
			require.False(t, r.pass("cli", "other", f.icmpErr(macOther, macCli, f.web, f.other, rep)), "error to a third port")
			require.EqualValues(t, 1, dropCount(t, s, nodeSGPolicy, "ct-invalid"))
			h := sgHop(t, s.Traces()[0])
			require.Equal(t, "ct-invalid", h.Drop)
			require.Contains(t, h.Detail, "icmp-outer-mismatch")

			// other's errors quoting the flow, to one of its ends (the
			// addresses are consistent, the ports are not the flow's):
			// dropped, sg-related-mismatch. To cli through other's group,
			// and to web (whose group holds the flow) from its source
			// address, spoofed.
			require.NoError(t, s.TraceAdd("other", 1, nil))
			require.False(t, r.pass("other", "cli", f.icmpErr(macCli, macOther, f.other, f.cli, req)), "other's error to cli")
			h = sgHop(t, s.Traces()[0])
			require.Equal(t, "sg-related-mismatch", h.Drop)
			require.Contains(t, h.Detail, "admitted between other ports")
			require.False(t, r.pass("other", "web", f.icmpErr(macWeb, macOther, f.cli, f.web, rep)), "other's error to web")
			require.EqualValues(t, 2, dropCount(t, s, nodeSGPolicy, "sg-related-mismatch"))
			require.Equal(t, related+2, s.SGStats().Conntrack.Related, "related by conntrack, refused by the ports")

			// The flow's own errors still pass afterwards.
			require.True(t, r.pass("web", "cli", f.icmpErr(macCli, macWeb, f.web, f.cli, req)))
		})
	}
}

// sgHop is tr's sg-policy hop.
func sgHop(t *testing.T, tr Trace) TraceHop {
	t.Helper()
	for _, h := range tr.Hops {
		if h.Node == nodeSGPolicy {
			return h
		}
	}
	t.Fatalf("no %s hop in %+v", nodeSGPolicy, tr.Hops)
	return TraceHop{}
}

package vswitch

import (
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// ndFrame is an ICMPv6 message of type typ (code 0) from src to dst, its
// body after the 4-byte header body (hop limit 255, as neighbour
// discovery's).
func ndFrame(dstMAC, srcMAC, src, dst string, typ uint8, body []byte) []byte {
	ip := &layers.IPv6{Version: 6, HopLimit: 255, NextHeader: layers.IPProtocolICMPv6, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
	must(ic.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv6},
		ip, ic, gopacket.Payload(body))
}

// raFrame is a router advertisement from src to all nodes announcing
// prefix fd66::/64 (autonomous) and a default route.
func raFrame(srcMAC, src string) []byte {
	body := []byte{64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0} // hop limit, flags, router lifetime 1800 s, timers
	body = append(body, 3, 4, 64, 0xc0, 0, 0, 0x0e, 0x10, 0, 0, 0x0e, 0x10, 0, 0, 0, 0)
	body = append(body, net.ParseIP("fd66::")...)
	return ndFrame("33:33:00:00:00:01", srcMAC, src, "ff02::1", 134, body)
}

// TestSGRouterAdvert: in a security group, router advertisements and
// redirects are new traffic for the rules to decide (a deny-all group
// drops them, a rule naming ICMPv6 type 134 admits them), while router
// solicitations and neighbour solicitations and advertisements pass, so
// that neighbour discovery works whatever the rules. A port could once
// send a rogue RA through every group: its receivers took its prefix and
// a default route through it.
func TestSGRouterAdvert(t *testing.T) {
	const (
		llCli   = "fe80::20"
		llOther = "fe80::30"
	)
	deny := SecurityGroup{Name: "deny", Ports: []string{"other"}}
	r := newSGRig(t, Options{}, webGroup(), deny)
	s := r.s

	// cli (no group) advertises itself as a router to all nodes: neither
	// web (no rule allows ICMPv6 type 134... webGroup's "ping" is ICMPv4)
	// nor other (no rules) takes it.
	require.NoError(t, s.TraceAdd("cli", 1, nil))
	r.send("cli", raFrame(macCli, llCli))
	require.Empty(t, r.receivers(), "rogue RA delivered")
	require.EqualValues(t, 2, dropCount(t, s, nodeSGPolicy, "sg-default-deny"))
	// A redirect to other, for the same reason.
	redirect := append(make([]byte, 4), net.ParseIP(llCli)...)
	redirect = append(redirect, net.ParseIP("2001:db8::1")...)
	require.False(t, r.pass("cli", "other", ndFrame(macOther, macCli, llCli, llOther, 137, redirect)), "redirect")
	require.EqualValues(t, 3, dropCount(t, s, nodeSGPolicy, "sg-default-deny"))

	// Neighbour discovery passes: cli's solicitation for other's address
	// (to its solicited-node group: flooded), other's advertisement back,
	// other's router solicitation (its group allows no egress), and an
	// unsolicited advertisement to all nodes.
	ns := append(make([]byte, 4), net.ParseIP(llOther)...)
	r.send("cli", ndFrame("33:33:ff:00:00:30", macCli, llCli, "ff02::1:ff00:30", 135, ns))
	require.ElementsMatch(t, []string{"web", "other"}, r.receivers(), "neighbour solicitation")
	na := append([]byte{0x60, 0, 0, 0}, net.ParseIP(llOther)...)
	require.True(t, r.pass("other", "cli", ndFrame(macCli, macOther, llOther, llCli, 136, na)), "neighbour advertisement")
	r.send("other", ndFrame("33:33:00:00:00:02", macOther, llOther, "ff02::2", 133, make([]byte, 4)))
	require.ElementsMatch(t, []string{"web", "cli"}, r.receivers(), "router solicitation")
	r.send("other", ndFrame("33:33:00:00:00:01", macOther, llOther, "ff02::1", 136, append([]byte{0x20, 0, 0, 0}, net.ParseIP(llOther)...)))
	require.ElementsMatch(t, []string{"web", "cli"}, r.receivers(), "unsolicited neighbour advertisement")
	require.EqualValues(t, 3, dropCount(t, s, nodeSGPolicy, "sg-default-deny"))

	// A rule admits the advertisements of a known router (cli's
	// link-local address) into other; web still refuses them.
	deny.Rules = []SGRule{{Name: "ra", Direction: "ingress", Proto: "icmpv6", ICMP: "134", Remote: llCli + "/128", Action: "allow"}}
	cfg := sgBridge()
	cfg.SecurityGroups = []SecurityGroup{webGroup(), deny}
	r.reconf(cfg)
	require.NoError(t, s.TraceAdd("cli", 1, nil))
	r.send("cli", raFrame(macCli, llCli))
	require.Equal(t, []string{"other"}, r.receivers())
	require.EqualValues(t, 1, ruleCount(t, s, "deny", "ra"))
	require.EqualValues(t, 4, dropCount(t, s, nodeSGPolicy, "sg-default-deny"), "web's copy")
	var details []string
	for _, tr := range s.Traces() {
		for _, h := range tr.Hops {
			if h.Node == nodeSGPolicy {
				details = append(details, h.Detail)
			}
		}
	}
	require.Len(t, details, 2, "a copy per port")
	require.Contains(t, details[0]+details[1], "router advertisement or redirect allowed by rule deny/ra")
	// Not from another address (not the known router), nor a redirect.
	r.send("cli", raFrame(macCli, "fe80::99"))
	require.Empty(t, r.receivers())
	require.False(t, r.pass("cli", "other", ndFrame(macOther, macCli, llCli, llOther, 137, redirect)), "redirect")
}

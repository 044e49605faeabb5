package vswitch

import (
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// TestSGWithNAT: security groups and NAT compose. The group on A's port
// sees A's own side of every flow (its address as the source of what it
// sends out masqueraded, its port 80 as the destination of a port map's
// connection, not the host's 8080), and the replies of the flows it
// admitted pass. sg-policy once saw a routed flow after NAT in both
// directions: its original translated and its reply untranslated, two
// tuples of no one flow, so every reply was ct-invalid.
func TestSGWithNAT(t *testing.T) {
	r := newNATRig(t)
	cfg := testNATConfig()
	cfg.SecurityGroups = []SecurityGroup{{Name: "web", Ports: []string{"a"}, Rules: []SGRule{
		{Name: "out", Direction: "egress", Action: "allow"},
		{Name: "http", Direction: "ingress", Proto: "tcp", Ports: "80", Action: "allow"},
	}}}
	require.NoError(t, r.s.Reconfigure(cfg))

	// Masquerade, UDP: out, its reply back.
	r.send("a", udp4(macRA, macA, "10.1.0.2", "10.2.0.2", 40000, 5300))
	src, _, sp, _ := tuple4(t, only(t, r.recv(), "b", 1)[0])
	require.Equal(t, "10.2.0.1", src)
	r.send("b", udp4(macRB, macB, "10.2.0.2", "10.2.0.1", 5300, sp))
	_, dst, _, dp := tuple4(t, only(t, r.recv(), "a", 1)[0])
	require.Equal(t, []any{"10.1.0.2", uint16(40000)}, []any{dst, dp})

	// Masquerade, TCP: the handshake completes.
	r.send("a", tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 41000, 443, "S"))
	_, _, sp, _ = tuple4(t, only(t, r.recv(), "b", 1)[0])
	r.send("b", tcp4(macRB, macB, "10.2.0.2", "10.2.0.1", 443, sp, "SA"))
	only(t, r.recv(), "a", 1)
	r.send("a", tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 41000, 443, "A"))
	only(t, r.recv(), "b", 1)

	// Masquerade, ICMP echo (its identifier translated): the reply comes back.
	r.send("a", echoFrame(macRA, macA, "10.1.0.2", "10.2.0.2", 8, 77))
	out := only(t, r.recv(), "b", 1)[0]
	ic := decodePkt(t, out).Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	r.send("b", echoFrame(macRB, macB, "10.2.0.2", "10.2.0.1", 0, ic.Id))
	in := only(t, r.recv(), "a", 1)[0]
	require.EqualValues(t, 77, decodePkt(t, in).Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4).Id)

	// An ICMP error from outside about A's masqueraded flow reaches A
	// (related to the flow the group admitted).
	r.send("a", udp4(macRA, macA, "10.1.0.2", "10.2.0.2", 40001, 5301))
	out = only(t, r.recv(), "b", 1)[0]
	r.send("b", icmpErrFrame(macRB, macB, "10.2.0.2", "10.2.0.1", out))
	only(t, r.recv(), "a", 1)

	// Port map: the ingress rule for port 80 admits the host's 8080, and
	// the reply goes out.
	r.send("b", tcp4(macRB, macB, "10.2.0.2", "10.2.0.1", 50000, 8080, "S"))
	_, dst, _, dp = tuple4(t, only(t, r.recv(), "a", 1)[0])
	require.Equal(t, []any{"10.1.0.2", uint16(80)}, []any{dst, dp})
	r.send("a", tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 80, 50000, "SA"))
	src, _, sp, _ = tuple4(t, only(t, r.recv(), "b", 1)[0])
	require.Equal(t, []any{"10.2.0.1", uint16(8080)}, []any{src, sp})
	r.send("b", tcp4(macRB, macB, "10.2.0.2", "10.2.0.1", 50000, 8080, "A"))
	only(t, r.recv(), "a", 1)
	// A port A does not admit (the UDP map's target is A2, ungrouped;
	// TCP to A on 81 through no map) stays out.
	r.send("b", tcp4(macRB, macB, "10.2.0.2", "10.1.0.2", 50002, 81, "S"))
	require.Empty(t, r.recv()["a"])

	require.Zero(t, dropCount(t, r.s, nodeSGPolicy, "ct-invalid"))
	require.NotZero(t, ruleCount(t, r.s, "web", "out"))
	require.NotZero(t, ruleCount(t, r.s, "web", "http"))
}

package vswitch

import (
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/policy/acl"
)

// The security-group rig: bridge br0 with ports web (10.0.0.10), cli
// (10.0.0.20) and other (10.0.0.30), their MACs learned before any group
// exists. Group "web" holds port web.
const (
	macWeb   = "02:00:00:00:01:10"
	macCli   = "02:00:00:00:01:20"
	macOther = "02:00:00:00:01:30"
	ipWeb    = "10.0.0.10"
	ipCli    = "10.0.0.20"
	ipOther  = "10.0.0.30"
)

func sgBridge() Config {
	return Config{Bridges: []Bridge{{Name: "br0", Ports: []Port{{Name: "web"}, {Name: "cli"}, {Name: "other"}}}}}
}

// webGroup: web takes http from 10.0.0.0/24, never ssh (a deny of higher
// priority than any allow), ICMP echo, and DNS over UDP; it may send
// nothing of its own (default deny on egress too).
func webGroup() SecurityGroup {
	return SecurityGroup{Name: "web", Ports: []string{"web"}, Addrs: []string{ipWeb}, Rules: []SGRule{
		{Name: "http", Direction: "ingress", Proto: "tcp", Ports: "80", Remote: "10.0.0.0/24", Action: "allow"},
		{Name: "alt-http", Direction: "ingress", Proto: "tcp", Ports: "8080-8081", Action: "allow"},
		{Name: "no-ssh", Direction: "ingress", Proto: "tcp", Ports: "22", Priority: 10, Action: "deny"},
		{Name: "ping", Direction: "ingress", Proto: "icmp", Action: "allow"},
		{Name: "dns", Direction: "ingress", Proto: "udp", Ports: "53", Action: "allow"},
	}}
}

func newSGRig(t *testing.T, opts Options, groups ...SecurityGroup) *rig {
	r := newL2Rig(t, opts)
	r.attach("web", "cli", "other")
	r.reconf(sgBridge())
	for _, p := range []struct{ port, mac string }{{"web", macWeb}, {"cli", macCli}, {"other", macOther}} {
		r.send(p.port, arpFrame(p.mac))
	}
	r.recv()
	cfg := sgBridge()
	cfg.SecurityGroups = groups
	r.reconf(cfg)
	return r
}

// arpFrame is a broadcast ARP request from mac (teaches the MAC table).
func arpFrame(mac string) []byte {
	return serialize(&layers.Ethernet{SrcMAC: mustMAC(mac), DstMAC: mustMAC(bcast()), EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: mustMAC(mac), SourceProtAddress: net.IP{10, 0, 0, 99}.To4(),
			DstHwAddress: make([]byte, 6), DstProtAddress: net.IP{10, 0, 0, 98}.To4()})
}

// tcpFrame is an Ethernet/IPv4/TCP segment; flags is a string of S, A, F, R.
func sgTCP(dstMAC, srcMAC, src, dst string, sport, dport uint16, flags string) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Window: 1000,
		SYN: strings.Contains(flags, "S"), ACK: strings.Contains(flags, "A"), FIN: strings.Contains(flags, "F"), RST: strings.Contains(flags, "R")}
	must(tcp.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv4}, ip, tcp)
}

func udpFrame(dstMAC, srcMAC, src, dst string, sport, dport uint16) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	must(udp.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv4},
		ip, udp, gopacket.Payload(make([]byte, 18)))
}

func echoFrame(dstMAC, srcMAC, src, dst string, typ uint8, id uint16) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: id, Seq: 1}
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv4},
		ip, ic, gopacket.Payload(make([]byte, 18)))
}

// icmpErrFrame is an ICMP destination-unreachable (port) from src to dst
// quoting the IP packet of quoted (an Ethernet frame).
func icmpErrFrame(dstMAC, srcMAC, src, dst string, quoted []byte) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}
	return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv4},
		ip, ic, gopacket.Payload(quoted[14:]))
}

// pass sends frame on port in and reports whether it came out of port out
// (and nowhere else).
func (r *rig) pass(in, out string, frame []byte) bool {
	r.t.Helper()
	r.send(in, frame)
	got := r.recv()
	if len(got) == 0 {
		return false
	}
	require.Len(r.t, got, 1, "frames went to %v", keys(got))
	require.Len(r.t, got[out], 1, "frames went to %v", keys(got))
	return true
}

func ruleCount(t *testing.T, s *Switch, group, rule string) uint64 {
	t.Helper()
	for _, r := range s.SGStats().Rules {
		if r.Group == group && r.Rule == rule {
			return r.Packets
		}
	}
	t.Fatalf("no counter for %s/%s", group, rule)
	return 0
}

func TestSGAllowDenyReply(t *testing.T) {
	r := newSGRig(t, Options{}, webGroup())
	s := r.s
	// An allowed connection, both ways.
	require.True(t, r.pass("cli", "web", sgTCP(macWeb, macCli, ipCli, ipWeb, 40000, 80, "S")), "SYN to :80 allowed")
	require.True(t, r.pass("web", "cli", sgTCP(macCli, macWeb, ipWeb, ipCli, 80, 40000, "SA")), "SYN+ACK: reply of an allowed flow")
	require.True(t, r.pass("cli", "web", sgTCP(macWeb, macCli, ipCli, ipWeb, 40000, 80, "A")))
	require.True(t, r.pass("web", "cli", sgTCP(macCli, macWeb, ipWeb, ipCli, 80, 40000, "A")))
	require.EqualValues(t, 1, ruleCount(t, s, "web", "http"), "only the flow's first packet is classified")

	// ssh: the deny rule wins over alt-http's? no: 22 is only in no-ssh.
	require.False(t, r.pass("cli", "web", sgTCP(macWeb, macCli, ipCli, ipWeb, 40001, 22, "S")))
	require.EqualValues(t, 1, dropCount(t, s, nodeSGPolicy, "sg-deny"))
	require.EqualValues(t, 1, ruleCount(t, s, "web", "no-ssh"))
	// No rule for :9000: default deny.
	require.False(t, r.pass("cli", "web", sgTCP(macWeb, macCli, ipCli, ipWeb, 40002, 9000, "S")))
	require.EqualValues(t, 1, dropCount(t, s, nodeSGPolicy, "sg-default-deny"))
	// web may start nothing itself (no egress rule).
	require.False(t, r.pass("web", "cli", sgTCP(macCli, macWeb, ipWeb, ipCli, 50000, 80, "S")))
	require.EqualValues(t, 2, dropCount(t, s, nodeSGPolicy, "sg-default-deny"))
	// A reply-looking segment with no flow is picked up (TCPLoose) as a
	// flow in its own direction: web may start nothing.
	require.False(t, r.pass("web", "cli", sgTCP(macCli, macWeb, ipWeb, ipCli, 80, 40005, "SA")))
	require.EqualValues(t, 3, dropCount(t, s, nodeSGPolicy, "sg-default-deny"))
	// A RST with no flow is invalid.
	require.False(t, r.pass("web", "cli", sgTCP(macCli, macWeb, ipWeb, ipCli, 80, 40005, "R")))
	require.EqualValues(t, 1, dropCount(t, s, nodeSGPolicy, "ct-invalid"))

	// UDP and ICMP.
	require.True(t, r.pass("cli", "web", udpFrame(macWeb, macCli, ipCli, ipWeb, 5353, 53)))
	require.True(t, r.pass("web", "cli", udpFrame(macCli, macWeb, ipWeb, ipCli, 53, 5353)), "UDP reply")
	require.False(t, r.pass("cli", "web", udpFrame(macWeb, macCli, ipCli, ipWeb, 5353, 54)))
	require.True(t, r.pass("cli", "web", echoFrame(macWeb, macCli, ipCli, ipWeb, 8, 7)))
	require.True(t, r.pass("web", "cli", echoFrame(macCli, macWeb, ipWeb, ipCli, 0, 7)), "echo reply")
	require.False(t, r.pass("web", "cli", echoFrame(macCli, macWeb, ipWeb, ipCli, 8, 8)), "web may not ping out")
	// An ICMP error about an allowed flow reaches its sender (related);
	// one about no flow does not.
	q := udpFrame(macWeb, macCli, ipCli, ipWeb, 5353, 53)
	require.True(t, r.pass("web", "cli", icmpErrFrame(macCli, macWeb, ipWeb, ipCli, q)), "related ICMP error")
	q = udpFrame(macWeb, macCli, ipCli, ipWeb, 6000, 53)
	require.False(t, r.pass("web", "cli", icmpErrFrame(macCli, macWeb, ipWeb, ipCli, q)))

	// Between two ports in no group: nothing tracked.
	flows := s.SGStats().Flows
	require.True(t, r.pass("cli", "other", sgTCP(macOther, macCli, ipCli, ipOther, 1, 22, "S")))
	require.True(t, r.pass("other", "cli", sgTCP(macCli, macOther, ipOther, ipCli, 22, 1, "A")))
	require.Equal(t, flows, s.SGStats().Flows)
	require.Zero(t, dropCount(t, s, nodeSGPolicy, "sg-deny")-1)
	// ARP is not filtered.
	r.send("web", arpFrame(macWeb))
	require.ElementsMatch(t, []string{"cli", "other"}, r.receivers())
}

// TestSGFlood: the copies of a flooded IP frame are filtered per port.
func TestSGFlood(t *testing.T) {
	r := newSGRig(t, Options{}, webGroup())
	unknown := "02:00:00:00:09:99"
	r.send("cli", udpFrame(unknown, macCli, ipCli, "10.0.0.99", 1000, 7777))
	require.Equal(t, []string{"other"}, r.receivers(), "web's copy is denied")
	r.send("cli", udpFrame(unknown, macCli, ipCli, "10.0.0.99", 1000, 53))
	require.Equal(t, []string{"other", "web"}, r.receivers(), "both copies pass")
	r.send("web", udpFrame(unknown, macWeb, ipWeb, "10.0.0.99", 53, 1000))
	require.Empty(t, r.receivers(), "web's egress is default deny")

	// A flow admitted from cli to web does not admit its copies to another
	// port: other, in a group that allows nothing, gets none, however
	// often the flow's packets are flooded.
	cfg := sgBridge()
	cfg.SecurityGroups = []SecurityGroup{webGroup(), {Name: "closed", Ports: []string{"other"}}}
	r.reconf(cfg)
	for range 3 {
		r.send("cli", udpFrame(unknown, macCli, ipCli, "10.0.0.99", 1001, 53))
		require.Equal(t, []string{"web"}, r.receivers())
	}
	require.EqualValues(t, 2, r.s.SGStats().Flows, "this flow and the first one to :53")
	require.EqualValues(t, 3, ruleCount(t, r.s, "closed", acl.DefaultDenyName))
}

// TestSGRuleRemovedStopsFlows: removing a rule deletes the flows it
// admitted (and only those); a new rule applies to the next new flow.
func TestSGRuleRemovedStopsFlows(t *testing.T) {
	r := newSGRig(t, Options{}, webGroup())
	s := r.s
	syn := func(sport, dport uint16) bool {
		return r.pass("cli", "web", sgTCP(macWeb, macCli, ipCli, ipWeb, sport, dport, "S"))
	}
	ack := func(sport, dport uint16) bool {
		return r.pass("cli", "web", sgTCP(macWeb, macCli, ipCli, ipWeb, sport, dport, "A"))
	}
	reply := func(sport, dport uint16) bool {
		return r.pass("web", "cli", sgTCP(macCli, macWeb, ipWeb, ipCli, dport, sport, "SA"))
	}
	require.True(t, syn(40000, 80))
	require.True(t, reply(40000, 80))
	require.True(t, syn(40001, 8080))
	require.True(t, reply(40001, 8080))
	require.Equal(t, 2, s.SGStats().Flows)

	g := webGroup()
	g.Rules = g.Rules[1:] // http goes
	cfg := sgBridge()
	cfg.SecurityGroups = []SecurityGroup{g}
	r.reconf(cfg)
	require.Equal(t, 1, s.SGStats().Flows, "the http flow is deleted, the alt-http one kept")
	require.False(t, ack(40000, 80), "established flow of the removed rule stopped")
	require.False(t, syn(40002, 80), "and no new one")
	require.True(t, ack(40001, 8080), "other rule's flow continues")

	// A deny of higher priority added: the 8080 flow stops too.
	g.Rules = append(g.Rules, SGRule{Name: "no-8080", Direction: "ingress", Proto: "tcp", Ports: "8080", Priority: 5, Action: "deny"})
	cfg.SecurityGroups = []SecurityGroup{g}
	r.reconf(cfg)
	require.False(t, ack(40001, 8080))
	require.Zero(t, s.SGStats().Flows)
	require.True(t, syn(40003, 8081), "alt-http still allows 8081")

	// The group goes: web is unfiltered, everything passes, untracked.
	cfg.SecurityGroups = nil
	r.reconf(cfg)
	require.Zero(t, s.SGStats().Flows)
	require.True(t, syn(40004, 22))
	require.True(t, r.pass("web", "cli", sgTCP(macCli, macWeb, ipWeb, ipCli, 5, 6, "A")))
}

// TestSGFullTable: with a tiny flow table, old flows are evicted for new
// ones, and a packet whose flow is gone is classified again: a full
// table never lets a denied flow through.
func TestSGFullTable(t *testing.T) {
	r := newSGRig(t, Options{ConntrackCapacity: 8}, webGroup())
	s := r.s
	for i := range 64 {
		require.True(t, r.pass("cli", "web", udpFrame(macWeb, macCli, ipCli, ipWeb, uint16(1000+i), 53)))
	}
	st := s.SGStats()
	require.LessOrEqual(t, st.Flows, 8)
	require.Greater(t, st.Conntrack.Evicted, uint64(0))
	passed := 0
	for i := range 64 {
		if r.pass("web", "cli", udpFrame(macCli, macWeb, ipWeb, ipCli, 53, uint16(1000+i))) {
			passed++
		}
	}
	require.LessOrEqual(t, passed, 8, "only replies of flows still in the table pass")
	require.Greater(t, dropCount(t, s, nodeSGPolicy, "sg-default-deny"), uint64(50))
	// Denied flows stay denied however full the table is.
	for i := range 64 {
		require.False(t, r.pass("cli", "web", sgTCP(macWeb, macCli, ipCli, ipWeb, uint16(2000+i), 22, "S")))
		require.False(t, r.pass("web", "cli", udpFrame(macCli, macWeb, ipWeb, ipCli, uint16(3000+i), 53)))
	}
}

// TestSGRouted: routed traffic is filtered by the egress of the port it
// entered by and the ingress of the port it leaves by, and its replies
// pass.
func TestSGRouted(t *testing.T) {
	cfg := testL3Config()
	r := newL3Rig(t, cfg)
	cfg.SecurityGroups = []SecurityGroup{
		{Name: "srv", Ports: []string{"b"}, Rules: []SGRule{
			{Name: "udp9", Direction: "ingress", Proto: "udp", Ports: "9", Remote: "10.1.0.0/24", Action: "allow"},
			{Name: "udp9-v6", Direction: "ingress", Proto: "udp", Ports: "9", Remote: "fd01::/64", Action: "allow"},
		}},
		{Name: "cli", Ports: []string{"a"}, Rules: []SGRule{
			{Name: "out", Direction: "egress", Action: "allow"},
			{Name: "no-1001", Direction: "egress", Proto: "udp", Priority: 1, Remote: "10.2.0.2/32", Action: "deny"},
		}},
	}
	require.NoError(t, r.s.Reconfigure(cfg))
	a2b := func(sport uint16) []byte { return pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, sport, 18, false) }
	r.send("a", a2b(1000))
	require.Empty(t, r.recv(), "a's egress denies UDP to 10.2.0.2")
	cfg.SecurityGroups[1].Rules = cfg.SecurityGroups[1].Rules[:1]
	require.NoError(t, r.s.Reconfigure(cfg))
	r.send("a", a2b(1000))
	only(t, r.recv(), "b", 1)
	// A datagram too big for rb's MTU, without DF: the router cuts it,
	// first fragment first, and b's ingress rule (a port) holds for the
	// later piece too (conntrack gives it the first one's ports).
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1002, 1800, false))
	only(t, r.recv(), "b", 2)
	// The reply: sport 9 -> 1000.
	b2a := func(sport, dport uint16) []byte {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP("10.2.0.2"), DstIP: net.ParseIP("10.1.0.2")}
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		must(udp.SetNetworkLayerForChecksum(ip))
		return serialize(&layers.Ethernet{DstMAC: mustMAC(macRB), SrcMAC: mustMAC(macB), EthernetType: layers.EthernetTypeIPv4}, ip, udp)
	}
	r.send("b", b2a(9, 1000))
	only(t, r.recv(), "a", 1)
	r.send("b", b2a(9, 1001))
	require.Empty(t, r.recv(), "b may not start flows (no egress rule)")
	require.EqualValues(t, 1, dropCount(t, r.s, nodeSGPolicy, "sg-default-deny"))
	// IPv6 too.
	r.send("a", pkt6(macRA, macA, "fd01::2", "fd02::2", 64, 1000, 18))
	only(t, r.recv(), "b", 1)
	// The switch's own answers (ping to the router) are not filtered.
	r.send("a", func() []byte {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.ParseIP("10.1.0.2"), DstIP: net.ParseIP("10.1.0.1")}
		return serialize(&layers.Ethernet{DstMAC: mustMAC(macRA), SrcMAC: mustMAC(macA), EthernetType: layers.EthernetTypeIPv4},
			ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1})
	}())
	only(t, r.recv(), "a", 1)
}

// TestSGTrace: a denied packet's trace names the rule.
func TestSGTrace(t *testing.T) {
	r := newSGRig(t, Options{}, webGroup())
	require.NoError(t, r.s.TraceAdd("cli", 2, nil))
	r.send("cli", sgTCP(macWeb, macCli, ipCli, ipWeb, 40001, 22, "S"))
	r.send("cli", sgTCP(macWeb, macCli, ipCli, ipWeb, 40001, 80, "S"))
	r.recv()
	tr := r.s.Traces()
	require.Len(t, tr, 2)
	hop := func(tr Trace) TraceHop {
		for _, h := range tr.Hops {
			if h.Node == nodeSGPolicy {
				return h
			}
		}
		t.Fatalf("no %s hop in %+v", nodeSGPolicy, tr.Hops)
		return TraceHop{}
	}
	h := hop(tr[0])
	require.Equal(t, "sg-deny", h.Drop)
	require.Contains(t, h.Detail, "rule web/no-ssh")
	h = hop(tr[1])
	require.Empty(t, h.Drop)
	require.Contains(t, h.Detail, "new flow")
	require.Contains(t, h.Detail, "rule web/http")
}

// TestSGConfigErrors: bad groups get typed errors and change nothing.
func TestSGConfigErrors(t *testing.T) {
	r := newSGRig(t, Options{}, webGroup())
	before := r.s.Config()
	bad := func(mod func(g *SecurityGroup, cfg *Config)) error {
		cfg := sgBridge()
		g := webGroup()
		mod(&g, &cfg)
		cfg.SecurityGroups = append(cfg.SecurityGroups, g)
		err := r.s.Reconfigure(cfg)
		require.Error(t, err)
		require.ErrorIs(t, err, ErrInvalidConfig)
		var se *SGError
		require.True(t, errors.As(err, &se), "%v is an *SGError", err)
		require.Equal(t, before, r.s.Config(), "nothing changed")
		return err
	}
	rule := func(f func(*SGRule)) func(*SecurityGroup, *Config) {
		return func(g *SecurityGroup, _ *Config) { f(&g.Rules[0]) }
	}
	require.ErrorIs(t, bad(rule(func(r *SGRule) { r.Direction = "in" })), acl.ErrBadDirection)
	require.ErrorIs(t, bad(rule(func(r *SGRule) { r.Action = "permit" })), acl.ErrBadAction)
	require.ErrorIs(t, bad(rule(func(r *SGRule) { r.Proto = "tcpp" })), ErrBadProto)
	require.ErrorIs(t, bad(rule(func(r *SGRule) { r.Ports = "90-80" })), acl.ErrPortRange)
	require.ErrorIs(t, bad(rule(func(r *SGRule) { r.Ports = "0" })), acl.ErrPortRange)
	require.ErrorIs(t, bad(rule(func(r *SGRule) { r.Proto, r.Remote = "icmp", "" })), acl.ErrPortsNeedProto)
	require.ErrorIs(t, bad(rule(func(r *SGRule) { r.Remote = "10.0.0.1/24" })), acl.ErrBadCIDR)
	require.ErrorIs(t, bad(rule(func(r *SGRule) { r.Remote = "banana" })), acl.ErrBadCIDR)
	require.ErrorIs(t, bad(rule(func(r *SGRule) { r.Remote, r.RemoteGroup = "", "nope" })), acl.ErrUnknownGroup)
	require.ErrorIs(t, bad(rule(func(r *SGRule) { r.Name = "no-ssh" })), acl.ErrDuplicateRule)
	require.ErrorIs(t, bad(rule(func(r *SGRule) { r.Name = "" })), acl.ErrEmptyName)
	require.ErrorIs(t, bad(func(g *SecurityGroup, cfg *Config) { cfg.SecurityGroups = []SecurityGroup{webGroup()} }), acl.ErrDuplicateGroup)
	require.ErrorIs(t, bad(func(g *SecurityGroup, _ *Config) { g.Addrs = []string{"10.0.0.0/8"} }), acl.ErrBadAddress)
	// Still filtering as before.
	require.False(t, r.pass("cli", "web", sgTCP(macWeb, macCli, ipCli, ipWeb, 40001, 22, "S")))
	require.True(t, r.pass("cli", "web", sgTCP(macWeb, macCli, ipCli, ipWeb, 40001, 80, "S")))
}

// TestSGRemoteGroup: a rule naming a group matches its member addresses.
func TestSGRemoteGroup(t *testing.T) {
	clients := SecurityGroup{Name: "clients", Ports: []string{"cli"}, Addrs: []string{ipCli}, Rules: []SGRule{
		{Name: "out", Direction: "egress", Action: "allow"},
	}}
	web := SecurityGroup{Name: "web", Ports: []string{"web"}, Rules: []SGRule{
		{Name: "from-clients", Direction: "ingress", Proto: "tcp", Ports: "443", RemoteGroup: "clients", Action: "allow"},
	}}
	r := newSGRig(t, Options{}, clients, web)
	require.True(t, r.pass("cli", "web", sgTCP(macWeb, macCli, ipCli, ipWeb, 1, 443, "S")))
	require.False(t, r.pass("other", "web", sgTCP(macWeb, macOther, ipOther, ipWeb, 1, 443, "S")), "other is not a member")
	require.EqualValues(t, 1, ruleCount(t, r.s, "clients", "out"))
	require.EqualValues(t, 1, ruleCount(t, r.s, "web", "from-clients"))
}

// TestSGCountersSurviveReconfig: a rule's counts carry over a change that
// keeps it.
func TestSGCountersSurviveReconfig(t *testing.T) {
	r := newSGRig(t, Options{}, webGroup())
	require.True(t, r.pass("cli", "web", sgTCP(macWeb, macCli, ipCli, ipWeb, 1, 80, "S")))
	cfg := sgBridge()
	g := webGroup()
	g.Rules = append([]SGRule{{Name: "new", Direction: "ingress", Proto: "tcp", Ports: "81", Action: "allow"}}, g.Rules...)
	cfg.SecurityGroups = []SecurityGroup{g}
	r.reconf(cfg)
	require.True(t, r.pass("cli", "web", sgTCP(macWeb, macCli, ipCli, ipWeb, 2, 80, "S")))
	require.EqualValues(t, 2, ruleCount(t, r.s, "web", "http"))
}

// fragments4 cuts an Ethernet/IPv4 frame without IP options into
// fragments of datagram id, the second starting at L4 offset at (a
// multiple of 8), each with its header checksum right.
func fragments4(frame []byte, id uint16, at int) [][]byte {
	hdr, l4 := frame[:34], frame[34:]
	var out [][]byte
	for i, piece := range [][]byte{l4[:at], l4[at:]} {
		f := append(append([]byte(nil), hdr...), piece...)
		ip := f[14:34]
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(piece)))
		binary.BigEndian.PutUint16(ip[4:], id)
		binary.BigEndian.PutUint16(ip[6:], map[bool]uint16{true: 0x2000, false: uint16(at / 8)}[i == 0])
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:], ^onesSum(ip, 0))
		out = append(out, f)
	}
	return out
}

// TestSGFragments: the pieces of a datagram too big for one frame pass
// as their first piece does. web takes DNS (udp 53) and may send nothing
// of its own: a big query's later fragment (no ports to match the rule
// with) and the later fragment of its big answer (egress, where only
// replies pass) used to meet the default deny, so neither datagram could
// be put together again; now conntrack gives them their first
// fragment's ports (its fragment table) and they pass with its flow. A
// later fragment whose first was never seen is still denied.
func TestSGFragments(t *testing.T) {
	r := newSGRig(t, Options{}, webGroup())
	big := func(src, dst string, sport, dport uint16, srcMAC, dstMAC string) []byte {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		must(udp.SetNetworkLayerForChecksum(ip))
		return serialize(&layers.Ethernet{DstMAC: mustMAC(dstMAC), SrcMAC: mustMAC(srcMAC), EthernetType: layers.EthernetTypeIPv4},
			ip, udp, gopacket.Payload(make([]byte, 1200)))
	}
	for i, f := range fragments4(big(ipCli, ipWeb, 5353, 53, macCli, macWeb), 100, 600) {
		require.True(t, r.pass("cli", "web", f), "query fragment %d", i)
	}
	for i, f := range fragments4(big(ipWeb, ipCli, 53, 5353, macWeb, macCli), 200, 600) {
		require.True(t, r.pass("web", "cli", f), "answer fragment %d", i)
	}
	// Two datagrams' fragments interleaved, in one vector.
	a := fragments4(big(ipCli, ipWeb, 5354, 53, macCli, macWeb), 101, 600)
	b := fragments4(big(ipCli, ipWeb, 5355, 53, macCli, macWeb), 102, 608)
	r.send("cli", a[0], b[0], b[1], a[1])
	require.Len(t, r.recv()["web"], 4)
	// No first fragment: denied, as before.
	lost := fragments4(big(ipWeb, ipCli, 53, 5356, macWeb, macCli), 201, 600)[1]
	require.False(t, r.pass("web", "cli", lost))
	require.Positive(t, r.s.SGStats().Conntrack.Fragments)
}

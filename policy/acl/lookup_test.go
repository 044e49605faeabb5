package acl

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

var ip = netip.MustParseAddr
var pfx = netip.MustParsePrefix

// testModel: web (ports 1, 2) takes http/https from anywhere, ssh from
// the admin network and pings; db (port 3) takes postgres from web only;
// port 4 is in web and quarantine, whose high-priority deny beats web's
// allows for one network; port 5 is in a group with no rules; port 9 in
// no group.
func testModel() *Model {
	return &Model{Groups: []Group{
		{
			Name:  "web",
			Ports: []uint16{1, 2},
			Addrs: []netip.Addr{ip("10.0.0.1"), ip("10.0.0.2"), ip("2001:db8::1")},
			Rules: []Rule{
				{Name: "http", Proto: ProtoTCP, Ports: PortRange{80, 80}},
				{Name: "https", Proto: ProtoTCP, Ports: Port(443)},
				{Name: "ssh", Proto: ProtoTCP, Ports: Port(22), Remote: pfx("192.168.0.0/16")},
				{Name: "ssh6", Proto: ProtoTCP, Ports: Port(22), Remote: pfx("2001:db8:ff::/48")},
				{Name: "ping", Proto: ProtoICMP, ICMP: &ICMPMatch{Type: 8, AnyCode: true}},
				{Name: "ping6", Proto: ProtoICMPv6, ICMP: &ICMPMatch{Type: 128}},
				{Name: "no-telnet", Proto: ProtoTCP, Ports: Port(23), Action: Deny},
				{Name: "high", Proto: ProtoUDP, Ports: PortRange{30000, 32767}, SrcPorts: Port(53)},
				{Name: "out", Direction: Egress},
			},
		},
		{
			Name:  "db",
			Ports: []uint16{3},
			Addrs: []netip.Addr{ip("10.0.1.1")},
			Rules: []Rule{
				{Name: "pg", Proto: ProtoTCP, Ports: Port(5432), RemoteGroup: "web"},
				{Name: "out-web", Direction: Egress, RemoteGroup: "web"},
				{Name: "out-dns4", Direction: Egress, Family: 4, Proto: ProtoUDP, Ports: Port(53)},
			},
		},
		{
			Name:  "quarantine",
			Ports: []uint16{4},
			Rules: []Rule{
				{Name: "block", Remote: pfx("172.16.0.0/12"), Priority: 10, Action: Deny},
				{Name: "but-ping", Remote: pfx("172.16.5.0/24"), Proto: ProtoICMP, Priority: 20},
				{Name: "tie-allow", Proto: ProtoTCP, Ports: Port(8080), Priority: 5},
				{Name: "tie-deny", Proto: ProtoTCP, Ports: Port(8080), Priority: 5, Action: Deny},
			},
		},
		{Name: "web2", Ports: []uint16{4}, Rules: []Rule{
			{Name: "http", Proto: ProtoTCP, Ports: Port(80)},
		}},
		{Name: "empty", Ports: []uint16{5}},
	}}
}

func tcp(src, dst string, sport, dport uint16) Key {
	var k Key
	k.SetAddrs(ip(src), ip(dst))
	k.Proto, k.SrcPort, k.DstPort = ProtoTCP, sport, dport
	return k
}

func udp(src, dst string, sport, dport uint16) Key {
	k := tcp(src, dst, sport, dport)
	k.Proto = ProtoUDP
	return k
}

func icmp(src, dst string, typ, code uint8) Key {
	var k Key
	k.SetAddrs(ip(src), ip(dst))
	k.Proto = ProtoICMP
	if k.IPv6 {
		k.Proto = ProtoICMPv6
	}
	k.SetICMP(typ, code)
	return k
}

func TestLookupSemantics(t *testing.T) {
	c, err := Compile(testModel())
	require.NoError(t, err)
	allow := func(g, r string) refResult { return refResult{VerdictAllow, g, r} }
	deny := func(g, r string) refResult { return refResult{VerdictDeny, g, r} }
	defDeny := refResult{v: VerdictDefaultDeny}
	unf := refResult{v: VerdictUnfiltered}
	for _, tc := range []struct {
		name string
		dir  Direction
		port uint16
		key  Key
		want refResult
	}{
		{"http in", Ingress, 1, tcp("8.8.8.8", "10.0.0.1", 40000, 80), allow("web", "http")},
		{"http in v6", Ingress, 2, tcp("2001:db8:5::9", "2001:db8::1", 40000, 80), allow("web", "http")},
		{"https in", Ingress, 1, tcp("8.8.8.8", "10.0.0.1", 40000, 443), allow("web", "https")},
		{"port between", Ingress, 1, tcp("8.8.8.8", "10.0.0.1", 40000, 81), defDeny},
		{"port below", Ingress, 1, tcp("8.8.8.8", "10.0.0.1", 40000, 79), defDeny},
		{"http is tcp only", Ingress, 1, udp("8.8.8.8", "10.0.0.1", 40000, 80), defDeny},
		{"ssh from admin", Ingress, 1, tcp("192.168.3.4", "10.0.0.1", 40000, 22), allow("web", "ssh")},
		{"ssh from admin edge", Ingress, 1, tcp("192.168.255.255", "10.0.0.1", 40000, 22), allow("web", "ssh")},
		{"ssh from outside", Ingress, 1, tcp("192.169.0.0", "10.0.0.1", 40000, 22), defDeny},
		{"ssh v6 admin", Ingress, 1, tcp("2001:db8:ff:1::1", "2001:db8::1", 1, 22), allow("web", "ssh6")},
		{"ssh v6 outside", Ingress, 1, tcp("2001:db8:fe::1", "2001:db8::1", 1, 22), defDeny},
		{"ping", Ingress, 1, icmp("8.8.8.8", "10.0.0.1", 8, 3), allow("web", "ping")},
		{"pong not", Ingress, 1, icmp("8.8.8.8", "10.0.0.1", 0, 0), defDeny},
		{"ping6 code", Ingress, 1, icmp("2001:db8:5::9", "2001:db8::1", 128, 0), allow("web", "ping6")},
		{"ping6 other code", Ingress, 1, icmp("2001:db8:5::9", "2001:db8::1", 128, 1), defDeny},
		{"icmp rule not for v6", Ingress, 1, func() Key { k := icmp("2001:db8:5::9", "2001:db8::1", 8, 0); k.Proto = ProtoICMP; return k }(), defDeny},
		{"deny telnet", Ingress, 1, tcp("8.8.8.8", "10.0.0.1", 40000, 23), deny("web", "no-telnet")},
		{"udp range and src port", Ingress, 1, udp("8.8.8.8", "10.0.0.1", 53, 31000), allow("web", "high")},
		{"udp range top", Ingress, 1, udp("8.8.8.8", "10.0.0.1", 53, 32767), allow("web", "high")},
		{"udp range past top", Ingress, 1, udp("8.8.8.8", "10.0.0.1", 53, 32768), defDeny},
		{"udp range wrong src port", Ingress, 1, udp("8.8.8.8", "10.0.0.1", 54, 31000), defDeny},
		{"egress anything", Egress, 1, udp("10.0.0.1", "1.1.1.1", 5000, 53), allow("web", "out")},
		{"egress rule not ingress", Ingress, 2, udp("1.1.1.1", "10.0.0.1", 53, 5000), defDeny},
		{"ingress rule not egress", Egress, 3, tcp("10.0.1.1", "10.0.0.1", 5432, 40000), allow("db", "out-web")},
		{"remote group member", Ingress, 3, tcp("10.0.0.2", "10.0.1.1", 40000, 5432), allow("db", "pg")},
		{"remote group member v6", Ingress, 3, tcp("2001:db8::1", "2001:db8::2", 40000, 5432), allow("db", "pg")},
		{"remote group non-member", Ingress, 3, tcp("10.0.0.3", "10.0.1.1", 40000, 5432), defDeny},
		{"remote group non-member v6", Ingress, 3, tcp("2001:db8::2", "2001:db8::3", 40000, 5432), defDeny},
		{"egress remote is dst", Egress, 3, tcp("10.0.1.1", "10.0.0.2", 40000, 80), allow("db", "out-web")},
		{"egress remote is not src", Egress, 3, tcp("10.0.0.2", "10.0.0.9", 40000, 80), defDeny},
		{"egress family 4", Egress, 3, udp("10.0.1.1", "9.9.9.9", 40000, 53), allow("db", "out-dns4")},
		{"egress family 4 not 6", Egress, 3, udp("2001:db8::2", "2001:4860::8888", 40000, 53), defDeny},
		{"priority deny beats allow", Ingress, 4, tcp("172.20.0.1", "10.0.0.5", 1, 80), deny("quarantine", "block")},
		{"priority allow beats deny", Ingress, 4, icmp("172.16.5.1", "10.0.0.5", 8, 0), allow("quarantine", "but-ping")},
		{"second group outside block", Ingress, 4, tcp("8.8.8.8", "10.0.0.5", 1, 80), allow("web2", "http")},
		{"tie: deny wins", Ingress, 4, tcp("8.8.8.8", "10.0.0.5", 1, 8080), deny("quarantine", "tie-deny")},
		{"group without rules", Ingress, 5, tcp("8.8.8.8", "10.0.0.5", 1, 80), defDeny},
		{"group without rules egress", Egress, 5, tcp("10.0.0.5", "8.8.8.8", 1, 80), defDeny},
		{"unfiltered port", Ingress, 9, tcp("8.8.8.8", "10.0.0.5", 1, 23), unf},
		{"unfiltered port 0", Egress, 0, tcp("8.8.8.8", "10.0.0.5", 1, 23), unf},
		{"port past table", Ingress, 65535, tcp("8.8.8.8", "10.0.0.5", 1, 23), unf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, bad := classify(c, tc.dir, tc.port, &tc.key)
			require.Empty(t, bad)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.want, ref{testModel()}.lookup(tc.dir, tc.port, &tc.key), "reference model")
		})
	}
}

// TestDefaultDenyCounters checks that each set of groups and direction
// has its own default-deny counter index, named after the groups.
func TestDefaultDenyCounters(t *testing.T) {
	c, err := Compile(testModel())
	require.NoError(t, err)
	require.Equal(t, 4, c.Sets()) // {web}, {db}, {quarantine, web2}, {empty}
	k := tcp("8.8.8.8", "10.0.0.5", 1, 9999)
	_, i1 := c.Lookup(Ingress, 1, &k)
	_, i2 := c.Lookup(Ingress, 2, &k)
	_, e1 := c.Lookup(Egress, 5, &k)
	_, i4 := c.Lookup(Ingress, 4, &k)
	require.Equal(t, i1, i2)
	require.NotEqual(t, i1, e1)
	require.Equal(t, RuleInfo{Group: "web", Rule: DefaultDenyName, Direction: Ingress, Action: Deny,
		Default: true, Ports: []uint16{1, 2}}, c.Rule(i1))
	require.Equal(t, "quarantine,web2", c.Rule(i4).Group)
	require.Equal(t, Egress, c.Rule(e1).Direction)
}

// TestPublish swaps classifiers through an atomic.Pointer while readers
// look up, as workers do once per vector: every lookup answers by the old
// or the new rules, and after the swap new lookups use the new ones.
func TestPublish(t *testing.T) {
	m1 := testModel()
	c1, err := Compile(m1)
	require.NoError(t, err)
	m2 := testModel()
	m2.Groups[0].Rules[0].Action = Deny // http now denied
	c2, err := Compile(m2)
	require.NoError(t, err)
	var cur atomic.Pointer[Classifier]
	cur.Store(c1)
	k := tcp("8.8.8.8", "10.0.0.1", 40000, 80)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := cur.Load()
				v, idx := c.Lookup(Ingress, 1, &k)
				if r := c.Rule(idx); r.Rule != "http" || (v == VerdictDeny) != (c == c2) {
					t.Errorf("%v %+v", v, r)
					return
				}
			}
		})
	}
	cur.Store(c2)
	v, _ := cur.Load().Lookup(Ingress, 1, &k)
	require.Equal(t, VerdictDeny, v)
	close(stop)
	wg.Wait()
}

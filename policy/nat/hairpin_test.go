package nat

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

// newInternalRig is a switch with no masquerade: two networks behind
// router interfaces 10.1.0.1/24 + fd01::1/64 and 10.3.0.1/24
// (SetInternal), and an uplink 10.2.0.1 (an "any" map binds it).
func newInternalRig(t *testing.T) *rig {
	ct, err := conntrack.New(conntrack.Config{Capacity: 1 << 12})
	require.NoError(t, err)
	nt, err := NewTable(Config{})
	require.NoError(t, err)
	require.NoError(t, nt.SetUplinks([]netip.Addr{addr("10.2.0.1"), addr("fd02::1")}))
	require.NoError(t, nt.SetInternal([]netip.Prefix{netip.MustParsePrefix("10.1.0.1/24"),
		netip.MustParsePrefix("fd01::1/64"), netip.MustParsePrefix("10.3.0.1/24")}))
	return &rig{t: t, ct: ct, cw: ct.NewWorker(), nt: nt, w: nt.NewWorker(ct), now: 100}
}

// TestHairpinInternal: a client reaching a service VIP or a port map
// whose target is in its own network is hairpinned (source to that
// network's gateway) though no network is masqueraded, IPv4 and IPv6;
// the target's reply comes back from the VIP or the mapped address. A
// client of another network, or of the outside, keeps its address. On
// the code before, only a masqueraded network hairpinned: the flow kept
// the client's source, and the target answered it directly, on its own
// link, from its own address.
func TestHairpinInternal(t *testing.T) {
	r := newInternalRig(t)
	require.NoError(t, r.nt.SetService(Service{Proto: protoTCP, VIP: addr("10.96.0.10"), Port: 80, Backends: []Backend{bk("10.1.0.5", 8080, 1)}}))
	require.NoError(t, r.nt.SetService(Service{Proto: protoTCP, VIP: addr("fd96::10"), Port: 80, Backends: []Backend{bk("fd01::5", 8080, 1)}}))
	require.NoError(t, r.nt.AddMap(Map{Proto: protoTCP, Host: netip.IPv4Unspecified(), HostPort: 8088, Target: addr("10.1.0.5"), TargetPort: 8080}))
	require.NoError(t, r.nt.AddMap(Map{Proto: protoTCP, Host: netip.IPv6Unspecified(), HostPort: 8088, Target: addr("fd01::5"), TargetPort: 8080}))

	for i, c := range []struct {
		name, client, dst, gw, target string
		want                          Action
	}{
		{"service v4", "10.1.0.2", "10.96.0.10", "10.1.0.1", "10.1.0.5", ActLB | ActDNAT | ActSNAT | ActHairpin},
		{"service v6", "fd01::2", "fd96::10", "fd01::1", "fd01::5", ActLB | ActDNAT | ActSNAT | ActHairpin},
		{"map v4", "10.1.0.2", "10.2.0.1", "10.1.0.1", "10.1.0.5", ActDNAT | ActSNAT | ActHairpin},
		{"map v6", "fd01::2", "fd02::1", "fd01::1", "fd01::5", ActDNAT | ActSNAT | ActHairpin},
		{"service from another network", "10.3.0.2", "10.96.0.10", "", "10.1.0.5", ActLB | ActDNAT},
		{"map from another network", "10.3.0.2", "10.2.0.1", "", "10.1.0.5", ActDNAT},
		{"service from outside", "198.51.100.7", "10.96.0.10", "", "10.1.0.5", ActLB | ActDNAT},
	} {
		sp := uint16(5000 + i) // each case a flow of its own
		t.Run(c.name, func(t *testing.T) {
			port := map[bool]uint16{true: 80, false: 8088}[c.want&ActLB != 0]
			pkt := tcp(c.client, c.dst, sp, port, fSYN).build()
			_, act, reason := r.send(pkt)
			require.Equal(t, ReasonNone, reason, reason.String())
			require.Equal(t, c.want, act)
			src := c.client
			if c.gw != "" {
				src = c.gw
			}
			var p conntrack.Packet
			conntrack.Parse(&p, pkt, 0)
			require.Equal(t, tcp(src, c.target, p.Key.SrcPort, 8080, fSYN).build(), pkt,
				"the target sees the gateway (hairpin) or the client")
			// The target's reply comes back from what the client asked for.
			r.expect(tcp(c.target, src, 8080, p.Key.SrcPort, fSYN|fACK), tcp(c.dst, c.client, port, sp, fSYN|fACK))
		})
	}
	c := r.counters()
	require.Equal(t, uint64(2), c.Hairpin, "port maps' hairpins")
	require.Equal(t, uint64(4), c.LB)
	require.Equal(t, uint64(1), c.DNAT)

	// Bad internal networks change nothing.
	for _, p := range []netip.Prefix{{}, netip.MustParsePrefix("224.0.0.1/4"), netip.MustParsePrefix("0.0.0.0/0")} {
		require.ErrorIs(t, r.nt.SetInternal([]netip.Prefix{p}), ErrPrefix, "%v", p)
	}
	pkt := tcp("10.1.0.3", "10.96.0.10", 5000, 80, fSYN).build()
	_, act, _ := r.send(pkt)
	require.Equal(t, ActLB|ActDNAT|ActSNAT|ActHairpin, act)
}

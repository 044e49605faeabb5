package nat

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

// prepRig is a rig with a port map, a service with backends and one
// with none, as the vector of TestPrepareCommits needs.
func prepRig(t *testing.T) *rig {
	r := newSvcRig(t, false)
	require.NoError(t, r.nt.AddMap(Map{Proto: protoTCP, Host: netip.MustParseAddr("203.0.113.1"), HostPort: 8080, Target: netip.MustParseAddr("10.0.0.5"), TargetPort: 80}))
	require.NoError(t, r.nt.SetService(webService(1, 1)))
	none := webService(1)
	none.Port, none.Backends[0].Drained = 81, true
	require.NoError(t, r.nt.SetService(none))
	return r
}

// TestPrepareCommits: PrepareCommits between TrackBatch and the commits
// of a vector of every kind of new flow (masqueraded TCP, UDP, ICMP and
// IPv6, a port mapping, a hairpin, a service, a service with no backend,
// untranslated, a flow whose own port is taken) and of packets that
// start none changes nothing: a twin rig that skips it commits and
// translates every packet alike, counters included; and it allocates
// nothing.
func TestPrepareCommits(t *testing.T) {
	var specs []*spec
	for i := range 30 {
		udp := tcp("10.0.0.2", "198.51.100.9", uint16(5000+i), 53, 0)
		udp.proto = protoUDP
		specs = append(specs,
			tcp("10.0.0.2", "198.51.100.9", uint16(1000+i), 443, fSYN), // masquerade
			udp, // masquerade UDP
			echo("10.0.0.3", "198.51.100.9", uint16(i), false),              // masquerade ICMP
			tcp("fd00::2", "2001:db8:f::9", uint16(1000+i), 443, fSYN),      // masquerade IPv6
			tcp("198.51.100.7", "203.0.113.1", uint16(40000+i), 8080, fSYN), // port map
			tcp("10.0.0.9", "203.0.113.1", uint16(2000+i), 8080, fSYN),      // hairpin
			tcp(fmt.Sprintf("198.51.100.%d", 10+i), vip, 4000, 80, fSYN),    // service
			tcp("198.51.100.8", vip, uint16(4000+i), 81, fSYN),              // service, no backend
			tcp("10.0.0.2", "10.0.0.3", uint16(3000+i), 22, fSYN),           // untranslated
			tcp("10.0.0.4", "198.51.100.9", uint16(1000+i), 443, fSYN),      // own port taken (by 10.0.0.2's)
			tcp("10.0.0.2", "198.51.100.9", uint16(7000+i), 443, fACK),      // no SYN: invalid
		)
	}
	run := func(r *rig, prepare bool) (out []any) {
		ps := make([]conntrack.Packet, len(specs))
		res := make([]conntrack.Result, len(specs))
		pkts := make([][]byte, len(specs))
		for i, s := range specs {
			pkts[i] = s.build()
			conntrack.Parse(&ps[i], pkts[i], 0)
		}
		r.cw.TrackBatch(ps, res, r.now)
		if prepare {
			nc, cc, n := r.counters(), r.ct.Counters(), r.ct.Len()
			r.w.PrepareCommits(r.cw, ps, res)
			r.cw.Publish()
			require.Equal(t, nc, r.counters(), "NAT counters")
			require.Equal(t, cc, r.ct.Counters(), "conntrack counters")
			require.Equal(t, n, r.ct.Len(), "flows")
			require.Zero(t, testing.AllocsPerRun(10, func() { r.w.PrepareCommits(r.cw, ps, res) }))
		}
		for i := range ps {
			got := res[i]
			var act Action
			why := ReasonNone
			if got.State == conntrack.StateNew && got.Conn == 0 {
				got, act, why = r.w.Commit(r.cw, &ps[i], r.now, 0)
			}
			if why == ReasonNone && got.Conn != 0 {
				_, why = r.w.Translate(pkts[i], &ps[i], got, false)
			}
			out = append(out, got, act, why, pkts[i])
		}
		r.cw.Publish()
		return append(out, r.counters(), r.ct.Counters(), r.nt.ServiceCounters())
	}
	plain, prepared := run(prepRig(t), false), run(prepRig(t), true)
	require.Equal(t, plain, prepared)
	// The vector exercised what it says.
	c := prepRig(t)
	run(c, true)
	got := c.counters()
	require.NotZero(t, got.SNAT)
	require.NotZero(t, got.DNAT)
	require.NotZero(t, got.Hairpin)
	require.NotZero(t, got.LB)
	require.NotZero(t, got.Reasons[ReasonNoBackend])
}

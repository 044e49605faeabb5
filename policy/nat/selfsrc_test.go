package nat

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSourceIsUplink: a new flow from the switch's own outside address
// (a network's external address, or another uplink's) is refused as
// forged, with its own reason: not as ports-exhausted when it collides
// with a masqueraded flow that has that address and port (it was, until
// 2026-12-08), and not committed untranslated when it does not (it left
// with the uplink's address and took the port from the masquerade).
// Flows to the uplink address, and the masquerade, are unchanged.
func TestSourceIsUplink(t *testing.T) {
	for _, f := range [][4]string{{"10.0.0.5", "198.51.100.7", "203.0.113.1", "203.0.113.2"},
		{"fd00::5", "2001:db8:1::7", "2001:db8:e::1", "2001:db8:e::1"}} {
		c1, srv, ext, up := f[0], f[1], f[2], f[3]
		t.Run(srv, func(t *testing.T) {
			r := newRig(t, Config{})
			r.expect(tcp(c1, srv, 5000, 80, fSYN), tcp(ext, srv, 5000, 80, fSYN))
			for _, s := range []*spec{
				tcp(ext, srv, 5000, 80, fSYN), // the masqueraded flow's own tuple
				tcp(ext, srv, 6000, 80, fSYN), // a free port
				tcp(up, srv, 7000, 80, fSYN),  // another uplink address
				echo(ext, srv, 9, false),
			} {
				pkt := s.build()
				before := append([]byte(nil), pkt...)
				_, _, reason := r.send(pkt)
				require.Equal(t, ReasonSrcIsUplink, reason, reason.String())
				require.Equal(t, before, pkt)
			}
			// The refused flows took no port: a container's flow from
			// 6000 keeps it.
			r.expect(tcp("10.0.0.6", "198.51.100.7", 6000, 80, fSYN), tcp("203.0.113.1", "198.51.100.7", 6000, 80, fSYN))
			// From outside to the uplink: committed as before.
			_, _, reason := r.send(tcp(srv, ext, 4000, 22, fSYN).build())
			require.Equal(t, ReasonNone, reason)
			c := r.counters()
			require.EqualValues(t, 4, c.Reasons[ReasonSrcIsUplink])
			require.Zero(t, c.Reasons[ReasonPortsExhausted])
			require.Equal(t, "src-is-uplink", ReasonSrcIsUplink.String())
		})
	}
}

package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestL3PathAllocations checks that a worker's poll allocates nothing on
// the L3 paths: IPv4 and IPv6 forwarding (routed and ECMP), ICMP errors
// built in place, echo replies, ARP replies and glean drops.
func TestL3PathAllocations(t *testing.T) {
	cfg := testL3Config()
	cfg.Neighbors = append(cfg.Neighbors, Neighbor{Interface: "rb", Addr: "10.2.0.3", MAC: macN(3)})
	cfg.Routes = []Route{{Prefix: "10.50.0.0/16", Via: []NextHop{{Addr: "10.2.0.2"}, {Addr: "10.2.0.3"}}}}
	r := newL3Rig(t, cfg)
	arp := serializeARPRequest("10.1.0.9", "10.1.0.1")
	w := r.s.Workers()[0]
	for _, tc := range []struct {
		name  string
		frame []byte
		out   string
	}{
		{"ip4 forward", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1, 18, false), "b"},
		{"ip4 ecmp", pkt4(macRA, macA, "10.1.0.2", "10.50.0.2", 64, 1, 18, false), "b"},
		{"ip6 forward", pkt6(macRA, macA, "fd01::2", "fd02::2", 64, 1, 18), "b"},
		{"ip4 ttl expired", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 1, 1, 18, false), "a"},
		{"ip6 too big", pkt6(macRA, macA, "fd01::2", "fd02::2", 9, 1, 1400), "a"},
		{"arp reply", arp, "a"},
		{"glean", pkt4(macRA, macA, "10.1.0.2", "10.2.0.99", 64, 1, 18, false), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.send("a", tc.frame)
			got := r.recv()
			if tc.out != "" {
				require.Contains(t, got, tc.out)
			}
			for _, q := range r.ports {
				q.SetSink(true)
			}
			defer func() {
				for _, q := range r.ports {
					q.SetSink(false)
				}
			}()
			frames := repeatFrame(64, tc.frame)
			p := r.ports["a"]
			allocs := testing.AllocsPerRun(50, func() {
				p.Inject(0, frames...)
				w.Poll()
			})
			require.Zero(t, allocs, "allocations per poll")
			requireNoLeak(t, r.s)
		})
	}
}

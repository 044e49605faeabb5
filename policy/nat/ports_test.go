package nat

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/policy/conntrack"
)

// TestPortFilter: dnat and service, which look in their maps only for a
// port some map or service uses (Rules.ports), answer every query as the
// maps alone would.
func TestPortFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	nt, err := NewTable(Config{})
	require.NoError(t, err)
	host := netip.MustParseAddr("203.0.113.1")
	require.NoError(t, nt.SetUplinks([]netip.Addr{host}))
	ports := []uint16{1, 80, 443, 8080, 65535}
	for range 40 {
		ports = append(ports, uint16(rng.IntN(1<<16)))
	}
	for i, p := range ports {
		h := host
		if i%3 == 0 {
			h = netip.IPv4Unspecified()
		}
		if i%2 == 0 {
			_ = nt.AddMap(Map{Proto: protoTCP, Host: h, HostPort: p, Target: netip.MustParseAddr("10.0.0.5"), TargetPort: 80})
		} else {
			_ = nt.SetService(Service{Proto: protoUDP, VIP: h, Port: p, Backends: []Backend{bk("10.0.0.6", 53, 1)}})
		}
	}
	r := nt.Rules()
	refDNAT := func(proto uint8, dst conntrack.Addr, port uint16) (target, bool) {
		k := mapKey{dst, port, proto, false}
		if tg, ok := r.maps[k]; ok {
			return tg, true
		}
		if r.uplinks[dst] {
			k.addr = conntrack.Addr{}
			tg, ok := r.anyMaps[k]
			return tg, ok
		}
		return target{}, false
	}
	refSvc := func(proto uint8, dst conntrack.Addr, port uint16) *compiledSvc {
		k := mapKey{dst, port, proto, false}
		if c := r.svcs[k]; c != nil {
			return c
		}
		if r.uplinks[dst] {
			k.addr = conntrack.Addr{}
			return r.anySvcs[k]
		}
		return nil
	}
	dsts := []conntrack.Addr{conntrack.AddrFrom(host), mustAddr("198.51.100.1")}
	found := 0
	for q := range 200000 {
		port := uint16(rng.IntN(1 << 16))
		if q%4 == 0 {
			port = ports[rng.IntN(len(ports))]
		}
		proto := []uint8{protoTCP, protoUDP}[q%2]
		dst := dsts[q/2%2]
		tg, ok := r.dnat(proto, dst, port, false)
		rtg, rok := refDNAT(proto, dst, port)
		require.Equal(t, rok, ok, "dnat %d/%d", port, proto)
		require.Equal(t, rtg, tg)
		sv := r.service(proto, dst, port, false)
		require.Equal(t, refSvc(proto, dst, port), sv, "service %d/%d", port, proto)
		if ok || sv != nil {
			found++
		}
	}
	require.Greater(t, found, 1000, "the queries found maps and services")
}

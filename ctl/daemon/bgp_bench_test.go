package daemon

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vecswitch/vecswitch/bgp"
)

// BenchmarkBGPInstall measures learned routes from the speaker's callback
// to the switch's FIB: 100,000 /32s in batches of 1,000 events (GoBGP
// hands over about one UPDATE's worth at a time), until bgp/show counts
// them all in the switch's configuration (its FIBs follow by
// difference in the same commit). Each batch recompiles the whole configuration
// (static plus learned routes), so the rate falls as the table grows.
func BenchmarkBGPInstall(b *testing.B) {
	const routes, batch = 100000, 1000
	for b.Loop() {
		b.StopTimer()
		m := startMem(b, b.TempDir())
		for _, c := range [][]string{
			{"add-br", "up"}, {"rif/add", "ru", "bridge=up", "addr=192.0.2.1/24"},
			{"bgp/set", "as=65000", "router-id=10.179.0.1", "listen-port=0"},
		} {
			m.ok(b, nil, c[0], c[1:]...)
		}
		m.d.mu.Lock()
		on := m.d.bgp.learned.handler(m.d.bgp.learned.gen)
		m.d.mu.Unlock()
		evs := make([]bgp.RouteEvent, routes)
		nh := []netip.Addr{netip.MustParseAddr("192.0.2.2")}
		for i := range evs {
			evs[i] = bgp.RouteEvent{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(100 + i>>16), byte(i >> 8), byte(i)}), 32), NextHops: nh}
		}
		b.StartTimer()
		start := time.Now()
		for i := 0; i < routes; i += batch {
			on(evs[i : i+batch])
		}
		for len(m.d.sw.Config().Routes) < routes { // in the switch's FIBs
			time.Sleep(time.Millisecond)
		}
		el := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(routes)/el.Seconds(), "routes/s")
		m.stop()
		b.StartTimer()
	}
}

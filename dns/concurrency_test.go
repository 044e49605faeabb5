package dns

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	mdns "github.com/miekg/dns"
	"github.com/stretchr/testify/require"
)

// TestConcurrentUpdates: readers query while writers add, change and
// delete endpoints and services and replace a whole network. Every answer
// must be one a published state could give: e<i> resolves to 10.9.<i>.x
// or not at all, and web, never touched, always resolves. Run with -race.
func TestConcurrentUpdates(t *testing.T) {
	reg := testRegistry(t)
	r := New(reg, Config{})
	defer r.Close()
	const names = 32
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				k := (i*7 + w) % names
				name := fmt.Sprintf("e%d", k)
				switch i % 5 {
				case 0, 1:
					reg.SetEndpoint("net1", name, netip.AddrFrom4([4]byte{10, 9, byte(k), byte(i)}))
				case 2:
					reg.DeleteEndpoint("net1", name)
				case 3:
					reg.SetService("net1", "s"+name, netip.AddrFrom4([4]byte{10, 9, byte(k), 1}))
				case 4:
					reg.DeleteService("net1", "s"+name)
				}
				if i%200 == 0 {
					reg.SetNetwork("net2", Network{Domain: "corp.example", Endpoints: map[string][]netip.Addr{"web": {netip.AddrFrom4([4]byte{10, 2, 0, byte(i)})}}})
				}
			}
		}()
	}
	var readers sync.WaitGroup
	for g := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			out := make([]byte, 1232)
			m := new(mdns.Msg)
			for i := 0; i < 3000; i++ {
				k := (i + g) % names
				name := fmt.Sprintf("e%d.net1.vecswitch.", k)
				if i%3 == 0 {
					name = fmt.Sprintf("se%d.", k)
				}
				n, reason := r.Answer("net1", query(t, name, mdns.TypeA), out, UDP)
				if err := m.Unpack(out[:n]); err != nil {
					t.Errorf("unpack: %v", err)
					return
				}
				switch reason {
				case NXDomain:
				case Answered:
					for _, rr := range m.Answer {
						a := rr.(*mdns.A).A.To4()
						if a[0] != 10 || a[1] != 9 || int(a[2]) != k {
							t.Errorf("%s -> %v", name, a)
						}
					}
				default:
					t.Errorf("%s: %v", name, reason)
				}
				n, reason = r.Answer("net1", query(t, "web.", mdns.TypeA), out, UDP)
				if reason != Answered || n == 0 {
					t.Errorf("web: %v", reason)
				}
			}
		}()
	}
	readers.Wait()
	stop.Store(true)
	wg.Wait()
	require.EqualValues(t, 4*3000*2, r.Count(Answered)+r.Count(NXDomain))
}

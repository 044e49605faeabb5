package vswitch

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestEgressMTUFastMatchesNodes: with router interfaces whose effective
// MTU comes from their ports' (b at 1400 or 1300, the routed port c at
// 1000 or 1500; the interfaces' own 1500, 1400 or 1280), the routing
// fast loops and the general ones agree on every IPv4 and IPv6 packet
// around those sizes, with and without DF: same frames out of the same
// ports (ICMP errors and fragments included), same drop counters.
func TestEgressMTUFastMatchesNodes(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { egressMTUFastVsNodes(t, seed) })
	}
}

func egressMTUFastVsNodes(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1400))
	cfg := testL3Config()
	cfg.Interfaces[1].MTU = []int{0, 1400, 1280}[r.IntN(3)]
	cfg.Interfaces = append(cfg.Interfaces, Interface{Name: "rc", Port: "c", MAC: macRC, Addrs: []string{"10.3.0.1/24", "fd03::1/64"},
		MTU: []int{0, 1400, 1280}[r.IntN(3)]})
	cfg.Neighbors = append(cfg.Neighbors, Neighbor{Interface: "rc", Addr: "10.3.0.2", MAC: macN(30)},
		Neighbor{Interface: "rc", Addr: "fd03::2", MAC: macN(30)})
	bMTU, cMTU := []int{1400, 1300}[r.IntN(2)], []int{1000, 1500}[r.IntN(2)]
	rigs := [2]*rig{newRig(t, Options{}), newRig(t, Options{})}
	rigs[1].s.lrn.unfused.Store(true)
	for _, rg := range rigs {
		rg.attach("a", "b2")
		rg.attachMTU("b", bMTU)
		rg.attachMTU("c", cMTU)
		rg.reconf(cfg)
		rg.send("a", frame(bcast(), macA, -1))
		rg.send("b", frame(bcast(), macB, -1))
		rg.recv()
	}
	dsts4 := []string{"10.1.0.2", "10.2.0.2", "10.3.0.2"}
	dsts6 := []string{"fd01::2", "fd02::2", "fd03::2"}
	for batch := range 30 {
		frames := make([][]byte, 1+r.IntN(40))
		for i := range frames {
			size := []int{100, 950, 980, 1250, 1280, 1300, 1372, 1400, 1460}[r.IntN(9)]
			d := r.IntN(3)
			if r.IntN(3) == 0 {
				frames[i] = pkt6(macRA, macA, "fd01::2", dsts6[d], 64, uint16(r.IntN(4)), size-48)
			} else {
				frames[i] = pkt4(macRA, macA, "10.1.0.2", dsts4[d], 64, uint16(r.IntN(4)), size-28, r.IntN(2) == 0)
			}
		}
		requireSameOut(t, rigs, "a", frames, batch)
	}
	for _, rg := range rigs {
		requireNoLeak(t, rg.s)
	}
}

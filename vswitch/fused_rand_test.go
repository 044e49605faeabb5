package vswitch

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestL2FusedMatchesNodes drives two switches with the same random
// configurations and traffic, one with the fused L2 path (the default:
// l2-fwd fused into l2-input, l2-output's plain case staged there) and
// one node by node (learner.unfused: l2-input, l2-fwd, l2-output), and
// requires the same frames, byte for byte (and in order within a flow),
// out of the same ports, and the same drop counters, after every batch
// (issue 24). The configurations mix access and trunk ports, static MACs,
// port security (bound MACs, so frames from the wrong port are dropped
// in l2-input or l2-fwd) and a router interface on one VLAN (frames to
// its MAC: IPv4 routed back into the bridge, ARP, and an EtherType L3
// refuses).
func TestL2FusedMatchesNodes(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { fusedVsNodes(t, seed) })
	}
}

func fusedVsNodes(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 24))
	vlans := []uint16{1, 10, 20}
	names := []string{"p0", "p1", "p2", "p3", "p4"} // p4 is configured, never attached
	var ports []Port
	for k, n := range names {
		switch r.IntN(3) {
		case 0, 1:
			ports = append(ports, acc(n, vlans[r.IntN(len(vlans))]))
		default:
			ports = append(ports, trunk(n, vlans[r.IntN(len(vlans))], vlans[1:r.IntN(len(vlans))+1]...))
		}
		if r.IntN(4) == 0 { // port security: the port's station is macN(k)
			ports[k].MACs = []string{macN(k)}
		}
	}
	cfg := oneBridge(ports...)
	router := r.IntN(2) == 0
	if router {
		cfg.Interfaces = []Interface{{Name: "r0", Bridge: "br0", VLAN: vlans[r.IntN(len(vlans))], MAC: macRA,
			Addrs: []string{"10.0.0.254/24"}}}
		cfg.Neighbors = []Neighbor{{Interface: "r0", Addr: "10.0.0.2", MAC: macN(r.IntN(6))}}
	}
	for i := range 3 { // static MACs, maybe on the absent port
		p := ports[r.IntN(len(ports))]
		carried := append([]uint16{p.VLAN}, p.Trunks...)
		cfg.Bridges[0].StaticMACs = append(cfg.Bridges[0].StaticMACs,
			StaticMAC{MAC: macN(100 + i), VLAN: carried[r.IntN(len(carried))], Port: p.Name})
	}
	rigs := [2]*rig{newL2Rig(t, Options{}), newL2Rig(t, Options{})}
	rigs[1].s.lrn.unfused.Store(true)
	for _, rg := range rigs {
		rg.attach(names[:4]...)
		rg.reconf(cfg)
	}
	macs := 6
	for batch := range 30 {
		n := 1 + r.IntN(40)
		in := names[r.IntN(4)]
		frames := make([][]byte, n)
		for i := range frames {
			dst := macN(r.IntN(macs))
			switch r.IntN(10) {
			case 0:
				dst = bcast()
			case 1:
				dst = macN(100 + r.IntN(3))
			case 2:
				if router {
					dst = macRA
				}
			}
			src := macN(r.IntN(macs))
			vlan := -1
			if r.IntN(3) == 0 {
				vlan = int(vlans[r.IntN(len(vlans))])
			}
			fr := frame(dst, src, vlan)
			if r.IntN(8) == 0 { // some too long for a tag
				fr = append(fr, make([]byte, 1840+r.IntN(145))...) // up to 2048: no tag fits
			}
			if dst == macRA && r.IntN(3) == 0 { // ARP, or an EtherType L3 refuses
				et := []uint16{0x0806, 0x88b5}[r.IntN(2)]
				o := 0
				if vlan >= 0 {
					o = vlanTagLen
				}
				fr[12+o], fr[13+o] = byte(et>>8), byte(et)
			}
			frames[i] = fr
		}
		out, drops := sendBoth(rigs, in, frames)
		for k := range out {
			for _, frs := range out[k] {
				// Frames of one flow keep their order; frames of
				// different flows to one port may leave in another
				// order (fused ones before those l2-output or
				// l2-flood handles, as flooded copies already did).
				slices.SortStableFunc(frs, func(a, b []byte) int { return bytes.Compare(a[:16], b[:16]) })
			}
		}
		require.Equal(t, out[1], out[0], "batch %d: frames out, fused vs node by node", batch)
		require.Equal(t, drops[1], drops[0], "batch %d: drop counters", batch)
	}
}

// TestVXLANFastMatchesNodes does the same for the VXLAN fast paths
// (vxlan-encap's underlay, ip4-forward's hand-off to vxlan-decap,
// vxlan-decap's fused l2-fwd): random
// inner frames (some too big for the underlay) to a MAC behind either
// remote VTEP, broadcast and unknown destinations, and random VXLAN
// packets in (unknown VNIs and VTEPs among them; inner frames to a local
// MAC, a broadcast, an unknown MAC or one behind a VTEP), with the second
// remote's neighbor known or not (glean).
func TestVXLANFastMatchesNodes(t *testing.T) {
	for seed := range uint64(16) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 6))
			cfg := testVXLANConfig()
			if seed%2 == 1 {
				cfg.Neighbors = cfg.Neighbors[:1] // 192.168.9.3 unresolved
			}
			cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: macFar, VTEP: []string{"192.168.9.2", "192.168.9.3"}[r.IntN(2)]}}
			rigs := [2]*rig{newRig(t, Options{}), newRig(t, Options{})}
			rigs[1].s.lrn.unfused.Store(true)
			for _, rg := range rigs {
				rg.attach("c", "u")
				rg.reconf(cfg)
			}
			for batch := range 20 {
				in, n := "c", 1+r.IntN(30)
				frames := make([][]byte, n)
				for i := range frames {
					dst := []string{macFar, macFar, macFar, bcast(), macN(7)}[r.IntN(5)]
					fr := frame(dst, macC, -1)
					if r.IntN(6) == 0 {
						fr = append(fr, make([]byte, 1400+r.IntN(200))...)
					}
					frames[i] = fr
				}
				if batch%3 == 2 {
					in = "u"
					for i := range frames {
						src := []string{"192.168.9.2", "192.168.9.3", "192.168.9.7"}[r.IntN(3)]
						vni := []uint32{100, 100, 101}[r.IntN(3)]
						// Inner frames to the local container, a broadcast, an
						// unknown MAC, or the MAC behind a VTEP (maybe the
						// sender's: dropped in l2-fwd).
						dst := []string{macC, macC, bcast(), macN(7), macFar}[r.IntN(5)]
						frames[i] = vxlanPacket(src, vni, frame(dst, macN(20+r.IntN(4)), -1))
					}
				}
				out, drops := sendBoth(rigs, in, frames)
				require.Equal(t, out[1], out[0], "batch %d: frames out, fast vs node by node", batch)
				require.Equal(t, drops[1], drops[0], "batch %d: drop counters", batch)
			}
		})
	}
}

// sendBoth sends a copy of frames into port in of each rig and returns
// what each sent out and its drop counters.
func sendBoth(rigs [2]*rig, in string, frames [][]byte) (out [2]map[string][][]byte, drops [2]map[string]uint64) {
	for k, rg := range rigs {
		cp := make([][]byte, len(frames))
		for i, fr := range frames {
			cp[i] = append([]byte(nil), fr...)
		}
		rg.send(in, cp...)
		out[k], drops[k] = rg.recv(), allDrops(rg.s)
	}
	return out, drops
}

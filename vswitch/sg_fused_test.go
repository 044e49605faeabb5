package vswitch

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSGFusedMatchesNodes: sg-policy's early tx of established flows
// (plainOutput) sends and drops exactly what sg-policy then l2-output do
// node by node (learner.unfused): random port modes (access, trunks with
// other native VLANs), random groups on random ports, random TCP and UDP
// flows among three ports in both directions (new, established, denied,
// replies), some frames too big for their port, some tagged.
func TestSGFusedMatchesNodes(t *testing.T) {
	taken := 0
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			if sgFusedVsNodes(t, seed) {
				taken++
			}
		})
	}
	require.GreaterOrEqual(t, taken, 4, "seeds where sg-policy staged established packets itself")
}

// sgFusedVsNodes runs one seed; it reports whether the fused switch's
// sg-policy staged any packet itself (its l2-output saw fewer).
func sgFusedVsNodes(t *testing.T, seed uint64) bool {
	r := rand.New(rand.NewPCG(seed, 20))
	names := []string{"web", "cli", "other"}
	macs := map[string]string{"web": macWeb, "cli": macCli, "other": macOther}
	ips := map[string]string{"web": ipWeb, "cli": ipCli, "other": ipOther}
	var ports []Port
	for _, n := range names {
		switch r.IntN(4) {
		case 0:
			ports = append(ports, trunk(n, 1, 10)) // native VLAN 1: untagged frames pass untagged
		case 1:
			ports = append(ports, trunk(n, 10, 1)) // VLAN 1 leaves tagged
		default:
			ports = append(ports, acc(n, 1))
		}
	}
	cfg := oneBridge(ports...)
	var groups []SecurityGroup
	for _, n := range names {
		if r.IntN(3) == 0 {
			continue // unfiltered
		}
		g := SecurityGroup{Name: "g-" + n, Ports: []string{n}, Addrs: []string{ips[n]}}
		for i := range 1 + r.IntN(4) {
			lo := 1000 + r.IntN(4)
			g.Rules = append(g.Rules, SGRule{Name: fmt.Sprintf("r%d", i), Direction: []string{"ingress", "egress"}[r.IntN(2)],
				Proto: []string{"tcp", "udp", "any"}[r.IntN(3)], Ports: fmt.Sprintf("%d-%d", lo, lo+r.IntN(3)),
				Action: []string{"allow", "allow", "deny"}[r.IntN(3)], Priority: int32(r.IntN(3))})
			if g.Rules[i].Proto == "any" {
				g.Rules[i].Ports = ""
			}
		}
		groups = append(groups, g)
	}
	rigs := [2]*rig{newL2Rig(t, Options{}), newL2Rig(t, Options{})}
	rigs[1].s.lrn.unfused.Store(true)
	for _, rg := range rigs {
		rg.attach(names...)
		rg.reconf(cfg)
		for _, n := range names {
			rg.send(n, arpFrame(macs[n]))
		}
		rg.recv()
		c := cfg
		c.SecurityGroups = groups
		rg.reconf(c)
	}
	for batch := range 40 {
		in := names[r.IntN(3)]
		frames := make([][]byte, 1+r.IntN(60))
		for i := range frames {
			to := names[r.IntN(3)]
			sp, dp := uint16(1000+r.IntN(6)), uint16(1000+r.IntN(6))
			var fr []byte
			if r.IntN(2) == 0 {
				fr = udpFrame(macs[to], macs[in], ips[in], ips[to], sp, dp)
			} else {
				fr = sgTCP(macs[to], macs[in], ips[in], ips[to], sp, dp, []string{"S", "SA", "A", "A", "A", "FA", "R"}[r.IntN(7)])
			}
			if r.IntN(10) == 0 {
				fr = append(fr, make([]byte, 1990+r.IntN(59)-len(fr))...) // up to 2048: some too big with a tag
			}
			frames[i] = fr
		}
		out, drops := sendBoth(rigs, in, frames)
		for k := range out {
			for _, frs := range out[k] {
				// Frames of different flows to one port may leave in
				// another order (those staged early first).
				slices.SortFunc(frs, bytes.Compare)
			}
		}
		require.Equal(t, out[1], out[0], "batch %d: frames out, fused vs node by node", batch)
		require.Equal(t, drops[1], drops[0], "batch %d: drop counters", batch)
		st := [2]SGStats{rigs[0].s.SGStats(), rigs[1].s.SGStats()}
		require.Equal(t, st[1].Rules, st[0].Rules, "batch %d: rule counters", batch)
		require.Equal(t, st[1].Flows, st[0].Flows, "batch %d: flows", batch)
	}
	return nodePackets(rigs[0].s, nodeL2Output) < nodePackets(rigs[1].s, nodeL2Output)
}

// nodePackets is the packets node has processed, summed over workers.
func nodePackets(s *Switch, node string) uint64 {
	var n uint64
	for _, c := range s.Runtime() {
		if c.Name == node {
			n += c.Packets
		}
	}
	return n
}

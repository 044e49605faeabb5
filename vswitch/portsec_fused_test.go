package vswitch

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGuardFusedMatchesNodes is TestL2FusedMatchesNodes for the port
// guards (portsec_ip.go) and priority tags: random ports with port
// security, addresses, allowed IPs and the RA guard on or off, and random
// IPv4, IPv6, ARP, neighbor discovery and router advertisement frames
// (claiming the port's own or another's addresses and MACs, some wrapped
// in a priority tag around a VLAN tag), sent through the fused L2 path
// and node by node: the same frames out and the same drop counters. The
// guards run in l2-input before either path, so this holds them there.
func TestGuardFusedMatchesNodes(t *testing.T) {
	seen := map[string]uint64{}
	for seed := range uint64(24) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { guardFusedVsNodes(t, seed, seen) })
	}
	for _, reason := range []string{"src-ip-not-allowed", "arp-not-allowed", "nd-not-allowed", "ra-guard", "tag-in-priority-tag", "tagged-on-access-port"} {
		require.NotZero(t, seen[nodeL2Input+"/"+reason], "no frame was dropped for %s: the test tests nothing there", reason)
	}
}

func guardFusedVsNodes(t *testing.T, seed uint64, seen map[string]uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	vlans := []uint16{1, 10, 20}
	names := []string{"p0", "p1", "p2", "p3"}
	var ports []Port
	for k, n := range names {
		if r.IntN(3) < 2 {
			ports = append(ports, acc(n, vlans[r.IntN(len(vlans))]))
		} else {
			ports = append(ports, trunk(n, vlans[r.IntN(len(vlans))], vlans[1:r.IntN(len(vlans))+1]...))
		}
		if r.IntN(3) > 0 { // port security: the station is macN(k)
			p := &ports[k]
			p.MACs = []string{macN(k)}
			switch r.IntN(4) {
			case 0: // no addresses: MAC port security only
			case 1:
				p.IPs = []string{fmt.Sprintf("10.0.0.%d/24", k)}
			default:
				p.IPs = []string{fmt.Sprintf("10.0.0.%d/24", k), fmt.Sprintf("fd00::%d/64", k)}
			}
			if r.IntN(3) == 0 {
				p.AllowedIPs = []string{"192.168.0.0/16", "fd00:9::/64"}
			}
			if r.IntN(4) == 0 {
				off := false
				p.RAGuard = &off
			}
		}
	}
	cfg := oneBridge(ports...)
	rigs := [2]*rig{newL2Rig(t, Options{}), newL2Rig(t, Options{})}
	rigs[1].s.lrn.unfused.Store(true)
	for _, rg := range rigs {
		rg.attach(names...)
		rg.reconf(cfg)
	}
	for batch := range 20 {
		k := r.IntN(len(names))
		in := names[k]
		frames := make([][]byte, 1+r.IntN(30))
		for i := range frames {
			src := macN(k) // mostly the station's own MAC
			if r.IntN(6) == 0 {
				src = macN(r.IntN(6))
			}
			dst := macN(r.IntN(6))
			if r.IntN(4) == 0 {
				dst = bcast()
			}
			if dst == src {
				dst = bcast()
			}
			h := r.IntN(6) // the host part of addresses claimed
			if r.IntN(2) == 0 {
				h = k
			}
			var fr []byte
			switch r.IntN(7) {
			case 0:
				fr = pkt4(dst, src, []string{fmt.Sprintf("10.0.0.%d", h), "0.0.0.0", "192.168.7.7", "203.0.113.5"}[r.IntN(4)], "10.0.0.200", 64, 1, 10, false)
			case 1:
				fr = pkt6(dst, src, []string{fmt.Sprintf("fd00::%d", h), "::", "fe80::77", "fd00:9::5", "2001:db8::1"}[r.IntN(5)], "fd00::200", 64, 1, 10)
			case 2:
				sha := src
				if r.IntN(3) == 0 {
					sha = macN(r.IntN(6))
				}
				fr = arpFrom(src, sha, fmt.Sprintf("10.0.0.%d", h), "10.0.0.200", uint16(1+r.IntN(2)))
				copy(fr[0:6], mustMAC(dst))
			case 3:
				fr = icmp6Frame(fmt.Sprintf("fd00::%d", k), "ff02::1", icmp6NeighAdvert,
					ndBody([]string{fmt.Sprintf("fd00::%d", h), "fe80::1"}[r.IntN(2)], 2, macN(r.IntN(6))))
				copy(fr[6:12], mustMAC(src))
			case 4:
				fr = icmp6Frame("fe80::1", "ff02::1", []uint8{icmp6RouterAdvert, icmp6Redirect, icmp6RouterSolicit}[r.IntN(3)], make([]byte, 36))
				copy(fr[6:12], mustMAC(src))
			default:
				fr = frame(dst, src, -1)
			}
			if p := ports[k]; r.IntN(3) == 0 { // tagged, in a VLAN the port carries or not
				vid := int([]uint16{0, 1, 10, 20, p.VLAN}[r.IntN(5)])
				fr = withTag(fr, vid)
				if r.IntN(3) == 0 { // and a priority tag around it
					fr = wrapInPriorityTag(fr)
				}
			}
			frames[i] = fr
		}
		out, drops := sendBoth(rigs, in, frames)
		for k := range out {
			for _, frs := range out[k] {
				slices.SortStableFunc(frs, func(a, b []byte) int { return bytes.Compare(a[:16], b[:16]) })
			}
		}
		require.Equal(t, out[1], out[0], "batch %d: frames out, fused vs node by node", batch)
		require.Equal(t, drops[1], drops[0], "batch %d: drop counters", batch)
		for k, v := range drops[0] {
			if strings.HasPrefix(k, nodeL2Input+"/") {
				seen[k] = max(seen[k], v)
			}
		}
	}
}

// withTag inserts an 802.1Q tag with VLAN ID vid after frame b's MACs.
func withTag(b []byte, vid int) []byte {
	out := append([]byte(nil), b[:12]...)
	out = append(out, 0x81, 0x00, byte(vid>>8), byte(vid))
	return append(out, b[12:]...)
}

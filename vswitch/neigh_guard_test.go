package vswitch

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// Tests of the neighbor table's defenses (audit D): ARP/ND senders that
// can never be neighbors, one interface's share of the table with
// eviction of stale entries, the glean nodes' request limit.

const zeroMAC = "00:00:00:00:00:00"

// arpPkt is an ARP packet with Ethernet source ethSrc and destination
// ethDst: operation op from sender (sha, spa) to target (tha, tpa).
func arpPkt(op uint16, ethDst, ethSrc, sha, spa, tha, tpa string) []byte {
	return serialize(&layers.Ethernet{DstMAC: mustMAC(ethDst), SrcMAC: mustMAC(ethSrc), EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: op, SourceHwAddress: mustMAC(sha), SourceProtAddress: net.ParseIP(spa).To4(),
			DstHwAddress: mustMAC(tha), DstProtAddress: net.ParseIP(tpa).To4()})
}

// nsFrame is a neighbor solicitation from src (Ethernet source ethSrc)
// for target, to its solicited-node address, with a source link-layer
// option ll ("" for none).
func nsFrame(ethSrc, src, target, ll string) []byte {
	tg := net.ParseIP(target)
	dst := net.IP{0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, tg[13], tg[14], tg[15]}
	ns := &layers.ICMPv6NeighborSolicitation{TargetAddress: tg}
	if ll != "" {
		ns.Options = layers.ICMPv6Options{{Type: layers.ICMPv6OptSourceAddress, Data: mustMAC(ll)}}
	}
	ip6 := &layers.IPv6{Version: 6, HopLimit: 255, NextHeader: layers.IPProtocolICMPv6, SrcIP: net.ParseIP(src), DstIP: dst}
	ic6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborSolicitation, 0)}
	must(ic6.SetNetworkLayerForChecksum(ip6))
	ethDst := net.HardwareAddr{0x33, 0x33, 0xff, tg[13], tg[14], tg[15]}
	return serialize(&layers.Ethernet{DstMAC: ethDst, SrcMAC: mustMAC(ethSrc), EthernetType: layers.EthernetTypeIPv6}, ip6, ic6, ns)
}

// naFrame is a neighbor advertisement for target with target link-layer
// option ll, from src to dst (Ethernet ethSrc to ethDst), solicited or not.
func naFrame(ethDst, ethSrc, src, dst, target, ll string, solicited bool) []byte {
	flags := uint8(0x20) // override
	if solicited {
		flags |= 0x40
	}
	na := &layers.ICMPv6NeighborAdvertisement{Flags: flags, TargetAddress: net.ParseIP(target),
		Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptTargetAddress, Data: mustMAC(ll)}}}
	ip6 := &layers.IPv6{Version: 6, HopLimit: 255, NextHeader: layers.IPProtocolICMPv6, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	ic6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborAdvertisement, 0)}
	must(ic6.SetNetworkLayerForChecksum(ip6))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(ethDst), SrcMAC: mustMAC(ethSrc), EthernetType: layers.EthernetTypeIPv6}, ip6, ic6, na)
}

// fromRouter keeps the frames the router sent (source MAC one of its
// interfaces'), not L2 floods of the test's own frames.
func fromRouter(got map[string][][]byte) [][]byte {
	var out [][]byte
	for _, fs := range got {
		for _, b := range fs {
			if s := net.HardwareAddr(b[6:12]).String(); s == macRA || s == macRB {
				out = append(out, b)
			}
		}
	}
	return out
}

// neighborMAC is the MAC neigh/show lists for addr on iface ("" if none).
func neighborMAC(s *Switch, iface, addr string) string {
	for _, n := range s.Neighbors() {
		if n.Interface == iface && n.Addr == addr {
			return n.MAC
		}
	}
	return ""
}

// TestNeighBadSender: ARP and ND packets whose sender MAC is no host's
// (broadcast, multicast, zero, a router interface's own) or whose sender
// address is no neighbor's (the subnet's broadcast or network address,
// the router's own, loopback) are dropped with a named reason: not
// learned, not answered, and a learned entry keeps its MAC. Before, ARP
// with a broadcast sender MAC was learned, so routed traffic to the host
// went to ff:ff:ff:ff:ff:ff (flooded to the attacker), a router MAC made
// the switch send to itself, and the subnet broadcast became a neighbor.
func TestNeighBadSender(t *testing.T) {
	r := newL3Rig(t, testL3Config())
	const host, attacker = "02:00:00:00:00:12", "02:00:00:00:00:66"
	// A real host asks for its gateway: learned, answered.
	r.send("b2", arpPkt(1, bcast(), host, host, "10.2.0.12", zeroMAC, "10.2.0.1"))
	require.Len(t, fromRouter(r.recv()), 1, "the request is answered")
	r.s.Poll()
	require.Equal(t, host, neighborMAC(r.s, "rb", "10.2.0.12"))

	for _, c := range []struct {
		name, sha, spa, tpa, reason string
	}{
		{"broadcast MAC", bcast(), "10.2.0.200", "10.2.0.1", "bad-sender-mac"},
		{"multicast MAC", "01:00:5e:00:00:01", "10.2.0.201", "10.2.0.1", "bad-sender-mac"},
		{"zero MAC", zeroMAC, "10.2.0.202", "10.2.0.1", "bad-sender-mac"},
		{"the interface's MAC", macRB, "10.2.0.203", "10.2.0.1", "bad-sender-mac"},
		{"another interface's MAC", macRA, "10.2.0.204", "10.2.0.1", "bad-sender-mac"},
		{"gratuitous, broadcast MAC", bcast(), "10.2.0.12", "10.2.0.12", "bad-sender-mac"},
		{"gratuitous, router MAC", macRB, "10.2.0.12", "10.2.0.12", "bad-sender-mac"},
		{"subnet broadcast", attacker, "10.2.0.255", "10.2.0.1", "bad-sender-address"},
		{"subnet network address", attacker, "10.2.0.0", "10.2.0.1", "bad-sender-address"},
		{"the router's own address", attacker, "10.2.0.1", "10.2.0.1", "bad-sender-address"},
		{"loopback", attacker, "127.0.0.1", "10.2.0.1", "bad-sender-address"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := allDrops(r.s)
			// Unicast to the router's MAC: nothing but the router sees it.
			r.send("b2", arpPkt(1, macRB, attacker, c.sha, c.spa, zeroMAC, c.tpa))
			require.Empty(t, r.recv(), "neither answered nor forwarded")
			r.s.Poll()
			require.Equal(t, map[string]uint64{nodeARPInput + "/" + c.reason: 1}, dropsSince(r.s, before))
			if c.spa != "10.2.0.12" {
				require.Empty(t, neighborMAC(r.s, "rb", c.spa), "learned")
			}
			require.Equal(t, host, neighborMAC(r.s, "rb", "10.2.0.12"), "the real host's entry changed")
		})
	}
	// Routed traffic to the host still goes to its MAC.
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.12", 9, 1, 18, false))
	out := only(t, r.recv(), "b2", 1)[0]
	require.Equal(t, host, net.HardwareAddr(out[0:6]).String())

	t.Run("IPv6", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			frame  []byte
			addr   string
			reason string
		}{
			{"solicitation, broadcast MAC", nsFrame(attacker, "fd02::12", "fd02::1", bcast()), "fd02::12", "bad-sender-mac"},
			{"solicitation, router MAC", nsFrame(attacker, "fd02::13", "fd02::1", macRB), "fd02::13", "bad-sender-mac"},
			{"solicitation, zero MAC", nsFrame(attacker, "fd02::14", "fd02::1", zeroMAC), "fd02::14", "bad-sender-mac"},
			{"solicitation from the router's own address", nsFrame(attacker, "fd02::1", "fd02::1", attacker), "fd02::1", "bad-sender-address"},
			{"solicitation from the subnet-router anycast address", nsFrame(attacker, "fd02::", "fd02::1", attacker), "fd02::", "bad-sender-address"},
			{"advertisement, multicast MAC", naFrame(macRB, attacker, "fd02::15", "fd02::1", "fd02::15", "33:33:00:00:00:01", true), "fd02::15", "bad-sender-mac"},
			{"advertisement of the router's own address", naFrame(macRB, attacker, "fd02::16", "fd02::1", "fd02::1", attacker, false), "fd02::1", "bad-sender-address"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := allDrops(r.s)
				r.send("b2", c.frame)
				require.Empty(t, fromRouter(r.recv()), "answered")
				r.s.Poll()
				require.Equal(t, map[string]uint64{nodeIP6Local + "/" + c.reason: 1}, dropsSince(r.s, before))
				require.Empty(t, neighborMAC(r.s, "rb", c.addr), "learned")
			})
		}
	})
	requireNoLeak(t, r.s)
}

// neighRig is the L3 rig with a small neighbor table: 64 entries, 16 a
// interface (the 4 static ones of testL3Config are outside the shares).
func neighRig(t *testing.T) *rig {
	r := newRig(t, Options{Neighbors: 64})
	r.attach("a", "b", "b2")
	require.NoError(t, r.s.Reconfigure(testL3Config()))
	r.send("a", frame(bcast(), macA, -1))
	r.send("b", frame(bcast(), macB, -1))
	r.recv()
	return r
}

// floodARP has n hosts 10.1.0.10 on (at most 240) on port a ask for ra's
// address, as one container forging senders would.
func floodARP(r *rig, n int) {
	for i := range n {
		mac := macN(0x100000 + i)
		r.send("a", arpPkt(1, macRA, mac, mac, fmt.Sprintf("10.1.0.%d", 10+i), zeroMAC, "10.1.0.1"))
	}
	r.recv()
	r.s.Poll()
}

// TestNeighTableShare: ARP requests from many forged senders on one
// interface fill only that interface's share of the table (a quarter),
// evicting the oldest stale entries; a host on another interface, and a
// new host on the same one, are still learned and reached, and an entry
// confirmed by the answer to our own request (reachable) outlives the
// flood. Before, the flood filled the whole table and every new host was
// refused (unresolved, 100% loss) until entries aged out 300 s later.
func TestNeighTableShare(t *testing.T) {
	r := neighRig(t)
	require.Equal(t, 16, r.s.nbr.ifMax)

	// 10.1.0.9 is resolved by the switch itself: B sends to it, the
	// glean node asks, it answers: reachable.
	const resolved = "02:00:00:00:00:09"
	r.send("b", pkt4(macRB, macB, "10.2.0.2", "10.1.0.9", 9, 1, 18, false))
	require.Len(t, fromRouter(r.recv()), 1, "the ARP request")
	r.send("a", arpPkt(2, macRA, resolved, resolved, "10.1.0.9", macRA, "10.1.0.1"))
	r.recv()
	r.s.Poll()
	require.Equal(t, resolved, neighborMAC(r.s, "ra", "10.1.0.9"))

	floodARP(r, 200)
	st := r.s.NeighborStats()
	require.Equal(t, 16, st.InterfaceLimit)
	require.Equal(t, []NeighborIfaceStats{{Interface: "ra", Stale: 15, Reachable: 1}}, st.Interfaces, "ra holds its share only")
	require.Equal(t, 4, st.Static)
	require.Equal(t, uint64(200-15), st.Evicted)
	require.Zero(t, st.Full)
	require.Equal(t, resolved, neighborMAC(r.s, "ra", "10.1.0.9"), "the reachable entry was evicted")

	// A new host on the other interface: learned, and reached.
	const hostB = "02:00:00:00:00:77"
	r.send("b2", arpPkt(1, bcast(), hostB, hostB, "10.2.0.7", zeroMAC, "10.2.0.1"))
	r.recv()
	r.s.Poll()
	require.Equal(t, hostB, neighborMAC(r.s, "rb", "10.2.0.7"))
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.7", 9, 1, 18, false))
	out := only(t, r.recv(), "b2", 1)[0]
	require.Equal(t, hostB, net.HardwareAddr(out[0:6]).String())

	// A new host on the flooded interface: learned too (a stale entry
	// of the flood makes room), and reached.
	const hostA = "02:00:00:00:00:55"
	r.send("a", arpPkt(1, bcast(), hostA, hostA, "10.1.0.252", zeroMAC, "10.1.0.1"))
	r.recv()
	r.s.Poll()
	require.Equal(t, hostA, neighborMAC(r.s, "ra", "10.1.0.252"))
	r.send("b", pkt4(macRB, macB, "10.2.0.2", "10.1.0.252", 9, 1, 18, false))
	out = only(t, r.recv(), "a", 1)[0]
	require.Equal(t, hostA, net.HardwareAddr(out[0:6]).String())
	requireNoLeak(t, r.s)
}

// TestNeighTableFullEvicts: when the whole table is full (every
// interface's share allowed to be the whole table here), a new entry
// evicts a stale one instead of being refused; an interface whose
// entries are all reachable refuses an unsolicited one (counted as full)
// and takes a solicited one in place of its oldest.
func TestNeighTableFullEvicts(t *testing.T) {
	r := neighRig(t)
	r.s.nbr.mu.Lock()
	r.s.nbr.ifMax = 64
	r.s.nbr.mu.Unlock()
	floodARP(r, 100)
	st := r.s.NeighborStats()
	require.Equal(t, 64, st.Entries)
	require.Equal(t, 60, st.Stale)
	require.Equal(t, uint64(40), st.Evicted)

	// The last 60 senders are the ones in the table: the oldest went.
	require.Empty(t, neighborMAC(r.s, "ra", "10.1.0.10"))
	require.Equal(t, macN(0x100000+99), neighborMAC(r.s, "ra", "10.1.0.109"))

	// Flush, then a share of 2 on rb, both reachable (asked for, answered).
	r.s.nbr.mu.Lock()
	r.s.nbr.ifMax = 2
	r.s.nbr.mu.Unlock()
	require.NoError(t, r.s.FlushNeighbors(""))
	for i, ip := range []string{"10.2.0.20", "10.2.0.21"} {
		mac := macN(0x200000 + i)
		r.send("a", pkt4(macRA, macA, "10.1.0.2", ip, 9, 1, 18, false))
		r.recv()
		r.send("b2", arpPkt(2, macRB, mac, mac, ip, macRB, "10.2.0.1"))
		r.recv()
		r.s.Poll()
		r.clock.advance(time.Second)
		r.s.tick()
	}
	st = r.s.NeighborStats()
	require.Equal(t, []NeighborIfaceStats{{Interface: "rb", Reachable: 2}}, st.Interfaces)
	full := st.Full
	// An unsolicited sender: refused, counted.
	r.send("b2", arpPkt(1, bcast(), macN(0x300000), macN(0x300000), "10.2.0.30", zeroMAC, "10.2.0.1"))
	r.recv()
	r.s.Poll()
	require.Empty(t, neighborMAC(r.s, "rb", "10.2.0.30"))
	require.Equal(t, full+1, r.s.NeighborStats().Full)
	// A host the switch resolves: it takes the place of the oldest.
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.31", 9, 1, 18, false))
	r.recv()
	r.send("b2", arpPkt(2, macRB, macN(0x300001), macN(0x300001), "10.2.0.31", macRB, "10.2.0.1"))
	r.recv()
	r.s.Poll()
	require.Equal(t, macN(0x300001), neighborMAC(r.s, "rb", "10.2.0.31"))
	require.Empty(t, neighborMAC(r.s, "rb", "10.2.0.20"), "the oldest reachable entry makes room")
	require.Equal(t, macN(0x200001), neighborMAC(r.s, "rb", "10.2.0.21"))
	requireNoLeak(t, r.s)
}

// TestGleanRateLimit: packets to many unresolved addresses of a connected
// subnet make at most gleanBurst ARP requests (neighbor solicitations) at
// once per interface, then gleanRate a second by the switch's clock; the
// requests held back are counted as rate-limited. Before, each address
// got its request: 55,627 broadcasts in 2.5 s in the audit.
func TestGleanRateLimit(t *testing.T) {
	cfg := testL3Config()
	cfg.Interfaces[1].Addrs = []string{"10.2.0.1/16", "fd02::1/64"}
	r := newL3Rig(t, cfg)
	requests := func(got map[string][][]byte) int {
		n := 0
		for _, b := range got["b"] { // each request floods b and b2
			if p := decodePkt(t, b); p.Layer(layers.LayerTypeARP) != nil || p.Layer(layers.LayerTypeICMPv6NeighborSolicitation) != nil {
				n++
			}
		}
		return n
	}
	scan := func(first, n int, six bool) int {
		total := 0
		for i := first; i < first+n; i += 50 {
			var fs [][]byte
			for j := i; j < min(i+50, first+n); j++ {
				if six {
					fs = append(fs, pkt6(macRA, macA, "fd01::2", fmt.Sprintf("fd02::1:%x", j), 9, 1, 18))
				} else {
					fs = append(fs, pkt4(macRA, macA, "10.1.0.2", fmt.Sprintf("10.2.%d.%d", 1+j/250, 1+j%250), 9, 1, 18, false))
				}
			}
			r.send("a", fs...)
			total += requests(r.recv())
		}
		return total
	}
	for _, six := range []bool{false, true} {
		node := nodeIP4Glean
		if six {
			node = nodeIP6Glean
		}
		before := allDrops(r.s)
		require.Equal(t, gleanBurst, scan(0, 300, six), "a burst at once")
		d := dropsSince(r.s, before)
		require.Equal(t, uint64(300), d[node+"/unresolved"])
		require.Equal(t, uint64(300-gleanBurst), d[node+"/rate-limited"])

		r.clock.advance(100 * time.Millisecond) // 50 more at 500/s
		require.Equal(t, 50, scan(300, 300, six))
		r.clock.advance(time.Hour) // a full bucket again, never more
		require.Equal(t, gleanBurst, scan(600, 300, six))
	}
	requireNoLeak(t, r.s)
}

// TestNeighPathAllocations: the new checks allocate nothing per packet:
// ARP and ND senders refused or learned, glean requests held back by the
// limit.
func TestNeighPathAllocations(t *testing.T) {
	cfg := testL3Config()
	cfg.Interfaces[1].Addrs = []string{"10.2.0.1/16", "fd02::1/64"}
	r := newL3Rig(t, cfg)
	w := r.s.Workers()[0]
	// 160 next hops, each due again 260 ms later (resolveInterval), when
	// the limit has given back only 100 requests: 60 held back a poll.
	var scan [][]byte
	for j := range 160 {
		scan = append(scan, pkt4(macRA, macA, "10.1.0.2", fmt.Sprintf("10.2.9.%d", j), 64, 1, 18, false))
	}
	for _, tc := range []struct {
		name   string
		frames [][]byte
		step   time.Duration // the clock's advance per poll
	}{
		{"arp bad sender mac", repeatFrame(64, arpPkt(1, macRA, macA, bcast(), "10.1.0.9", zeroMAC, "10.1.0.1")), 0},
		{"arp bad sender address", repeatFrame(64, arpPkt(1, macRA, macA, macA, "10.1.0.255", zeroMAC, "10.1.0.1")), 0},
		{"ns learned", repeatFrame(64, nsFrame(macA, "fd01::9", "fd01::1", macA)), 0},
		{"glean rate-limited", scan, 260 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.send("a", tc.frames...)
			r.recv()
			for _, q := range r.ports {
				q.SetSink(true)
			}
			defer func() {
				for _, q := range r.ports {
					q.SetSink(false)
				}
			}()
			p := r.ports["a"]
			before := allDrops(r.s)
			allocs := testing.AllocsPerRun(50, func() {
				r.clock.advance(tc.step)
				p.Inject(0, tc.frames...)
				w.Poll()
			})
			require.Zero(t, allocs, "allocations per poll")
			requireNoLeak(t, r.s)
			if tc.step != 0 {
				require.Equal(t, uint64(51*60), dropsSince(r.s, before)[nodeIP4Glean+"/rate-limited"])
			}
		})
	}
}

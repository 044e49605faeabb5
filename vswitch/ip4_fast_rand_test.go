package vswitch

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

const macRC = "02:00:00:00:0c:01"

// TestIP4FastMatchesNodes drives two switches with the same random
// configurations and IPv4 traffic, one with ip4-forward's fast loop (the
// default) and one sending every packet through the general one
// (learner.unfused), and requires the same frames out of the same ports
// and the same drop counters after every batch (issue 24). The packets
// mix what the fast loop takes (gateway and connected routes, routed and
// bridged interfaces, Ethernet padding) with everything it must hand on
// unchanged: bad checksums, options, a total length past the frame, TTL
// 0 and 1, martian, local, unrouted, blackholed and ECMP destinations,
// unresolved neighbors, packets over the MTU with and without DF, and a
// learned neighbor whose refresh probe is due once the clock moves.
func TestIP4FastMatchesNodes(t *testing.T) {
	for seed := range uint64(24) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { ip4FastVsNodes(t, seed) })
	}
}

func ip4FastVsNodes(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 4))
	cfg := testL3Config()
	cfg.Interfaces = append(cfg.Interfaces, Interface{Name: "rc", Port: "c", MAC: macRC, Addrs: []string{"10.3.0.1/24"},
		MTU: []int{0, 1400, 600}[r.IntN(3)]})
	if r.IntN(2) == 0 {
		cfg.Neighbors = append(cfg.Neighbors, Neighbor{Interface: "rc", Addr: "10.3.0.2", MAC: macN(30)})
	}
	cfg.Routes = []Route{
		{Prefix: "10.9.0.0/16", Via: []NextHop{{Addr: "10.3.0.2"}}},
		{Prefix: "10.8.0.0/16", Via: []NextHop{{Addr: "10.2.0.2"}}},
		{Prefix: "10.7.0.0/16", Via: []NextHop{{Addr: "10.2.0.2"}, {Addr: "10.1.0.2"}}},
		{Prefix: "10.6.0.0/16", Blackhole: true},
	}
	arp := serialize(&layers.Ethernet{DstMAC: mustMAC(bcast()), SrcMAC: mustMAC(macN(31)), EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: 1, SourceHwAddress: mustMAC(macN(31)), SourceProtAddress: net.ParseIP("10.2.0.7").To4(),
			DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP("10.2.0.1").To4()})
	rigs := fastAndGeneral(t, cfg, arp) // 10.2.0.7 learned on b2, a neighbor that can need a refresh
	ins := []struct{ port, mac, srcMAC, src string }{{"a", macRA, macA, "10.1.0.2"}, {"b", macRB, macB, "10.2.0.2"}, {"c", macRC, macN(30), "10.3.0.2"}}
	dsts := []string{"10.1.0.2", "10.2.0.2", "10.2.0.7", "10.2.0.9", "10.3.0.2", "10.9.1.1", "10.8.1.1", "10.7.3.4",
		"10.7.9.9", "10.6.0.1", "10.1.0.1", "10.3.0.1", "224.0.0.5", "127.0.0.1", "0.1.2.3", "192.168.99.1"}
	for batch := range 30 {
		if batch%10 == 9 { // half the 300 s age passes: learned neighbors want a probe
			for _, rg := range rigs {
				rg.clock.advance(160 * time.Second)
				rg.s.Age()
			}
		}
		in := ins[r.IntN(len(ins))]
		frames := make([][]byte, 1+r.IntN(40))
		for i := range frames {
			ttl := []uint8{64, 64, 64, 2, 1, 0}[r.IntN(6)]
			size := []int{18, 18, 100, 700, 1460}[r.IntN(5)]
			fr := pkt4(in.mac, in.srcMAC, in.src, dsts[r.IntN(len(dsts))], ttl, uint16(r.IntN(4)), size, r.IntN(2) == 0)
			ip := fr[ethHdrLen:]
			switch r.IntN(12) {
			case 0: // a bad checksum
				ip[10] ^= 0x40
			case 1: // a total length past the frame
				binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+4))
			case 2: // Ethernet padding (or a runt's trailer) after the packet
				fr = append(fr, make([]byte, 1+r.IntN(30))...)
			case 3: // an option (one NOP and an end, 4 bytes): IHL 6, checksum redone
				fr = withIPv4Option(fr)
			case 4: // another version
				ip[0] = 0x65
			}
			frames[i] = fr
		}
		requireSameOut(t, rigs, in.port, frames, batch)
	}
	for _, rg := range rigs {
		requireNoLeak(t, rg.s)
	}
}

// fastAndGeneral returns two switches configured with cfg, ports a, b,
// b2 and c attached: the first with the routing fast loops, the second
// sending every packet through the general ones (learner.unfused). Each
// has learned A on a and B on b, then received warm on b2.
func fastAndGeneral(t *testing.T, cfg Config, warm ...[]byte) [2]*rig {
	rigs := [2]*rig{newRig(t, Options{}), newRig(t, Options{})}
	rigs[1].s.lrn.unfused.Store(true)
	for _, rg := range rigs {
		rg.attach("a", "b", "b2", "c")
		rg.reconf(cfg)
		rg.send("a", frame(bcast(), macA, -1))
		rg.send("b", frame(bcast(), macB, -1))
		if len(warm) > 0 {
			rg.send("b2", warm...)
		}
		rg.recv()
		rg.s.Poll()
	}
	return rigs
}

// requireSameOut sends frames into port in of both switches and requires
// the same frames out of the same ports and the same drop counters.
func requireSameOut(t *testing.T, rigs [2]*rig, in string, frames [][]byte, batch int) {
	t.Helper()
	out, drops := sendBoth(rigs, in, frames)
	require.Equal(t, out[1], out[0], "batch %d: frames out, fast vs general", batch)
	require.Equal(t, drops[1], drops[0], "batch %d: drop counters", batch)
}

// withIPv4Option returns the Ethernet/IPv4 frame fr with four bytes of
// options (NOP, NOP, NOP, end) after its 20-byte header, lengths and
// header checksum adjusted.
func withIPv4Option(fr []byte) []byte {
	out := append([]byte(nil), fr[:ethHdrLen+20]...)
	out = append(out, 1, 1, 1, 0)
	out = append(out, fr[ethHdrLen+20:]...)
	ip := out[ethHdrLen:]
	ip[0] = 0x46
	binary.BigEndian.PutUint16(ip[2:], binary.BigEndian.Uint16(ip[2:])+4)
	ip[10], ip[11] = 0, 0
	var s uint32
	for i := 0; i < 24; i += 2 {
		s += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	for s > 0xFFFF {
		s = s>>16 + s&0xFFFF
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(s))
	return out
}

// TestIP6FastMatchesNodes is TestIP4FastMatchesNodes for ip6-forward:
// gateway and connected routes over routed and bridged interfaces, and
// what the fast loop must hand on: a payload length past the frame,
// another version, hop limits 0 and 1, multicast (link scope and wider),
// link-local destinations and sources, local, unrouted, blackholed and
// ECMP destinations, unresolved neighbors, packets over the MTU.
func TestIP6FastMatchesNodes(t *testing.T) {
	for seed := range uint64(24) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { ip6FastVsNodes(t, seed) })
	}
}

func ip6FastVsNodes(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 6))
	cfg := testL3Config()
	cfg.Interfaces = append(cfg.Interfaces, Interface{Name: "rc", Port: "c", MAC: macRC, Addrs: []string{"fd03::1/64"},
		MTU: []int{0, 1400, 1280}[r.IntN(3)]})
	if r.IntN(2) == 0 {
		cfg.Neighbors = append(cfg.Neighbors, Neighbor{Interface: "rc", Addr: "fd03::2", MAC: macN(30)})
	}
	cfg.Routes = []Route{
		{Prefix: "fd09::/32", Via: []NextHop{{Addr: "fd03::2"}}},
		{Prefix: "fd08::/32", Via: []NextHop{{Addr: "fd02::2"}}},
		{Prefix: "fd07::/32", Via: []NextHop{{Addr: "fd02::2"}, {Addr: "fd01::2"}}},
		{Prefix: "fd06::/32", Blackhole: true},
	}
	rigs := fastAndGeneral(t, cfg)
	ins := []struct{ port, mac, srcMAC, src string }{{"a", macRA, macA, "fd01::2"}, {"b", macRB, macB, "fd02::2"}, {"c", macRC, macN(30), "fd03::2"}}
	dsts := []string{"fd01::2", "fd02::2", "fd02::9", "fd03::2", "fd09::1:1", "fd08::1", "fd07::3", "fd07::99",
		"fd06::1", "fd01::1", "fd03::1", "ff02::1", "ff05::1", "fe80::5", "2001:db8::1"}
	for batch := range 30 {
		in := ins[r.IntN(len(ins))]
		frames := make([][]byte, 1+r.IntN(40))
		for i := range frames {
			hop := []uint8{64, 64, 64, 2, 1, 0}[r.IntN(6)]
			size := []int{18, 18, 100, 700, 1440}[r.IntN(5)]
			src := in.src
			if r.IntN(10) == 0 {
				src = "fe80::9"
			}
			fr := pkt6(in.mac, in.srcMAC, src, dsts[r.IntN(len(dsts))], hop, uint16(r.IntN(4)), size)
			ip := fr[ethHdrLen:]
			switch r.IntN(10) {
			case 0: // a payload length past the frame
				binary.BigEndian.PutUint16(ip[4:], uint16(len(ip)-40+4))
			case 1: // Ethernet padding after the packet
				fr = append(fr, make([]byte, 1+r.IntN(30))...)
			case 2: // another version
				ip[0] = 0x45
			}
			frames[i] = fr
		}
		requireSameOut(t, rigs, in.port, frames, batch)
	}
	for _, rg := range rigs {
		requireNoLeak(t, rg.s)
	}
}

// FuzzIPFastMatchesNodes sends arbitrary bytes, behind an Ethernet
// header to a router interface (the bridged ra or the routed-port rc, by
// the first byte), into a switch with the routing fast loops and one
// without (learner.unfused), and requires the same frames out of the same
// ports and the same drop counters: whatever the bytes, ip4-forward's and
// ip6-forward's fast loops answer as the general one does.
func FuzzIPFastMatchesNodes(f *testing.F) {
	for _, s := range [][]byte{
		pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1, 18, false),
		pkt4(macRA, macA, "10.1.0.2", "10.9.0.7", 2, 1, 18, false),
		pkt4(macRA, macA, "10.1.0.2", "10.2.0.9", 64, 1, 1400, true),
		withIPv4Option(pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1, 18, false)),
		pkt6(macRA, macA, "fd01::2", "fd02::2", 64, 1, 18),
		pkt6(macRA, macA, "fd01::2", "fd09::2", 1, 1, 1400),
	} {
		f.Add(append([]byte{0}, s[12:]...))
		f.Add(append([]byte{1}, s[12:]...))
	}
	cfg := testL3Config()
	cfg.Interfaces = append(cfg.Interfaces, Interface{Name: "rc", Port: "c", MAC: macRC, Addrs: []string{"10.3.0.1/24", "fd03::1/64"}, MTU: 1300})
	cfg.Neighbors = append(cfg.Neighbors, Neighbor{Interface: "rc", Addr: "10.3.0.2", MAC: macN(30)},
		Neighbor{Interface: "rc", Addr: "fd03::2", MAC: macN(30)})
	cfg.Routes = []Route{
		{Prefix: "10.9.0.0/16", Via: []NextHop{{Addr: "10.3.0.2"}}},
		{Prefix: "10.7.0.0/16", Via: []NextHop{{Addr: "10.2.0.2"}, {Addr: "10.3.0.2"}}},
		{Prefix: "fd09::/32", Via: []NextHop{{Addr: "fd03::2"}}},
	}
	var rigs [2]*rig
	for k := range rigs {
		rigs[k] = newRig(&testing.T{}, Options{})
		rg := rigs[k]
		f.Cleanup(func() { rg.s.Close() })
		rg.attach("a", "b", "b2", "c")
		require.NoError(f, rg.s.Reconfigure(cfg))
		rg.send("a", frame(bcast(), macA, -1))
		rg.send("b", frame(bcast(), macB, -1))
		rg.recv()
	}
	rigs[1].s.lrn.unfused.Store(true)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 1 {
			return
		}
		in, hdr := "a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1, 18, false)[:12]
		if b[0]&1 == 1 {
			in, hdr = "c", pkt4(macRC, macN(30), "10.3.0.2", "10.2.0.2", 64, 1, 18, false)[:12]
		}
		b = b[1:]
		if len(b) > 1500 {
			b = b[:1500] // longer frames are a port's business (memport refuses them)
		}
		for _, rg := range rigs {
			rg.t = t
		}
		out, drops := sendBoth(rigs, in, [][]byte{append(append([]byte(nil), hdr...), b...)})
		require.Equal(t, out[1], out[0], "frames out, fast vs general")
		require.Equal(t, drops[1], drops[0], "drop counters")
	})
}

package perf

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/vecswitch/vecswitch/ports/memport"
	"github.com/vecswitch/vecswitch/vswitch"
)

// L3 scenario kinds: routed forwarding between two routed ports, through
// a FIB of N random routes that all lead to one gateway, with destinations
// spread over the whole table.
const (
	IP4Routes = "ip4-routes"
	IP6Routes = "ip6-routes"
)

const (
	l3InMAC  = 0x02AA00000001
	l3OutMAC = 0x02AA00000002
	l3GwMAC  = 0x02BB00000002
	l3SrcMAC = 0x02BB00000001
)

// NewL3Scenario builds an IPv4 or IPv6 routing scenario with routes random
// prefixes (IPv4: /8 to /32, mostly /16 to /24; IPv6: /16 to /128, mostly
// /32 to /64).
func NewL3Scenario(kind string, routes int) (*Scenario, error) {
	v6 := kind == IP6Routes
	if kind != IP4Routes && !v6 {
		return nil, fmt.Errorf("perf: unknown L3 scenario %q", kind)
	}
	sc, err := newMemScenario(fmt.Sprintf("%s-%d", kind, routes), 2)
	if err != nil {
		return nil, err
	}
	cfg, dsts := l3Config(v6, routes)
	if err := sc.Switch.Reconfigure(cfg); err != nil {
		sc.Close()
		return nil, err
	}
	sc.learn(0, []uint64{l3SrcMAC}, -1)
	sc.learn(1, []uint64{l3GwMAC}, -1)
	frames := make([][]byte, len(dsts))
	for i, d := range dsts {
		frames[i] = RoutedFrame(l3InMAC, l3SrcMAC, srcOf(v6), d)
	}
	return sc.feed(0, frames)
}

func srcOf(v6 bool) netip.Addr {
	if v6 {
		return netip.MustParseAddr("fd00:ff::2")
	}
	return netip.MustParseAddr("10.255.0.2")
}

// l3Config is the scenario's configuration with n random routes, and
// destination addresses inside them (at most 1<<18).
func l3Config(v6 bool, n int) (vswitch.Config, []netip.Addr) {
	in, out, gw := "10.255.0.1/24", "10.254.0.1/24", "10.254.0.2"
	if v6 {
		in, out, gw = "fd00:ff::1/64", "fd00:fe::1/64", "fd00:fe::2"
	}
	cfg := vswitch.Config{
		Interfaces: []vswitch.Interface{
			{Name: "r0", Port: "p0", MAC: macString(l3InMAC), Addrs: []string{in}},
			{Name: "r1", Port: "p1", MAC: macString(l3OutMAC), Addrs: []string{out}},
		},
		Neighbors: []vswitch.Neighbor{{Interface: "r1", Addr: gw, MAC: macString(l3GwMAC)}},
	}
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	seen := map[netip.Prefix]bool{}
	taken := []netip.Prefix{netip.MustParsePrefix(in).Masked(), netip.MustParsePrefix(out).Masked()}
	via := []vswitch.NextHop{{Addr: gw}}
	var pfxs []netip.Prefix
	for len(pfxs) < n {
		p := randomPrefix(rng, v6)
		if seen[p] || p.Overlaps(taken[0]) || p.Overlaps(taken[1]) {
			continue
		}
		seen[p] = true
		pfxs = append(pfxs, p)
		cfg.Routes = append(cfg.Routes, vswitch.Route{Prefix: p.String(), Via: via})
	}
	dsts := make([]netip.Addr, min(max(n, 1024), 1<<18))
	for i := range dsts {
		dsts[i] = randomIn(rng, pfxs[rng.IntN(len(pfxs))])
	}
	return cfg, dsts
}

func randomPrefix(rng *rand.Rand, v6 bool) netip.Prefix {
	var bits int
	if v6 {
		switch r := rng.IntN(100); {
		case r < 80:
			bits = 32 + rng.IntN(33)
		case r < 90:
			bits = 16 + rng.IntN(16)
		default:
			bits = 65 + rng.IntN(64)
		}
		var b [16]byte
		binary.BigEndian.PutUint64(b[:], 0x2000_0000_0000_0000|rng.Uint64()>>3)
		binary.BigEndian.PutUint64(b[8:], rng.Uint64())
		return netip.PrefixFrom(netip.AddrFrom16(b), bits).Masked()
	}
	switch r := rng.IntN(100); {
	case r < 85:
		bits = 16 + rng.IntN(9)
	case r < 92:
		bits = 8 + rng.IntN(8)
	default:
		bits = 25 + rng.IntN(8)
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], 1<<24+rng.Uint32()%(223<<24)) // 1.0.0.0 - 223.255.255.255
	return netip.PrefixFrom(netip.AddrFrom4(b), bits).Masked()
}

func randomIn(rng *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		if rng.IntN(2) == 1 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func macString(m uint64) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", byte(m>>40), byte(m>>32), byte(m>>24), byte(m>>16), byte(m>>8), byte(m))
}

// RoutedFrame builds the smallest UDP frame from src to dst: 60 bytes for
// IPv4 (64 on the wire), 62 for IPv6 (a UDP/IPv6 packet does not fit
// less), TTL/hop limit 64, checksums set (UDP checksum 0 for IPv4).
func RoutedFrame(dstMAC, srcMAC uint64, src, dst netip.Addr) []byte {
	b := make([]byte, 12, 64)
	binary.BigEndian.PutUint16(b, uint16(dstMAC>>32))
	binary.BigEndian.PutUint32(b[2:], uint32(dstMAC))
	binary.BigEndian.PutUint16(b[6:], uint16(srcMAC>>32))
	binary.BigEndian.PutUint32(b[8:], uint32(srcMAC))
	if dst.Is4() {
		s, d := src.As4(), dst.As4()
		b = append(b, 0x08, 0x00, 0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0)
		b = append(b, s[:]...)
		b = append(b, d[:]...)
		b = append(b, 0x04, 0xd2, 0x16, 0x2e, 0, 26, 0, 0)
		b = b[:FrameLen]
		binary.BigEndian.PutUint16(b[24:], ^csumFold(csumAdd(0, b[14:34])))
		return b
	}
	s, d := src.As16(), dst.As16()
	b = append(b, 0x86, 0xDD, 0x60, 0, 0, 0, 0, 8, 17, 64)
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	b = append(b, 0x04, 0xd2, 0x16, 0x2e, 0, 8, 0, 0)
	// The pseudo-header's addresses, next header and length, then the UDP
	// header (ports, length) with no payload.
	sum := csumAdd(17+8+0x04d2+0x162e+8, b[22:54])
	binary.BigEndian.PutUint16(b[60:], ^csumFold(sum))
	return b
}

// newMemScenario makes a switch (one worker, 8192 buffers) with n memory
// ports p0..pn-1 attached and no configuration.
func newMemScenario(name string, n int) (*Scenario, error) {
	sc := &Scenario{Name: name, OutPerIn: 1}
	sw, err := vswitch.New(vswitch.Options{PoolFrames: 8192})
	if err != nil {
		return nil, err
	}
	sc.Switch = sw
	for i := range n {
		p, err := memport.New(memport.Config{Name: fmt.Sprintf("p%d", i)})
		if err == nil {
			err = sw.AddPort(p)
		}
		if err != nil {
			sc.Close()
			return nil, err
		}
		sc.Ports = append(sc.Ports, p)
	}
	return sc, nil
}

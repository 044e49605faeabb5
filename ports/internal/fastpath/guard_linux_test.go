package fastpath

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports/internal/xsk"
)

// guardFrame builds an Ethernet frame from src to dst (one 802.1Q tag if
// vid != 0) carrying an IPv4 header from ip (protocol proto), an IPv6
// header from ip (next header proto), or for any other etherType 28
// bytes of zeros. ipLen cuts the IP header short (0: whole, with 26
// bytes of payload).
func guardFrame(src, dst MAC, vid uint16, etherType uint16, ip netip.Addr, proto byte, ipLen int) []byte {
	b := append([]byte{}, dst[:]...)
	b = append(b, src[:]...)
	if vid != 0 {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, vid)
	}
	b = binary.BigEndian.AppendUint16(b, etherType)
	var l3 []byte
	switch etherType {
	case 0x0800:
		l3 = make([]byte, 20+26)
		l3[0], l3[8], l3[9] = 0x45, 64, proto
		binary.BigEndian.PutUint16(l3[2:], uint16(len(l3)))
		a := ip.As4()
		copy(l3[12:16], a[:])
		copy(l3[16:20], []byte{10, 99, 0, 2})
	case 0x86dd:
		l3 = make([]byte, 40+26)
		l3[0], l3[6], l3[7] = 0x60, proto, 64
		binary.BigEndian.PutUint16(l3[4:], 26)
		a := ip.As16()
		copy(l3[8:24], a[:])
		l3[24], l3[25], l3[39] = 0x20, 0x01, 2
	default:
		l3 = make([]byte, 28)
	}
	if ipLen > 0 {
		l3 = l3[:ipLen]
	}
	return append(b, l3...)
}

// runFrame runs the program on frame as received on ingress and returns
// its verdict and the ingress port's counters after it.
func runFrame(t *testing.T, tp *topo, prog *ebpf.Program, ingress *tport, frame []byte) (uint32, PortCounters) {
	t.Helper()
	ctx := xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: uint32(ingress.ifindex)}
	ret, err := prog.Run(&ebpf.RunOptions{Data: frame, Context: ctx})
	require.NoError(t, err)
	return ret, tp.counters(t, ingress)
}

var (
	addr = netip.MustParseAddr
	pfx  = netip.MustParsePrefix
)

// guardSources are what the switch gives a port with addresses
// 10.99.0.1, 2001:db8::1, allowed 10.50.0.0/16, and the always-allowed
// sources of its guard.
var guardSources = []netip.Prefix{pfx("10.99.0.1/32"), pfx("10.50.0.0/16"), pfx("0.0.0.0/32"),
	pfx("2001:db8::1/128"), pfx("::/128"), pfx("fe80::/10")}

// TestSecuredPort: the program runs a secured port's address guards for
// the common case and leaves the rest to the pipeline: IPv4 from an
// allowed source (untagged or under a tag) and IPv6 TCP or UDP from one
// are switched; another source misses "src-ip" (the pipeline's guard
// drops it); ARP, ICMPv6, extension headers, other EtherTypes and cut
// headers miss "guard". A port without Secured switches all of them, as
// before. (BPF_PROG_RUN: the verdict is the program's, nothing is sent.)
func TestSecuredPort(t *testing.T) {
	tp := newTopo(t, 2, xsk.AttachGeneric, false)
	a, b := tp.ports[0], tp.ports[1]
	tp.learn(t)
	prog := tp.progs[0].prog
	require.NoError(t, tp.maps.SetPort(a.ifindex, PortConfig{Domain: 1, VLANs: map[uint16]Domain{10: 1},
		Secured: true, Sources: guardSources}))

	type tc struct {
		name  string
		frame []byte
		miss  MissReason // -1: switched
	}
	const hit = MissReason(-1)
	v4 := func(vid uint16, src string) []byte { return guardFrame(a.mac, b.mac, vid, 0x0800, addr(src), 17, 0) }
	v6 := func(src string, nh byte) []byte { return guardFrame(a.mac, b.mac, 0, 0x86dd, addr(src), nh, 0) }
	cases := []tc{
		{"IPv4 from its address", v4(0, "10.99.0.1"), hit},
		{"IPv4 from an allowed prefix", v4(0, "10.50.7.9"), hit},
		{"IPv4 unspecified source", v4(0, "0.0.0.0"), hit},
		{"IPv4 ICMP from its address", guardFrame(a.mac, b.mac, 0, 0x0800, addr("10.99.0.1"), 1, 0), hit},
		{"IPv4 tagged, from its address", v4(10, "10.99.0.1"), hit},
		{"IPv4 spoofed", v4(0, "10.99.0.2"), MissSrcIP},
		{"IPv4 spoofed, outside the prefix", v4(0, "10.51.0.1"), MissSrcIP},
		{"IPv4 tagged, spoofed", v4(10, "192.0.2.1"), MissSrcIP},
		{"IPv4 header cut short", guardFrame(a.mac, b.mac, 0, 0x0800, addr("10.99.0.1"), 17, 19), MissGuard},
		{"IPv6 TCP from its address", v6("2001:db8::1", 6), hit},
		{"IPv6 UDP from its address", v6("2001:db8::1", 17), hit},
		{"IPv6 UDP link-local", v6("fe80::1234:5678", 17), hit},
		{"IPv6 UDP unspecified", v6("::", 17), hit},
		{"IPv6 TCP spoofed", v6("2001:db8::2", 6), MissSrcIP},
		{"IPv6 TCP spoofed, IPv4-mapped", v6("::ffff:10.99.0.1", 6), MissSrcIP},
		{"IPv6 ICMPv6", v6("2001:db8::1", 58), MissGuard},
		{"IPv6 ICMPv6 link-local", v6("fe80::1", 58), MissGuard},
		{"IPv6 hop-by-hop", v6("2001:db8::1", 0), MissGuard},
		{"IPv6 routing header", v6("2001:db8::1", 43), MissGuard},
		{"IPv6 fragment", v6("2001:db8::1", 44), MissGuard},
		{"IPv6 header cut short", guardFrame(a.mac, b.mac, 0, 0x86dd, addr("2001:db8::1"), 6, 39), MissGuard},
		{"ARP", guardFrame(a.mac, b.mac, 0, 0x0806, netip.Addr{}, 0, 0), MissGuard},
		{"ARP tagged", guardFrame(a.mac, b.mac, 10, 0x0806, netip.Addr{}, 0, 0), MissGuard},
		{"other EtherType", guardFrame(a.mac, b.mac, 0, testEtherType, netip.Addr{}, 0, 0), MissGuard},
		{"a tag inside the tag", guardFrame(a.mac, b.mac, 10, 0x8100, netip.Addr{}, 0, 0), MissGuard},
	}
	check := func(t *testing.T, prog *ebpf.Program, in *tport, c tc) {
		t.Helper()
		before := tp.counters(t, in)
		ret, after := runFrame(t, tp, prog, in, c.frame)
		if c.miss == hit {
			assert.EqualValues(t, xdpRedirect, ret, "%s: verdict", c.name)
			assert.EqualValues(t, 1, after.RxPackets-before.RxPackets, "%s: hits", c.name)
			assert.Equal(t, before.Misses(), after.Misses(), "%s: misses", c.name)
			return
		}
		// No AF_XDP socket is bound: a miss goes to the kernel stack.
		assert.EqualValues(t, xdpPass, ret, "%s: verdict", c.name)
		assert.Equal(t, before.RxPackets, after.RxPackets, "%s: hits", c.name)
		assert.EqualValues(t, 1, after.Miss[c.miss]-before.Miss[c.miss], "%s: %s misses", c.name, c.miss)
	}
	for _, c := range cases {
		check(t, prog, a, c)
	}

	// The same frames from B, which is not secured: all switched (to
	// A), as before secured ports existed.
	for _, c := range cases {
		f := append([]byte{}, c.frame...)
		copy(f[0:6], a.mac[:])
		copy(f[6:12], b.mac[:])
		if binary.BigEndian.Uint16(f[12:]) == 0x8100 {
			continue // B is an access port
		}
		check(t, tp.progs[1].prog, b, tc{"from B: " + c.name, f, hit})
	}

	// Sources narrowed in place: the one taken away misses at once, the
	// one added passes.
	require.NoError(t, tp.maps.SetPort(a.ifindex, PortConfig{Domain: 1, VLANs: map[uint16]Domain{10: 1},
		Secured: true, Sources: []netip.Prefix{pfx("10.99.0.1/32"), pfx("10.60.0.0/24")}}))
	check(t, prog, a, tc{"narrowed: IPv4 from the prefix taken away", v4(0, "10.50.7.9"), MissSrcIP})
	check(t, prog, a, tc{"narrowed: IPv4 unspecified, taken away", v4(0, "0.0.0.0"), MissSrcIP})
	check(t, prog, a, tc{"narrowed: IPv4 from the prefix added", v4(0, "10.60.0.200"), hit})
	check(t, prog, a, tc{"narrowed: IPv6 with no IPv6 source", v6("2001:db8::1", 6), MissSrcIP})

	// ::/0 lets IPv6 through, not IPv4.
	require.NoError(t, tp.maps.SetPort(a.ifindex, PortConfig{Domain: 1, Secured: true, Sources: []netip.Prefix{pfx("::/0")}}))
	check(t, prog, a, tc{"::/0: IPv6", v6("2001:db8::99", 17), hit})
	check(t, prog, a, tc{"::/0: IPv4", v4(0, "10.99.0.1"), MissSrcIP})

	// Not secured any more: everything is switched again; the sources
	// are out of the maps.
	require.NoError(t, tp.maps.SetPort(a.ifindex, PortConfig{Domain: 1}))
	check(t, prog, a, tc{"unsecured: ARP", guardFrame(a.mac, b.mac, 0, 0x0806, netip.Addr{}, 0, 0), hit})
	check(t, prog, a, tc{"unsecured: IPv4 from anywhere", v4(0, "192.0.2.1"), hit})
	check(t, prog, a, tc{"unsecured: ICMPv6", v6("2001:db8::1", 58), hit})
	assert.Zero(t, countKeys(t, tp.maps.allow4)+countKeys(t, tp.maps.allow6))
}

// countKeys is the number of elements in m.
func countKeys(t *testing.T, m *ebpf.Map) int {
	t.Helper()
	var k []byte
	n := 0
	it := m.Iterate()
	var v uint32
	for it.Next(&k, &v) {
		n++
	}
	require.NoError(t, it.Err())
	return n
}

// TestMapsSources: the source prefixes of a secured port are checked,
// bounded, replaced with a grace period after a removal, and removed with
// the port, so that the next port with its ifindex starts with none.
func TestMapsSources(t *testing.T) {
	tp := newTopo(t, 1, xsk.AttachGeneric, false)
	a := tp.ports[0]
	m, err := NewMaps(MapsConfig{MaxEntries: 16, MaxPorts: 4, MaxVLANs: 4, MaxSources: 3})
	require.NoError(t, err)
	defer m.Close()

	for _, bad := range []netip.Prefix{pfx("10.0.0.1/24"), pfx("::ffff:10.0.0.0/104"), {}} {
		err := m.SetPort(a.ifindex, PortConfig{Domain: 1, Secured: true, Sources: []netip.Prefix{bad}})
		assert.ErrorIs(t, err, ErrBadConfig, "%s", bad)
	}
	_, ok := m.Port(a.ifindex)
	assert.False(t, ok, "a refused port was added")
	err = m.SetPort(a.ifindex, PortConfig{Domain: 1, Secured: true,
		Sources: []netip.Prefix{pfx("10.0.0.1/32"), pfx("10.0.0.2/32"), pfx("10.0.0.3/32"), pfx("10.0.0.4/32")}})
	assert.ErrorIs(t, err, ErrFull)
	_, ok = m.Port(a.ifindex)
	assert.False(t, ok, "a refused port was added")

	srcs := []netip.Prefix{pfx("10.0.0.1/32"), pfx("10.0.0.0/8"), pfx("fe80::/10"), pfx("10.0.0.1/32")}
	require.NoError(t, m.SetPort(a.ifindex, PortConfig{Domain: 1, Secured: true, Sources: srcs}))
	assert.Equal(t, 2, countKeys(t, m.allow4))
	assert.Equal(t, 1, countKeys(t, m.allow6))
	cfg, ok := m.Port(a.ifindex)
	require.True(t, ok)
	assert.Equal(t, srcs, cfg.Sources)

	// A removal waits a grace period; an addition alone does not.
	g := m.GracePeriods()
	require.NoError(t, m.SetPort(a.ifindex, PortConfig{Domain: 1, Secured: true,
		Sources: []netip.Prefix{pfx("10.0.0.1/32"), pfx("10.0.0.0/8"), pfx("fe80::/10"), pfx("::/128")}}))
	assert.Equal(t, g, m.GracePeriods(), "an addition waited")
	require.NoError(t, m.SetPort(a.ifindex, PortConfig{Domain: 1, Secured: true, Sources: []netip.Prefix{pfx("10.0.0.1/32")}}))
	assert.Greater(t, m.GracePeriods(), g, "a removal did not wait for frames in flight")
	assert.Equal(t, 1, countKeys(t, m.allow4))
	assert.Equal(t, 0, countKeys(t, m.allow6))
	// Three per family fit again.
	require.NoError(t, m.SetPort(a.ifindex, PortConfig{Domain: 1, Secured: true,
		Sources: []netip.Prefix{pfx("10.0.0.1/32"), pfx("10.0.0.2/32"), pfx("10.0.0.3/32"), pfx("::/0")}}))

	require.NoError(t, m.DelPort(a.ifindex))
	assert.Zero(t, countKeys(t, m.allow4)+countKeys(t, m.allow6), "sources left after DelPort")
	require.NoError(t, m.SetPort(a.ifindex, PortConfig{Domain: 1, Secured: true}))
	assert.Zero(t, countKeys(t, m.allow4)+countKeys(t, m.allow6))
}

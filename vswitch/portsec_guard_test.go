package vswitch

import (
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// Addresses of the guard tests: the secured port "c" has station macN(1),
// 10.0.0.1 and fd00::1.
const (
	gOther = "10.0.0.2"
)

func guardedPort(name string, ips ...string) Port {
	p := secured(acc(name, 0), macN(1))
	p.IPs = ips
	return p
}

func guardRig(t *testing.T, c Port) *rig {
	r := newL2Rig(t, Options{})
	r.attach("c", "o")
	r.reconf(oneBridge(c, acc("o", 0)))
	return r
}

// passes sends frames on port c and reports, for each, whether it left on
// o, and what l2-input dropped.
func (r *rig) passes(frames ...[]byte) ([]bool, map[string]uint64) {
	r.t.Helper()
	before := allDrops(r.s)
	var out []bool
	for _, f := range frames {
		r.send("c", f)
		out = append(out, len(r.recv()["o"]) == 1)
	}
	return out, dropsSince(r.s, before)
}

// TestIPSourceGuard: a port with port security and addresses sends only
// from them (or 0.0.0.0, ::, link-local, and its allowed IPs); a port
// with port security and no addresses, or with addresses and port
// security off, sends from any.
func TestIPSourceGuard(t *testing.T) {
	c := guardedPort("c", "10.0.0.1/24", "fd00::1")
	c.AllowedIPs = []string{"192.168.5.0/24", "fd00:5::/64", "10.0.0.100"}
	r := guardRig(t, c)
	mac := macN(1)
	ok := []bool{true, true, true, true, true, true, true, true, true}
	got, drops := r.passes(
		pkt4(macN(2), mac, "10.0.0.1", gOther, 64, 1, 10, false),
		pkt4(bcast(), mac, "0.0.0.0", "255.255.255.255", 64, 68, 300, false), // DHCP
		pkt4(macN(2), mac, "192.168.5.77", gOther, 64, 1, 10, false),
		pkt4(macN(2), mac, "10.0.0.100", gOther, 64, 1, 10, false),
		pkt6(macN(2), mac, "fd00::1", "fd00::2", 64, 1, 10),
		pkt6(macN(2), mac, "fd00:5::77", "fd00::2", 64, 1, 10),
		pkt6(macN(2), mac, "fe80::1234:5678:9abc:def0", "fe80::2", 64, 1, 10),
		pkt6(macN(2), mac, "::", "ff02::1:ff00:1", 255, 1, 10),
		frame(macN(2), mac, -1), // frame()'s IPv4 source is 10.0.0.1
	)
	require.Equal(t, ok, got)
	require.Empty(t, drops)

	got, drops = r.passes(
		pkt4(macN(2), mac, "10.0.0.9", gOther, 64, 1, 10, false),
		pkt4(macN(2), mac, "203.0.113.5", "8.8.8.8", 64, 1, 10, false),
		pkt4(macN(2), mac, "127.0.0.1", gOther, 64, 1, 10, false),
		pkt4(macN(2), mac, "10.0.0.255", gOther, 64, 1, 10, false),
		pkt4(macN(2), mac, "10.0.0.101", gOther, 64, 1, 10, false),
		pkt6(macN(2), mac, "fd00::9", "fd00::2", 64, 1, 10),
		pkt6(macN(2), mac, "fd00:6::1", "fd00::2", 64, 1, 10),
		frame(macN(2), mac, -1)[:14+19], // too short to tell
	)
	require.Equal(t, make([]bool, 8), got)
	require.Equal(t, map[string]uint64{nodeL2Input + "/src-ip-not-allowed": 8}, drops)

	// No addresses: MAC port security only, as before.
	r = guardRig(t, guardedPort("c"))
	got, drops = r.passes(pkt4(macN(2), mac, "203.0.113.5", gOther, 64, 1, 10, false), pkt6(macN(2), mac, "fd00::9", "fd00::2", 64, 1, 10))
	require.Equal(t, []bool{true, true}, got)
	require.Empty(t, drops)

	// Port security off: addresses bind nothing.
	off := false
	c = guardedPort("c", "10.0.0.1")
	c.PortSecurity = &off
	r = guardRig(t, c)
	got, drops = r.passes(pkt4(macN(2), mac, "203.0.113.5", gOther, 64, 1, 10, false))
	require.Equal(t, []bool{true}, got)
	require.Empty(t, drops)

	// Only IPv4 addresses known: IPv6 sends from link-local and :: only.
	r = guardRig(t, guardedPort("c", "10.0.0.1"))
	got, drops = r.passes(pkt6(macN(2), mac, "fe80::1", "fe80::2", 64, 1, 10), pkt6(macN(2), mac, "fd00::1", "fd00::2", 64, 1, 10))
	require.Equal(t, []bool{true, false}, got)
	require.Equal(t, map[string]uint64{nodeL2Input + "/src-ip-not-allowed": 1}, drops)

	// Changing the addresses applies at once (allowed_ips=0.0.0.0/0
	// lets the port send from any IPv4 source).
	c = guardedPort("c", "10.0.0.1")
	c.AllowedIPs = []string{"0.0.0.0/0"}
	r.reconf(oneBridge(c, acc("o", 0)))
	got, drops = r.passes(pkt4(macN(2), mac, "203.0.113.5", gOther, 64, 1, 10, false), pkt6(macN(2), mac, "fd00::1", "fd00::2", 64, 1, 10))
	require.Equal(t, []bool{true, false}, got)
	require.Equal(t, map[string]uint64{nodeL2Input + "/src-ip-not-allowed": 1}, drops)
}

// arpFrom is an ARP packet (op 1 request, 2 reply) from Ethernet source
// src with sender sha/spa, broadcast.
func arpFrom(src, sha, spa, tpa string, op uint16) []byte {
	return serialize(&layers.Ethernet{DstMAC: mustMAC(bcast()), SrcMAC: mustMAC(src), EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: op, SourceHwAddress: mustMAC(sha), SourceProtAddress: net.ParseIP(spa).To4(),
			DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP(tpa).To4()})
}

// TestARPGuard: a port with port security sends ARP only with one of its
// MACs as sender; with addresses, only for one of them (or 0.0.0.0, a
// probe).
func TestARPGuard(t *testing.T) {
	mac := macN(1)
	r := guardRig(t, guardedPort("c", "10.0.0.1/24"))
	got, drops := r.passes(
		arpFrom(mac, mac, "10.0.0.1", "10.0.0.1", 1), // gratuitous
		arpFrom(mac, mac, "10.0.0.1", gOther, 1),
		arpFrom(mac, mac, "0.0.0.0", "10.0.0.1", 1), // probe
		arpFrom(mac, mac, "10.0.0.1", gOther, 2),
	)
	require.Equal(t, []bool{true, true, true, true}, got)
	require.Empty(t, drops)

	bad := arpFrom(mac, mac, "10.0.0.1", gOther, 1)
	bad[14+5] = 16 // IPv6-sized protocol addresses
	got, drops = r.passes(
		arpFrom(mac, mac, gOther, gOther, 1),       // claims another's address
		arpFrom(mac, mac, "10.0.0.254", gOther, 2), // the router's
		arpFrom(mac, macN(2), "10.0.0.1", gOther, 2),
		arpFrom(mac, bcast(), "10.0.0.1", gOther, 2),
		bad,
		arpFrom(mac, mac, "10.0.0.1", gOther, 1)[:14+27],
	)
	require.Equal(t, make([]bool, 6), got)
	require.Equal(t, map[string]uint64{nodeL2Input + "/arp-not-allowed": 6}, drops)

	// No addresses: any sender address, but the MAC must be the port's.
	r = guardRig(t, guardedPort("c"))
	got, drops = r.passes(arpFrom(mac, mac, gOther, gOther, 1), arpFrom(mac, macN(2), "10.0.0.1", gOther, 2))
	require.Equal(t, []bool{true, false}, got)
	require.Equal(t, map[string]uint64{nodeL2Input + "/arp-not-allowed": 1}, drops)
}

// icmp6Frame is an Ethernet/IPv6/ICMPv6 frame from macN(1) with the
// given body (after the ICMPv6 type, code and checksum), and the
// extension headers ext (each a next-header byte follows) before it.
func icmp6Frame(src, dst string, typ uint8, body []byte, ext ...gopacket.SerializableLayer) []byte {
	ip := &layers.IPv6{Version: 6, HopLimit: 255, NextHeader: layers.IPProtocolICMPv6, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
	must(icmp.SetNetworkLayerForChecksum(ip))
	ls := []gopacket.SerializableLayer{&layers.Ethernet{DstMAC: mustMAC(bcast()), SrcMAC: mustMAC(macN(1)), EthernetType: layers.EthernetTypeIPv6}, ip}
	if len(ext) > 0 {
		ip.NextHeader = layers.IPProtocolIPv6HopByHop
		ls = append(ls, ext...)
	}
	return serialize(append(ls, icmp, gopacket.Payload(body))...)
}

// ndBody is a neighbor solicitation's or advertisement's body: flags or
// reserved, the target, and a link-layer address option (type 1 source,
// 2 target; 0: none).
func ndBody(target string, opt uint8, mac string) []byte {
	b := append(make([]byte, 4), net.ParseIP(target).To16()...)
	if opt != 0 {
		b = append(append(b, opt, 1), mustMAC(mac)...)
	}
	return b
}

func hopByHop() *layers.IPv6HopByHop {
	h := &layers.IPv6HopByHop{}
	h.NextHeader = layers.IPProtocolICMPv6
	h.Options = []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: make([]byte, 4)}} // PadN
	return h
}

// TestNDAndRAGuard: a port with port security claims only its MACs in
// neighbor discovery, only its addresses (or link-local ones) as a
// neighbor advertisement's target, and sends no router advertisement or
// redirect (ra_guard=off allows them).
func TestNDAndRAGuard(t *testing.T) {
	mac := macN(1)
	ra := make([]byte, 12) // hop limit, flags, lifetimes, timers
	r := guardRig(t, guardedPort("c", "fd00::1/64"))
	got, drops := r.passes(
		icmp6Frame("fd00::1", "ff02::1", icmp6NeighAdvert, ndBody("fd00::1", 2, mac)),
		icmp6Frame("fe80::1", "ff02::1", icmp6NeighAdvert, ndBody("fe80::1", 2, mac)),
		icmp6Frame("fd00::1", "ff02::1:ff00:2", icmp6NeighSolicit, ndBody("fd00::2", 1, mac)),
		icmp6Frame("::", "ff02::1:ff00:1", icmp6NeighSolicit, ndBody("fd00::1", 0, "")), // DAD
		icmp6Frame("fe80::1", "ff02::2", icmp6RouterSolicit, append(make([]byte, 4), 1, 1, 2, 0, 0, 0, 0, 1)),
		icmp6Frame("fd00::1", "fd00::2", 128, make([]byte, 8)), // echo request
	)
	require.Equal(t, []bool{true, true, true, true, true, true}, got)
	require.Empty(t, drops)

	got, drops = r.passes(
		icmp6Frame("fd00::1", "ff02::1", icmp6NeighAdvert, ndBody("fd00::2", 2, mac)),     // another's address
		icmp6Frame("fe80::1", "ff02::1", icmp6NeighAdvert, ndBody("fd00::2", 2, mac)),     // the same from link-local
		icmp6Frame("fd00::1", "ff02::1", icmp6NeighAdvert, ndBody("fd00::1", 2, macN(2))), // another's MAC
		icmp6Frame("fd00::1", "ff02::1", icmp6NeighAdvert, ndBody("fd00::1", 2, bcast())), // a broadcast MAC
		icmp6Frame("fd00::1", "ff02::1:ff00:2", icmp6NeighSolicit, ndBody("fd00::2", 1, macN(2))),
		icmp6Frame("fe80::1", "ff02::2", icmp6RouterSolicit, append(make([]byte, 4), 1, 1, 2, 0, 0, 0, 0, 2)),
		icmp6Frame("fd00::1", "ff02::1", icmp6NeighAdvert, ndBody("fd00::1", 2, mac)[:19]), // truncated
	)
	require.Equal(t, make([]bool, 7), got)
	require.Equal(t, map[string]uint64{nodeL2Input + "/nd-not-allowed": 7}, drops)

	got, drops = r.passes(
		icmp6Frame("fe80::1", "ff02::1", icmp6RouterAdvert, ra),
		icmp6Frame("fe80::1", "ff02::1", icmp6RouterAdvert, ra, hopByHop()),
		icmp6Frame("fe80::1", "fe80::2", icmp6Redirect, make([]byte, 36)),
	)
	require.Equal(t, []bool{false, false, false}, got)
	require.Equal(t, map[string]uint64{nodeL2Input + "/ra-guard": 3}, drops)

	// No addresses: the RA guard and link-layer claims stay.
	r = guardRig(t, guardedPort("c"))
	got, drops = r.passes(
		icmp6Frame("fd00::1", "ff02::1", icmp6NeighAdvert, ndBody("fd00::2", 2, mac)),
		icmp6Frame("fd00::1", "ff02::1", icmp6NeighAdvert, ndBody("fd00::1", 2, macN(2))),
		icmp6Frame("fe80::1", "ff02::1", icmp6RouterAdvert, ra),
	)
	require.Equal(t, []bool{true, false, false}, got)
	require.Equal(t, map[string]uint64{nodeL2Input + "/nd-not-allowed": 1, nodeL2Input + "/ra-guard": 1}, drops)

	// ra_guard=off: the port may advertise; a port without port security
	// always could.
	off := false
	c := guardedPort("c", "fd00::1")
	c.RAGuard = &off
	r = guardRig(t, c)
	got, drops = r.passes(icmp6Frame("fe80::1", "ff02::1", icmp6RouterAdvert, ra), icmp6Frame("fe80::1", "fe80::2", icmp6Redirect, make([]byte, 36)))
	require.Equal(t, []bool{true, true}, got)
	require.Empty(t, drops)
	r = guardRig(t, acc("c", 0))
	got, drops = r.passes(icmp6Frame("fe80::1", "ff02::1", icmp6RouterAdvert, ra))
	require.Equal(t, []bool{true}, got)
	require.Empty(t, drops)
}

// TestRAGuardHeaderChain: the RA guard walks extension headers to the
// upper-layer header; a later fragment passes (its first fragment held
// the ICMPv6 header), a chain that does not end in the packet is
// dropped.
func TestRAGuardHeaderChain(t *testing.T) {
	r := guardRig(t, guardedPort("c"))
	ra := icmp6Frame("fe80::1", "ff02::1", icmp6RouterAdvert, make([]byte, 12))
	// Headers built by hand: IPv6 next header at 14+6, payload length at
	// 14+4, the payload from 14+40.
	withExt := func(nh uint8, hdrs ...[]byte) []byte {
		b := append([]byte(nil), ra[:14+40]...)
		b[14+6] = nh
		for _, h := range hdrs {
			b = append(b, h...)
		}
		pl := len(b) - 14 - 40
		b[14+4], b[14+5] = byte(pl>>8), byte(pl)
		return b
	}
	icmp := ra[14+40:]
	frag := func(next uint8, off uint16) []byte { return []byte{next, 0, byte(off >> 8), byte(off), 0, 0, 0, 1} }
	dstOpts := func(next uint8) []byte { return []byte{next, 0, 1, 4, 0, 0, 0, 0} } // PadN
	got, drops := r.passes(
		withExt(44, frag(58, 0), icmp),              // a first fragment: the RA is in it
		withExt(60, dstOpts(58), icmp),              // destination options
		withExt(60, dstOpts(60), dstOpts(58), icmp), // two of them
		withExt(60, dstOpts(60)),                    // a chain running past the packet
		withExt(44, frag(58, 8), icmp),              // a later fragment: payload only
		withExt(60, dstOpts(17), make([]byte, 8)),   // UDP
	)
	require.Equal(t, []bool{false, false, false, false, true, true}, got)
	require.Equal(t, map[string]uint64{nodeL2Input + "/ra-guard": 4}, drops)
}

// TestIPGuardConfig: addresses and allowed IPs are checked and
// normalized.
func TestIPGuardConfig(t *testing.T) {
	p := guardedPort("c", "10.0.0.1/24", "::ffff:10.0.0.3", "fd00::1")
	p.AllowedIPs = []string{"10.1.0.0/16", "fd00:1::7", "0.0.0.0/0"}
	cfg := oneBridge(p)
	require.NoError(t, cfg.Validate())
	n, _, err := cfg.normalize()
	require.NoError(t, err)
	require.Equal(t, []string{"10.0.0.1", "10.0.0.3", "fd00::1"}, n.Bridges[0].Ports[0].IPs)
	require.Equal(t, []string{"10.1.0.0/16", "fd00:1::7/128", "0.0.0.0/0"}, n.Bridges[0].Ports[0].AllowedIPs)

	for _, tc := range []struct {
		ips, allowed []string
		msg          string
	}{
		{allowed: []string{"10.1.0.5/16"}, msg: `bridge "br0", port "c", allowed IP: 10.1.0.5/16: want an address or a prefix: host bits set: give 10.1.0.0/16, or the address 10.1.0.5 alone`},
		{allowed: []string{"nonsense"}, msg: "allowed IP: nonsense"},
		{ips: []string{"10.0.0.300"}, msg: `IP: "10.0.0.300" is not an address`},
		{allowed: make([]string, MaxPortIPs+1), msg: "17 addresses and allowed IPs: at most 16"},
	} {
		p := guardedPort("c", tc.ips...)
		p.AllowedIPs = tc.allowed
		cfg := oneBridge(p)
		err := cfg.Validate()
		require.ErrorIs(t, err, ErrInvalidConfig)
		var ce *ConfigError
		require.ErrorAs(t, err, &ce)
		require.Contains(t, ce.Describe(), tc.msg)
	}
}

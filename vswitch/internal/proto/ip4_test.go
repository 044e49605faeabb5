package proto

import (
	"encoding/binary"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

func TestCheck4(t *testing.T) {
	good := udp4(t, "10.0.0.1", "10.0.0.2", 1000, 2000, 30)
	withOpts := serialize(t, &layers.IPv4{Version: 4, TTL: 9, Protocol: layers.IPProtocolUDP,
		SrcIP: ip4(a4("1.2.3.4")), DstIP: ip4(a4("5.6.7.8")),
		Options: []layers.IPv4Option{{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}}, // router alert
	}, gopacket.Payload([]byte("data")))
	// edit returns a copy of p changed by f, with the checksum recomputed
	// over the header its IHL gives when that fits.
	edit := func(p []byte, f func(b []byte)) []byte {
		b := append([]byte(nil), p...)
		f(b)
		if hl := int(b[0]&0xF) * 4; hl >= 20 && hl <= len(b) {
			setChecksum4(b)
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		pkt    []byte
		hdrLen int
		want   Reason
	}{
		{"ok", good, 20, OK},
		{"ok with options", withOpts, 24, OK},
		{"ok with ethernet padding", append(append([]byte(nil), good...), 0, 0, 0, 0, 0, 0), 20, OK},
		{"empty", nil, 0, Runt},
		{"runt", good[:19], 0, Runt},
		{"bad version 6", edit(good, func(b []byte) { b[0] = 0x65 }), 0, BadVersion},
		{"bad version 0", edit(good, func(b []byte) { b[0] = 0x05 }), 0, BadVersion},
		{"ihl 4", edit(good, func(b []byte) { b[0] = 0x44 }), 0, BadIHL},
		{"ihl 0", edit(good, func(b []byte) { b[0] = 0x40 }), 0, BadIHL},
		{"header past the packet", edit(good[:40], func(b []byte) { b[0] = 0x4F }), 0, Runt},
		{"total length below header", edit(withOpts, func(b []byte) { binary.BigEndian.PutUint16(b[2:], 20) }), 0, BadLength},
		{"total length zero", edit(good, func(b []byte) { binary.BigEndian.PutUint16(b[2:], 0) }), 0, BadLength},
		{"total length past the packet", edit(good, func(b []byte) { binary.BigEndian.PutUint16(b[2:], uint16(len(good)+1)) }), 0, BadLength},
		{"truncated packet", good[:len(good)-1], 0, BadLength},
		{"bad checksum", func() []byte { b := append([]byte(nil), good...); b[11] ^= 1; return b }(), 0, BadChecksum},
		{"bad checksum in options", func() []byte { b := append([]byte(nil), withOpts...); b[22] ^= 1; return b }(), 0, BadChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hl, r := Check4(tc.pkt)
			require.Equal(t, tc.want, r, r.String())
			require.Equal(t, tc.hdrLen, hl)
		})
	}
}

func TestIPv4Accessors(t *testing.T) {
	ip := &layers.IPv4{Version: 4, TTL: 17, Protocol: layers.IPProtocolTCP, Id: 99,
		Flags: layers.IPv4DontFragment, SrcIP: ip4(a4("198.51.100.7")), DstIP: ip4(a4("203.0.113.250"))}
	p := serialize(t, ip, gopacket.Payload(make([]byte, 33)))
	hl, r := Check4(p)
	require.Equal(t, OK, r)
	require.Equal(t, 20, hl)
	require.Equal(t, 20, HeaderLen4(p))
	require.Equal(t, 53, TotalLen4(p))
	require.Equal(t, a4("198.51.100.7"), Src4(p))
	require.Equal(t, a4("203.0.113.250"), Dst4(p))
	require.Equal(t, ProtoTCP, Proto4(p))
	require.Equal(t, uint8(17), TTL4(p))
	require.True(t, DF4(p))
	require.False(t, MF4(p))
	require.False(t, IsFragment4(p))
	require.Equal(t, 0, FragOffset4(p))

	for _, tc := range []struct {
		flags  layers.IPv4Flag
		off    uint16
		isFrag bool
	}{
		{layers.IPv4MoreFragments, 0, true},
		{0, 185, true},
		{layers.IPv4MoreFragments, 8191, true},
		{layers.IPv4DontFragment, 0, false},
	} {
		ip.Flags, ip.FragOffset = tc.flags, tc.off
		p := serialize(t, ip, gopacket.Payload(make([]byte, 8)))
		require.Equal(t, tc.isFrag, IsFragment4(p))
		require.Equal(t, tc.flags&layers.IPv4MoreFragments != 0, MF4(p))
		require.Equal(t, int(tc.off)*8, FragOffset4(p))
	}
}

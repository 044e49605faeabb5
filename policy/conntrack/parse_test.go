package conntrack

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tcp4 := tcpPkt(t, "10.0.0.1", "10.0.0.2", 1234, 80, fSYN)
	tcp6 := tcpPkt(t, "2001:db8::1", "2001:db8::2", 1234, 80, fSYN)
	udp6 := udpPkt(t, "2001:db8::1", "2001:db8::2", 5353, 53)
	for _, tc := range []struct {
		name   string
		pkt    []byte
		kind   Kind
		reason Reason
		key    Key
	}{
		{"tcp4", tcp4, KindTCP, 0, key("10.0.0.1", "10.0.0.2", 1234, 80, protoTCP, 7)},
		{"tcp6", tcp6, KindTCP, 0, key("2001:db8::1", "2001:db8::2", 1234, 80, protoTCP, 7)},
		{"udp4", udpPkt(t, "10.0.0.1", "10.0.0.2", 5353, 53), KindUDP, 0, key("10.0.0.1", "10.0.0.2", 5353, 53, protoUDP, 7)},
		{"udp6", udp6, KindUDP, 0, key("2001:db8::1", "2001:db8::2", 5353, 53, protoUDP, 7)},
		{"echo4", echoPkt(t, "10.0.0.1", "10.0.0.2", 77, false), KindICMPRequest, 0, key("10.0.0.1", "10.0.0.2", 77, 8<<8, protoICMP, 7)},
		{"echoreply4", echoPkt(t, "10.0.0.2", "10.0.0.1", 77, true), KindICMPReply, 0, key("10.0.0.2", "10.0.0.1", 77, 0, protoICMP, 7)},
		{"echo6", echoPkt(t, "2001:db8::1", "2001:db8::2", 77, false), KindICMPRequest, 0, key("2001:db8::1", "2001:db8::2", 77, 128<<8, protoICMPv6, 7)},
		{"echoreply6", echoPkt(t, "2001:db8::2", "2001:db8::1", 77, true), KindICMPReply, 0, key("2001:db8::2", "2001:db8::1", 77, 129<<8, protoICMPv6, 7)},
		// An error quoting a packet: the key is the reverse of the quoted packet's.
		{"err4-tcp", icmpErr(t, "192.0.2.9", "10.0.0.1", tcp4), KindICMPError, 0, key("10.0.0.2", "10.0.0.1", 80, 1234, protoTCP, 7)},
		{"err6-udp", icmpErr(t, "2001:db8::9", "2001:db8::1", udp6), KindICMPError, 0, key("2001:db8::2", "2001:db8::1", 53, 5353, protoUDP, 7)},
		{"err4-echo", icmpErr(t, "192.0.2.9", "10.0.0.1", echoPkt(t, "10.0.0.1", "10.0.0.2", 5, false)), KindICMPError, 0, key("10.0.0.2", "10.0.0.1", 5, 0<<8, protoICMP, 7)},
		// An error goes back to the quoted packet's sender; addressed to
		// anyone else it is no one's business (from any source: routers
		// on the way send errors too).
		{"err4-not-to-sender", icmpErr(t, "10.0.0.2", "10.0.0.3", tcp4), KindInvalid, ReasonICMPOuterMismatch, Key{}},
		{"err4-to-receiver", icmpErr(t, "10.0.0.1", "10.0.0.2", tcp4), KindInvalid, ReasonICMPOuterMismatch, Key{}},
		{"err6-not-to-sender", icmpErr(t, "2001:db8::2", "2001:db8::3", udp6), KindInvalid, ReasonICMPOuterMismatch, Key{}},
		{"err4-quotes-err", icmpErr(t, "192.0.2.9", "10.0.0.1", icmpErr(t, "10.0.0.1", "10.0.0.2", tcp4)), KindInvalid, ReasonICMPBadInner, Key{}},
		{"err4-quotes-v6", icmpErr(t, "192.0.2.9", "10.0.0.1", tcp6), KindInvalid, ReasonICMPBadInner, Key{}},
		{"err4-short-quote", icmpErr(t, "192.0.2.9", "10.0.0.1", tcp4[:24]), KindInvalid, ReasonICMPBadInner, Key{}},
		// IPv6 extension headers are skipped.
		{"ext6", raw6("2001:db8::1", "2001:db8::2", []ext6{hbh(), dstopts(), routing(), ah(), dstopts()}, protoTCP, l4tcp(1, 2, fSYN)), KindTCP, 0, key("2001:db8::1", "2001:db8::2", 1, 2, protoTCP, 7)},
		{"ext6-first-frag", raw6("2001:db8::1", "2001:db8::2", []ext6{hbh(), frag6(0, true)}, protoTCP, l4tcp(1, 2, fACK)), KindTCP, 0, key("2001:db8::1", "2001:db8::2", 1, 2, protoTCP, 7)},
		{"ext6-later-frag", raw6("2001:db8::1", "2001:db8::2", []ext6{frag6(185, false)}, protoTCP, []byte("rest of data")), KindFragment, ReasonFragment, key("2001:db8::1", "2001:db8::2", 0, 0, protoTCP, 7)},
		{"ext6-too-many", raw6("2001:db8::1", "2001:db8::2", []ext6{hbh(), dstopts(), dstopts(), dstopts(), dstopts(), dstopts(), dstopts(), dstopts(), dstopts()}, protoTCP, l4tcp(1, 2, fSYN)), KindInvalid, ReasonExtHeaders, Key{}},
		{"ext6-truncated", raw6("2001:db8::1", "2001:db8::2", []ext6{{60, []byte{0, 3, 0, 0}}}, protoTCP, nil), KindInvalid, ReasonTruncated, Key{}},
		{"nd6", raw6("fe80::1", "ff02::1", nil, protoICMPv6, []byte{135, 0, 0, 0, 0, 0, 0, 0}), KindUntracked, ReasonICMPUntracked, key("fe80::1", "ff02::1", 0, 135<<8, protoICMPv6, 7)},
		{"ra6", raw6("fe80::1", "ff02::1", nil, protoICMPv6, []byte{134, 0, 0, 0, 0, 0, 0, 0}), KindUntracked, ReasonICMPUntracked, key("fe80::1", "ff02::1", 0, 134<<8, protoICMPv6, 7)},
		{"icmp6-unknown", raw6("fe80::1", "ff02::1", nil, protoICMPv6, []byte{200, 0, 0, 0, 0, 0, 0, 0}), KindInvalid, ReasonICMPType, Key{}},
		{"gre6", raw6("2001:db8::1", "2001:db8::2", []ext6{dstopts()}, 47, []byte{0, 0, 0x65, 0x58}), KindOther, 0, key("2001:db8::1", "2001:db8::2", 0, 0, 47, 7)},
		{"tcp-synfin", tcpPkt(t, "10.0.0.1", "10.0.0.2", 1, 2, fSYN|fFIN), KindInvalid, ReasonTCPFlags, Key{}},
		{"tcp-null", tcpPkt(t, "10.0.0.1", "10.0.0.2", 1, 2, 0), KindInvalid, ReasonTCPFlags, Key{}},
		{"tcp-fin-noack", tcpPkt(t, "10.0.0.1", "10.0.0.2", 1, 2, fFIN), KindInvalid, ReasonTCPFlags, Key{}},
		{"truncated-ip", tcp4[:19], KindInvalid, ReasonTruncated, Key{}},
		{"truncated-tcp", tcp4[:30], KindInvalid, ReasonTruncated, Key{}},
		{"bad-version", append([]byte{0x55}, tcp4[1:]...), KindInvalid, ReasonBadVersion, Key{}},
		{"empty", nil, KindInvalid, ReasonTruncated, Key{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			r := Parse(&p, tc.pkt, 7)
			require.Equal(t, tc.reason, r, r.String())
			require.Equal(t, tc.kind, p.Kind)
			if tc.key != (Key{}) {
				require.Equal(t, tc.key, p.Key, p.Key.String())
			}
		})
	}
}

func TestParseIPv4Fragments(t *testing.T) {
	pkt := udpPkt(t, "10.0.0.1", "10.0.0.2", 1000, 2000)
	var p Packet
	pkt[6] = 0x20 // MF, offset 0: the first fragment has the ports
	require.Equal(t, ReasonNone, Parse(&p, pkt, 0))
	require.Equal(t, uint16(2000), p.Key.DstPort)
	pkt[6], pkt[7] = 0x00, 0x10 // offset 16*8
	require.Equal(t, ReasonFragment, Parse(&p, pkt, 0))
	require.Equal(t, KindFragment, p.Kind)
	require.Equal(t, key("10.0.0.1", "10.0.0.2", 0, 0, protoUDP, 0), p.Key)
}

func TestParseIPv4Lengths(t *testing.T) {
	pkt := tcpPkt(t, "10.0.0.1", "10.0.0.2", 1, 2, fACK)
	var p Packet
	// Ethernet padding after the packet is ignored.
	require.Equal(t, ReasonNone, Parse(&p, append(pkt, 0, 0, 0, 0), 0))
	bad := append([]byte(nil), pkt...)
	bad[0] = 0x44 // IHL 16 bytes
	require.Equal(t, ReasonBadHeader, Parse(&p, bad, 0))
	bad = append([]byte(nil), pkt...)
	bad[3] += 10 // total length past the end
	require.Equal(t, ReasonTruncated, Parse(&p, bad, 0))
	bad = append([]byte(nil), pkt...)
	bad[32] = 0x20 // TCP data offset 8 bytes
	require.Equal(t, ReasonBadHeader, Parse(&p, bad, 0))
}

func TestKeyReverse(t *testing.T) {
	k := key("10.0.0.1", "10.0.0.2", 1234, 80, protoTCP, 3)
	require.Equal(t, key("10.0.0.2", "10.0.0.1", 80, 1234, protoTCP, 3), k.Reverse())
	e := key("2001:db8::1", "2001:db8::2", 9, 128<<8, protoICMPv6, 3)
	require.Equal(t, key("2001:db8::2", "2001:db8::1", 9, 129<<8, protoICMPv6, 3), e.Reverse())
	require.Equal(t, e, e.Reverse().Reverse())
	require.Equal(t, "10.0.0.1:1234 > 10.0.0.2:80 proto 6 zone 3", k.String())
}

package offload

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDescribe(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for name, s := range map[string]spec{
		"TCPv4":       {payload: 5000},
		"TCPv4 VLAN":  {vlan: true, ipOpts: true, payload: 10},
		"TCPv6":       {v6: true, payload: 3000},
		"UDPv4":       {udp: true, payload: 2000},
		"UDPv6 QinQ":  {udp: true, v6: true, vlan: true, qinq: true, payload: 1400},
		"TCPv4 small": {payload: 100},
	} {
		t.Run(name, func(t *testing.T) {
			s.mss = 1448
			frame, payload, want := gsoFrame(t, s, rng)
			full := expected(t, spec{v6: s.v6, udp: s.udp, vlan: s.vlan, qinq: s.qinq, ipOpts: s.ipOpts, payload: s.payload, mss: s.payload + 1}, payload, 0, 1)
			if s.payload <= s.mss {
				want.GSOType, want.GSOSize = GSONone, 0
			}
			h, err := DescribeGSO(full, 1448)
			require.NoError(t, err)
			require.Equal(t, want, h)
			d, err := Describe(full)
			require.NoError(t, err)
			want.GSOType, want.GSOSize = GSONone, 0
			require.Equal(t, want, d)

			// PreparePartial produces the partial frame gsoFrame made independently.
			p, err := PreparePartial(full)
			require.NoError(t, err)
			require.Equal(t, d, p)
			require.Equal(t, frame, full)
		})
	}
	_, err := DescribeGSO(make([]byte, 100), 0)
	require.ErrorIs(t, err, ErrBadGSOSize)
}

// TestParseErrors reaches every refusal of the header parser.
func TestParseErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	v4, _, _ := gsoFrame(t, spec{payload: 10, mss: 1448}, rng)
	v6, _, _ := gsoFrame(t, spec{v6: true, payload: 10, mss: 1448}, rng)
	tagged, _, _ := gsoFrame(t, spec{vlan: true, payload: 10, mss: 1448}, rng)
	mod := func(b []byte, f func([]byte)) []byte { c := append([]byte(nil), b...); f(c); return c }
	for name, c := range map[string]struct {
		pkt []byte
		err error
	}{
		"empty":             {nil, ErrTruncated},
		"short Ethernet":    {v4[:13], ErrTruncated},
		"short tag":         {tagged[:17], ErrTruncated},
		"ARP":               {mod(v4, func(b []byte) { b[12], b[13] = 0x08, 0x06 }), ErrNotIP},
		"two tags":          {mod(tagged, func(b []byte) { b[16], b[17] = 0x81, 0x00 }), ErrNotIP},
		"short IPv4":        {v4[:33], ErrTruncated},
		"IPv4 version":      {mod(v4, func(b []byte) { b[14] = 0x65 }), ErrBadIPv4},
		"IPv4 IHL 4":        {mod(v4, func(b []byte) { b[14] = 0x44 }), ErrBadIPv4},
		"IPv4 IHL past end": {mod(v4[:40], func(b []byte) { b[14] = 0x4F }), ErrTruncated},
		"IPv4 fragment":     {mod(v4, func(b []byte) { b[20] |= 0x20 }), ErrFragment},
		"IPv4 offset":       {mod(v4, func(b []byte) { b[21] = 1 }), ErrFragment},
		"ICMP":              {mod(v4, func(b []byte) { b[23] = 1 }), ErrNotL4},
		"short TCP":         {v4[:53], ErrTruncated},
		"TCP offset 4":      {mod(v4, func(b []byte) { b[46] = 0x40 }), ErrBadTCP},
		"TCP options cut":   {v4[:65], ErrTruncated},
		"IPv4 length small": {mod(v4, func(b []byte) { binary.BigEndian.PutUint16(b[16:], 40) }), ErrBadLength},
		"IPv4 length big":   {mod(v4, func(b []byte) { binary.BigEndian.PutUint16(b[16:], 1000) }), ErrBadLength},
		"short IPv6":        {v6[:53], ErrTruncated},
		"IPv6 version":      {mod(v6, func(b []byte) { b[14] = 0x40 }), ErrBadIPv6},
		"IPv6 hop-by-hop":   {mod(v6, func(b []byte) { b[20] = 0 }), ErrIPv6ExtHeaders},
		"IPv6 routing":      {mod(v6, func(b []byte) { b[20] = 43 }), ErrIPv6ExtHeaders},
		"IPv6 fragment":     {mod(v6, func(b []byte) { b[20] = 44 }), ErrIPv6ExtHeaders},
		"IPv6 ICMPv6":       {mod(v6, func(b []byte) { b[20] = 58 }), ErrNotL4},
	} {
		_, err := Describe(c.pkt)
		require.ErrorIs(t, err, c.err, name)
		_, err = PreparePartial(c.pkt)
		require.ErrorIs(t, err, c.err, name)
		_, err = DescribeGSO(c.pkt, 1000)
		require.ErrorIs(t, err, c.err, name)
	}
}

package vswitch

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/csum"
)

// FuzzDNSTCP drives the DNS-over-TCP server with arbitrary segment
// sequences from a few clients: whatever they send, it never panics,
// every segment it sends is a well-formed TCP segment from port 53 to the
// client with a right checksum, its table stays bounded, and a tick far
// in the future leaves no connection.
//
// Input: records of 8 bytes — client (1), flags (1), seq and ack offsets
// (2 each, from the server's and client's current numbers so that
// sequences meet), payload length (1), window (1) — each followed by
// its payload.
func FuzzDNSTCP(f *testing.F) {
	rec := func(client, flags byte, seqOff, ackOff uint16, payload []byte, win byte) []byte {
		b := []byte{client, flags}
		b = binary.BigEndian.AppendUint16(b, seqOff)
		b = binary.BigEndian.AppendUint16(b, ackOff)
		b = append(b, byte(len(payload)), win)
		return append(b, payload...)
	}
	q := append([]byte{0, 5}, "hello"...)
	f.Add(append(append(rec(0, tcpFlagSYN, 0, 0, nil, 255), rec(0, tcpFlagACK, 0, 1, nil, 255)...), rec(0, tcpFlagACK|tcpFlagPSH, 0, 1, q, 255)...))
	f.Add(append(rec(1, tcpFlagSYN, 0, 0, nil, 1), rec(1, tcpFlagACK|tcpFlagFIN, 0, 1, q, 0)...))
	f.Add(rec(2, tcpFlagRST, 0, 0, nil, 0))
	f.Add(rec(2, tcpFlagACK, 7, 7, []byte{0xff, 0xff, 1, 2}, 9))

	cfg := testL3Config()
	cfg.DNS = &DNS{Interfaces: []string{"ra"}}
	r := newL3Rig(&testing.T{}, cfg)
	f.Cleanup(func() { r.s.Close() })
	r.s.SetDNSHandler(func(_ string, q []byte, tcp bool, reply func([]byte)) {
		if !tcp {
			panic("a TCP query handed over as UDP")
		}
		switch {
		case len(q) == 0:
			return // never answered
		case q[0]&1 == 0:
			reply(make([]byte, 12+int(q[0])*37))
		default:
			reply(q)
		}
	})
	server := netip.MustParseAddr("10.1.0.1")
	clients := []netip.Addr{netip.MustParseAddr("10.1.0.2"), netip.MustParseAddr("10.1.0.3"), netip.MustParseAddr("10.1.0.4")}
	server6 := netip.MustParseAddr("fd01::1")
	client6 := netip.MustParseAddr("fd01::2")

	f.Fuzz(func(t *testing.T, in []byte) {
		p := r.s.dnsTCP
		inj := r.s.dns.inject[0]
		check := func() {
			for h := inj.head.Load(); h != inj.tail.Load(); h++ {
				sl := &inj.slots[h%puntSlots]
				checkTCPOut(t, sl.b[:sl.n])
			}
			inj.head.Store(inj.tail.Load())
		}
		now := time.Now()
		for len(in) >= 8 {
			ci, flags := int(in[0])%4, in[1]
			seqOff, ackOff := binary.BigEndian.Uint16(in[2:]), binary.BigEndian.Uint16(in[4:])
			n, win := min(int(in[6]), len(in)-8), in[7]
			payload := in[8 : 8+n]
			in = in[8+n:]
			src, dst := server, server
			if ci < 3 {
				src = clients[ci]
			} else {
				src, dst = client6, server6
			}
			key := tcpKey{client: src, server: dst, port: 5000}
			var seq, ack uint32 = 1000, 0
			p.mu.Lock()
			if c := p.conns[key]; c != nil {
				seq, ack = c.rcvNxt, c.una
			}
			p.mu.Unlock()
			l4 := make([]byte, 20+len(payload))
			binary.BigEndian.PutUint16(l4[0:], 5000)
			binary.BigEndian.PutUint16(l4[2:], 53)
			binary.BigEndian.PutUint32(l4[4:], seq+uint32(int16(seqOff)))
			binary.BigEndian.PutUint32(l4[8:], ack+uint32(int16(ackOff)))
			l4[12], l4[13] = 5<<4, flags
			binary.BigEndian.PutUint16(l4[14:], uint16(win)<<8)
			copy(l4[20:], payload)
			r.s.handleTCP(0, src, dst, l4, 0, r.s.tables.Load())
			check()
			now = now.Add(time.Duration(win) * 10 * time.Millisecond)
			p.tick(r.s, now)
			check()
			require.LessOrEqual(t, len(p.conns), dnsTCPMaxConns)
			require.Equal(t, int32(len(p.conns)), p.n.Load())
		}
		p.tick(r.s, now.Add(5*dnsTCPIdle))
		check()
		require.Zero(t, p.n.Load(), "every connection ends")
	})
}

// checkTCPOut checks a segment the server sent: IPv4 or IPv6 from port
// 53, lengths and checksums right.
func checkTCPOut(t *testing.T, ip []byte) {
	t.Helper()
	var l4 []byte
	var pseudo uint64
	switch ip[0] >> 4 {
	case 4:
		require.Equal(t, byte(6), ip[9])
		require.Equal(t, len(ip), int(binary.BigEndian.Uint16(ip[2:])))
		require.Equal(t, uint16(0), ^csum.Sum(ip[:20], 0), "IPv4 header checksum")
		l4 = ip[20:]
		pseudo = uint64(csum.Sum(ip[12:20], 0))
	case 6:
		require.Equal(t, byte(6), ip[6])
		require.Equal(t, len(ip)-40, int(binary.BigEndian.Uint16(ip[4:])))
		l4 = ip[40:]
		pseudo = uint64(csum.Sum(ip[8:40], 0))
	default:
		t.Fatalf("not IP: %x", ip)
	}
	require.GreaterOrEqual(t, len(l4), 20)
	require.Equal(t, uint16(53), binary.BigEndian.Uint16(l4[0:]))
	require.Equal(t, uint16(0), ^csum.Sum(l4, csum.Fold(pseudo+6+uint64(len(l4)))), "TCP checksum")
	require.LessOrEqual(t, int(l4[12]>>4)*4, len(l4))
}

package vswitch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// tcpClient plays a client of the switch's DNS over TCP on port a of the
// L3 rig, building segments with gopacket and reading the switch's.
type tcpClient struct {
	t        *testing.T
	r        *rig
	src, dst string
	six      bool
	sport    uint16
	seq      uint32 // next sequence number to send
	ack      uint32 // what we acknowledge (the server's next)
	isn      uint32 // the server's
}

func (c *tcpClient) frame(seq, ack uint32, flags uint8, opts []layers.TCPOption, payload []byte) []byte {
	tcp := &layers.TCP{SrcPort: layers.TCPPort(c.sport), DstPort: 53, Seq: seq, Ack: ack, Window: 65535, Options: opts,
		FIN: flags&tcpFlagFIN != 0, SYN: flags&tcpFlagSYN != 0, RST: flags&tcpFlagRST != 0, PSH: flags&tcpFlagPSH != 0, ACK: flags&tcpFlagACK != 0}
	if c.six {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: net.ParseIP(c.src), DstIP: net.ParseIP(c.dst)}
		must(tcp.SetNetworkLayerForChecksum(ip))
		return serialize(&layers.Ethernet{DstMAC: mustMAC(macRA), SrcMAC: mustMAC(macA), EthernetType: layers.EthernetTypeIPv6},
			ip, tcp, gopacket.Payload(payload))
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(c.src), DstIP: net.ParseIP(c.dst)}
	must(tcp.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(macRA), SrcMAC: mustMAC(macA), EthernetType: layers.EthernetTypeIPv4},
		ip, tcp, gopacket.Payload(payload))
}

// exchange sends one segment and returns the server's segments to it,
// checked: from the gateway's port 53 to the client's port, checksums
// right.
func (c *tcpClient) exchange(seq, ack uint32, flags uint8, opts []layers.TCPOption, payload []byte) []*layers.TCP {
	c.t.Helper()
	c.r.send("a", c.frame(seq, ack, flags, opts, payload))
	return c.collect()
}

// collect polls the switch and returns the server's segments.
func (c *tcpClient) collect() []*layers.TCP {
	c.t.Helper()
	c.r.s.Poll()
	var out []*layers.TCP
	for _, f := range c.r.recv()["a"] {
		p := decodePkt(c.t, f)
		tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		require.True(c.t, ok, "not TCP: %v", p)
		var cs gopacket.NetworkLayer
		if c.six {
			ip := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			require.Equal(c.t, []string{c.dst, c.src}, []string{ip.SrcIP.String(), ip.DstIP.String()})
			cs = ip
		} else {
			ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			require.Equal(c.t, []string{c.dst, c.src}, []string{ip.SrcIP.String(), ip.DstIP.String()})
			ipv4ChecksumOK(c.t, ip)
			cs = ip
		}
		require.Equal(c.t, []layers.TCPPort{53, layers.TCPPort(c.sport)}, []layers.TCPPort{tcp.SrcPort, tcp.DstPort})
		// Recompute the checksum with gopacket and compare.
		again := *tcp
		must(again.SetNetworkLayerForChecksum(cs))
		buf := gopacket.NewSerializeBuffer()
		must(gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, &again, gopacket.Payload(tcp.Payload)))
		require.Equal(c.t, binary.BigEndian.Uint16(buf.Bytes()[16:]), tcp.Checksum, "TCP checksum")
		out = append(out, tcp)
	}
	return out
}

// connect runs the handshake with our MSS option mss.
func (c *tcpClient) connect(mss uint16) {
	c.t.Helper()
	c.seq = 1000
	segs := c.exchange(c.seq, 0, tcpFlagSYN, []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4,
		OptionData: binary.BigEndian.AppendUint16(nil, mss)}}, nil)
	require.Len(c.t, segs, 1)
	sa := segs[0]
	require.True(c.t, sa.SYN && sa.ACK && !sa.FIN && !sa.RST, "SYN-ACK")
	require.Equal(c.t, c.seq+1, sa.Ack)
	require.Len(c.t, sa.Options, 1)
	require.Equal(c.t, layers.TCPOptionKind(layers.TCPOptionKindMSS), sa.Options[0].OptionType)
	c.seq++
	c.isn, c.ack = sa.Seq, sa.Seq+1
	require.Empty(c.t, c.exchange(c.seq, c.ack, tcpFlagACK, nil, nil), "the handshake's ACK needs no answer")
}

// query sends msg behind its length, in pieces of at most piece bytes,
// and returns what came back, reassembled, with every segment
// acknowledged as it arrives.
func (c *tcpClient) query(msg []byte, piece int) []byte {
	c.t.Helper()
	data := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
	data = append(data, msg...)
	var segs []*layers.TCP
	for len(data) > 0 {
		n := min(piece, len(data))
		got := c.exchange(c.seq, c.ack, tcpFlagACK|tcpFlagPSH, nil, data[:n])
		c.seq += uint32(n)
		data = data[n:]
		require.NotEmpty(c.t, got, "every piece is acknowledged")
		for _, s := range got {
			require.Equal(c.t, c.seq, s.Ack, "acknowledges all we sent")
		}
		segs = append(segs, got...)
	}
	var got []byte
	for _, s := range segs {
		if len(s.Payload) == 0 {
			continue
		}
		require.Equal(c.t, c.ack, s.Seq, "in order")
		got = append(got, s.Payload...)
		c.ack += uint32(len(s.Payload))
	}
	if len(got) > 0 {
		c.exchange(c.seq, c.ack, tcpFlagACK, nil, nil)
	}
	return got
}

// answer reads one length-prefixed message of stream.
func answer(t *testing.T, stream []byte) []byte {
	t.Helper()
	require.GreaterOrEqual(t, len(stream), 2)
	l := int(binary.BigEndian.Uint16(stream))
	require.Len(t, stream, 2+l, "one whole answer")
	return stream[2:]
}

// bigHandler answers "big" with 3000 bytes, anything else with
// "<network>:<query>" behind a zero DNS header, and records the transport.
type bigHandler struct{ tcp []bool }

func (h *bigHandler) handle(network string, q []byte, tcp bool, reply func([]byte)) {
	h.tcp = append(h.tcp, tcp)
	if string(q) == "big" {
		reply(bytes.Repeat([]byte{'x'}, 3000))
		return
	}
	reply(append(append(make([]byte, 12), network+":"...), q...))
}

// TestDNSTCP: a DNS client over TCP, IPv4 and IPv6: the handshake (our MSS
// option), a query split over segments, an answer cut to the client's
// MSS, an out-of-order segment answered with an ACK of what we have, a
// retransmission after a lost answer, the close, and RSTs for segments
// of no connection.
func TestDNSTCP(t *testing.T) {
	for _, six := range []bool{false, true} {
		cfg := testL3Config()
		cfg.DNS = &DNS{Interfaces: []string{"ra"}}
		r := newL3Rig(t, cfg)
		h := &bigHandler{}
		r.s.SetDNSHandler(h.handle)
		c := &tcpClient{t: t, r: r, src: "10.1.0.2", dst: "10.1.0.1", six: six, sport: 40000}
		if six {
			c.src, c.dst = "fd01::2", "fd01::1"
		}
		c.connect(1000)

		// A query in three pieces (the length's first byte alone).
		require.Equal(t, "ra:hello", string(answer(t, c.query([]byte("hello"), 1))[12:]))
		require.Equal(t, []bool{true}, h.tcp, "the handler was told TCP")

		// A 3000-byte answer in 1000-byte segments (the client's MSS).
		data := binary.BigEndian.AppendUint16(nil, 3)
		data = append(data, "big"...)
		segs := c.exchange(c.seq, c.ack, tcpFlagACK|tcpFlagPSH, nil, data)
		c.seq += uint32(len(data))
		require.Len(t, segs, 4, "3002 bytes at an MSS of 1000")
		var got []byte
		for i, s := range segs {
			require.Equal(t, c.ack+uint32(len(got)), s.Seq)
			require.LessOrEqual(t, len(s.Payload), 1000)
			require.Equal(t, i == 3, s.PSH, "PSH on the last")
			got = append(got, s.Payload...)
		}
		require.Equal(t, bytes.Repeat([]byte{'x'}, 3000), answer(t, got))

		// The answer's segments were lost: nothing acknowledged, the
		// server sends them again after its timeout, from the first.
		r.s.dnsTCP.tick(r.s, time.Now().Add(time.Second))
		again := c.collect()
		require.Len(t, again, 4)
		require.Equal(t, c.ack, again[0].Seq, "go back to the first unacknowledged byte")
		require.EqualValues(t, 1, r.s.DNSStats().TCPRetransmits)
		c.ack += uint32(len(got))
		require.Empty(t, c.exchange(c.seq, c.ack, tcpFlagACK, nil, nil))
		r.s.dnsTCP.tick(r.s, time.Now().Add(time.Second))
		require.Empty(t, c.collect(), "all acknowledged: nothing sent again")

		// A segment beyond the next byte: an ACK of what the server has,
		// the handler not called.
		calls := len(h.tcp)
		segs = c.exchange(c.seq+10, c.ack, tcpFlagACK|tcpFlagPSH, nil, []byte{0, 1, 'z'})
		require.Len(t, segs, 1)
		require.Equal(t, c.seq, segs[0].Ack)
		require.Empty(t, segs[0].Payload)
		require.Len(t, h.tcp, calls)

		// The client closes: the server's FIN, then the connection is gone.
		segs = c.exchange(c.seq, c.ack, tcpFlagACK|tcpFlagFIN, nil, nil)
		c.seq++
		require.Len(t, segs, 1)
		require.True(t, segs[0].FIN && segs[0].ACK)
		require.Equal(t, c.seq, segs[0].Ack)
		require.EqualValues(t, 1, r.s.DNSStats().TCPConnections)
		require.Empty(t, c.exchange(c.seq, c.ack+1, tcpFlagACK, nil, nil))
		st := r.s.DNSStats()
		require.EqualValues(t, 0, st.TCPConnections, "closed both ways")
		require.EqualValues(t, 1, st.TCPAccepted)
		require.EqualValues(t, 2, st.TCPQueries)

		// A segment of no connection gets a RST with its ACK as sequence.
		segs = c.exchange(c.seq, 12345, tcpFlagACK, nil, []byte("stale"))
		require.Len(t, segs, 1)
		require.True(t, segs[0].RST)
		require.EqualValues(t, 12345, segs[0].Seq)
		// A RST is never answered.
		require.Empty(t, c.exchange(c.seq, 0, tcpFlagRST, nil, nil))
	}
}

// TestDNSTCPLimits: SYNs beyond one client's share or the table's size
// are reset (and counted),
// a query longer than the buffer resets its connection, an idle
// connection is closed by the server and forgotten, and one whose client
// vanished is reset; the table is empty at the end.
func TestDNSTCPLimits(t *testing.T) {
	cfg := testL3Config()
	cfg.DNS = &DNS{Interfaces: []string{"ra"}}
	r := newL3Rig(t, cfg)
	r.s.SetDNSHandler((&bigHandler{}).handle)
	c := &tcpClient{t: t, r: r, src: "10.1.0.2", dst: "10.1.0.1"}
	syns := func(n int) {
		for i := range n {
			c.sport = uint16(20000 + i)
			r.ports["a"].Inject(0, c.frame(1, 0, tcpFlagSYN, nil, nil))
			if i%128 == 127 {
				r.s.Poll()
				r.s.Poll()
				r.recv()
			}
		}
		r.s.Poll()
		r.s.Poll()
		r.recv()
	}
	// One client: its share, then RSTs.
	syns(dnsTCPPerClient + 2)
	st := r.s.DNSStats()
	require.EqualValues(t, dnsTCPPerClient, st.TCPConnections)
	require.EqualValues(t, 2, st.TCPRefused)
	// Many clients: the table's size, then RSTs.
	for i := 1; i <= dnsTCPMaxConns/dnsTCPPerClient; i++ {
		c.src = fmt.Sprintf("10.1.0.%d", 2+i)
		syns(dnsTCPPerClient)
	}
	st = r.s.DNSStats()
	require.EqualValues(t, dnsTCPMaxConns, st.TCPConnections)
	require.EqualValues(t, 2+dnsTCPPerClient, st.TCPRefused, "the last client found the table full")
	require.Zero(t, st.ReplyDrops, "every SYN-ACK and RST was sent")
	c.src = "10.1.0.2"

	// Never acknowledged: the SYN-ACKs are sent again, then the
	// connections are reset.
	now := time.Now()
	for i := range dnsTCPRetries + 1 {
		now = now.Add(dnsTCPRTO << (i + 1))
		r.s.dnsTCP.tick(r.s, now)
		for range 8 {
			r.s.Poll()
		}
		r.recv()
	}
	require.EqualValues(t, 0, r.s.DNSStats().TCPConnections, "handshakes never completed are reset")

	// An idle connection: the server's FIN after dnsTCPIdle, forgotten
	// once acknowledged and idle again.
	c.sport = 30000
	c.connect(1460)
	r.s.dnsTCP.tick(r.s, time.Now().Add(dnsTCPIdle+time.Second))
	segs := c.collect()
	require.Len(t, segs, 1)
	require.True(t, segs[0].FIN)
	require.Empty(t, c.exchange(c.seq, c.ack+1, tcpFlagACK, nil, nil))
	r.s.dnsTCP.tick(r.s, time.Now().Add(dnsTCPIdle+time.Second))
	require.EqualValues(t, 0, r.s.DNSStats().TCPConnections)

	// A length beyond what the connection buffers is impossible (64 KiB
	// + 2 is the most); a connection that sends more than that
	// unanswered is reset.
	c.sport = 30001
	c.connect(1460)
	junk := make([]byte, 1400)
	junk[0], junk[1] = 0xff, 0xff // a 65535-byte query, never completed
	reset := false
	for i := 0; i < 60 && !reset; i++ {
		for _, s := range c.exchange(c.seq, c.ack, tcpFlagACK, nil, junk) {
			reset = reset || s.RST
		}
		c.seq += uint32(len(junk))
		junk[0], junk[1] = 'j', 'j'
	}
	require.True(t, reset, "a connection holding more than one query's worth is reset")
	require.EqualValues(t, 0, r.s.DNSStats().TCPConnections)
}

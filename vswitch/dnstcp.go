package vswitch

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vecswitch/vecswitch/internal/csum"
)

// DNS over TCP (RFC 7766) on the punt path. A client whose UDP answer came
// back truncated (TC: larger than 512 bytes without EDNS0, or than its
// EDNS0 size) asks again over TCP, to the same address; glibc's stub
// resolver does so at once. Before, ip4-local dropped the SYN
// (not-echo-request) and such a lookup failed after the client's connect
// timeout.
//
// The switch has no TCP stack and gets none: a DNS exchange over TCP is a
// tiny, well-defined conversation (the client connects, sends queries each
// behind a two-byte length, reads the answers, closes), so this file is a
// server-only TCP for that and nothing else, on the control-plane side of
// the punt rings:
//
//   - ip4-local and ip6-local punt TCP segments to port 53 of an interface
//     that answers DNS exactly as they punt UDP queries (dns-punt, the punt
//     ring, the learner loop's drainPunts); the segments the server sends
//     go back through the worker's inject ring and dns-reply, routed to the
//     client like the UDP answers. Nothing new runs on a worker.
//   - A connection is accepted at the SYN (no SYN cookies: the table is
//     bounded, dnsTCPMaxConns, dnsTCPPerClient of them for one client
//     address, a handshake never completed is dropped after about 4 s,
//     and a SYN beyond the bounds gets a RST and counts as refused), with our MSS the largest segment a punt slot takes and
//     no other option (no window scaling, no timestamps, no SACK: the
//     peer's window is read as it is, 64 KiB at most, enough for any DNS
//     message in one window).
//   - Data is taken in order only: a segment that does not start at the
//     next expected byte is answered with an ACK of what we have, and the
//     client sends again. Each complete message goes to the DNSHandler as
//     a TCP query (answers up to 64 KiB, not truncated); its answer is
//     queued behind its length and sent in MSS-sized segments within the
//     client's window. Several queries on one connection may be answered
//     out of order, as RFC 7766 allows.
//   - Retransmission is go-back-N from the oldest unacknowledged byte
//     after dnsTCPRTO, doubled each time; after dnsTCPRetries a connection
//     is reset. A connection idle for dnsTCPIdle with nothing outstanding
//     is closed (FIN), as RFC 7766 lets a server do; the client's FIN is
//     answered with ours once its queries are answered.
//   - Anything else (a segment of no connection, a bad ACK during the
//     handshake) gets a RST as RFC 793 says; a RST from the client ends
//     its connection.
//
// Checksums of punted segments are not verified (they come from the
// switch's own ports; a veth's may be only partial); the server's
// segments carry full checksums. A query sent in a GSO frame larger than
// one buffer is dropped by dns-punt ("chained"); our MSS keeps a client
// from sending one.
const (
	dnsTCPMaxConns = 1024
	// dnsTCPPerClient: connections one client address may hold, so that
	// one container's SYN flood does not take the table from the others.
	dnsTCPPerClient = 64
	// dnsTCPSynRetries: SYN-ACKs sent again before a handshake the client
	// never completed is given up (about 4 s).
	dnsTCPSynRetries = 3
	dnsTCPMaxIn      = 2 + 65535 // one whole query, the most a connection buffers
	dnsTCPMaxOut     = 256 << 10 // answers queued on one connection
	dnsTCPIdle       = 10 * time.Second
	dnsTCPRTO        = 250 * time.Millisecond
	dnsTCPRetries    = 6
	dnsTCPWindow     = 65535
)

type tcpKey struct {
	client, server netip.Addr
	port           uint16 // the client's
}

type tcpConn struct {
	key    tcpKey
	worker int
	iface  uint16
	net    string // the interface's name, for the handler

	established bool
	iss         uint32 // our SYN's sequence number
	una         uint32 // sequence of out[0]
	nxt         uint32 // next sequence to send
	max         uint32 // the highest nxt sent (nxt goes back on a retransmit)
	rcvNxt      uint32
	acked       uint32 // the rcvNxt our last segment carried
	wnd         uint32 // the client's window
	mss         int

	in  []byte // received bytes not yet a whole query
	out []byte // bytes from una on: sent and not acknowledged, then not sent

	pending  int  // queries with the handler
	finRcvd  bool // the client's FIN is in rcvNxt
	finSent  bool
	finAcked bool
	dead     bool

	lastRx, lastTx time.Time
	rto            time.Duration
	retries        int
}

// dnsTCP is the switch's DNS-over-TCP server state.
type dnsTCP struct {
	mu       sync.Mutex
	conns    map[tcpKey]*tcpConn
	n        atomic.Int32 // len(conns), for tick without the lock
	byClient map[netip.Addr]int

	accepted, refused, resets, retransmits, queries atomic.Uint64
}

func newDNSTCP() *dnsTCP {
	return &dnsTCP{conns: map[tcpKey]*tcpConn{}, byClient: map[netip.Addr]int{}}
}

// seqLT is a < b in sequence space.
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }

// tcpSegment is one parsed segment of a client.
type tcpSegment struct {
	key      tcpKey
	seq, ack uint32
	flags    uint8
	window   uint16
	mss      int
	payload  []byte
	hdr      []byte // the TCP header (rstFor reads it)
	worker   int
	iface    uint16
	network  string
	handler  DNSHandler
}

// parseTCP reads the TCP header of l4 (the IP payload).
func parseTCP(l4 []byte, sg *tcpSegment) bool {
	if len(l4) < 20 {
		return false
	}
	off := int(l4[12]>>4) * 4
	if off < 20 || off > len(l4) {
		return false
	}
	sg.key.port = binary.BigEndian.Uint16(l4[0:])
	sg.seq, sg.ack = binary.BigEndian.Uint32(l4[4:]), binary.BigEndian.Uint32(l4[8:])
	sg.flags, sg.window = l4[13], binary.BigEndian.Uint16(l4[14:])
	sg.payload, sg.hdr = l4[off:], l4[:off]
	sg.mss = 536 // RFC 9293's default without the option
	for o := l4[20:off]; len(o) > 0; {
		switch {
		case o[0] == 0: // end of options
			o = nil
		case o[0] == 1: // no-op
			o = o[1:]
		case len(o) < 2 || int(o[1]) < 2 || int(o[1]) > len(o):
			o = nil
		default:
			if o[0] == 2 && o[1] == 4 {
				sg.mss = max(int(binary.BigEndian.Uint16(o[2:])), 64)
			}
			o = o[o[1]:]
		}
	}
	return true
}

// handleTCP takes one punted TCP segment to port 53 (l4 is its TCP part)
// from worker w.
func (s *Switch) handleTCP(w int, src, dst netip.Addr, l4 []byte, iface uint16, t *tables) {
	d := s.dns
	sg := tcpSegment{worker: w, iface: iface}
	if !parseTCP(l4, &sg) {
		d.malformed.Add(1)
		return
	}
	sg.key.client, sg.key.server = src, dst
	h := d.handler.Load()
	if h == nil || int(iface) >= len(t.ifaces) {
		d.noHandler.Add(1)
		return
	}
	sg.handler, sg.network = *h, t.ifaces[iface].name
	s.dnsTCP.segment(s, &sg, time.Now())
}

// maxMSS is the largest segment payload a punt slot takes.
func maxMSS(a netip.Addr) int {
	if a.Is4() {
		return puntMax - 20 - 20
	}
	return puntMax - 40 - 20
}

type tcpQuery struct {
	c *tcpConn
	q []byte
}

func (p *dnsTCP) segment(s *Switch, sg *tcpSegment, now time.Time) {
	var queries []tcpQuery
	p.mu.Lock()
	c := p.conns[sg.key]
	switch {
	case sg.flags&tcpFlagRST != 0:
		if c != nil && !seqLT(sg.seq, c.rcvNxt) && seqLT(sg.seq, c.rcvNxt+dnsTCPWindow) {
			p.drop(c)
		}
	case c == nil && sg.flags&(tcpFlagSYN|tcpFlagACK) == tcpFlagSYN:
		if len(p.conns) >= dnsTCPMaxConns || p.byClient[sg.key.client] >= dnsTCPPerClient {
			p.refused.Add(1)
			p.reset(s, sg)
			break
		}
		c = &tcpConn{key: sg.key, worker: sg.worker, iface: sg.iface, net: sg.network,
			iss: rand.Uint32(), rcvNxt: sg.seq + 1, wnd: uint32(sg.window), mss: min(sg.mss, maxMSS(sg.key.server)),
			lastRx: now, rto: dnsTCPRTO}
		c.una, c.nxt, c.max = c.iss+1, c.iss+1, c.iss+1
		p.conns[sg.key] = c
		p.byClient[sg.key.client]++
		p.n.Store(int32(len(p.conns)))
		p.accepted.Add(1)
		p.synAck(s, c, now)
	case c == nil:
		p.reset(s, sg)
	case sg.flags&tcpFlagSYN != 0:
		if !c.established && sg.seq+1 == c.rcvNxt {
			p.synAck(s, c, now) // our SYN-ACK was lost
		} else {
			p.send(s, c, c.nxt, tcpFlagACK, nil, now) // RFC 5961's challenge ACK
		}
	case sg.flags&tcpFlagACK == 0:
		// Drop: every segment after the SYN carries an ACK.
	default:
		queries = p.established(s, c, sg, now)
	}
	p.mu.Unlock()
	if len(queries) == 0 {
		return
	}
	for _, q := range queries {
		p.ask(s, sg.handler, q)
	}
	// The answers given at once carried the ACK; otherwise (forwarded
	// queries) acknowledge now, so the client does not send them again.
	c = queries[0].c
	p.mu.Lock()
	if !c.dead && c.acked != c.rcvNxt {
		p.send(s, c, c.nxt, tcpFlagACK, nil, now)
	}
	p.mu.Unlock()
}

// ask hands one query of a connection to the DNS handler (without p.mu:
// the handler may answer at once); the answer is queued on the connection
// when it comes.
func (p *dnsTCP) ask(s *Switch, h DNSHandler, q tcpQuery) {
	p.queries.Add(1)
	c := q.c
	h(c.net, q.q, true, func(resp []byte) {
		p.mu.Lock()
		defer p.mu.Unlock()
		c.pending--
		if c.dead {
			return
		}
		if len(resp) > 65535 || len(c.out)+2+len(resp) > dnsTCPMaxOut {
			s.dns.replyDrops.Add(1)
			p.abort(s, c)
			return
		}
		c.out = binary.BigEndian.AppendUint16(c.out, uint16(len(resp)))
		c.out = append(c.out, resp...)
		s.dns.replies.Add(1)
		p.push(s, c, time.Now(), false)
	})
}

// established handles an ACK-bearing segment of connection c; it returns
// the whole queries the segment completed. Caller holds p.mu.
func (p *dnsTCP) established(s *Switch, c *tcpConn, sg *tcpSegment, now time.Time) []tcpQuery {
	if !c.established {
		if sg.ack != c.iss+1 {
			p.reset(s, sg)
			return nil
		}
		c.established = true
	}
	// Acknowledgment of what we sent (data, then our FIN).
	top := c.max
	if c.finSent {
		top = c.una + uint32(len(c.out)) + 1
	}
	if seqLT(c.una, sg.ack) && !seqLT(top, sg.ack) {
		n := int(sg.ack - c.una)
		if c.finSent && sg.ack == top {
			c.finAcked = true
			n--
		}
		c.out = c.out[n:]
		c.una += uint32(n)
		if seqLT(c.nxt, c.una) {
			c.nxt = c.una // acknowledged beyond a go-back-N restart
		}
		c.retries, c.rto = 0, dnsTCPRTO
		c.lastTx = now
	}
	c.wnd = uint32(sg.window)
	c.lastRx = now
	var queries []tcpQuery
	if len(sg.payload) > 0 || sg.flags&tcpFlagFIN != 0 {
		if sg.seq != c.rcvNxt || c.finRcvd {
			p.send(s, c, c.nxt, tcpFlagACK, nil, now) // not the next byte: say what we have
			return nil
		}
		if c.finSent && len(sg.payload) > 0 {
			p.abort(s, c) // a query after we closed: it could not be answered
			return nil
		}
		if len(c.in)+len(sg.payload) > dnsTCPMaxIn {
			p.abort(s, c)
			return nil
		}
		c.in = append(c.in, sg.payload...)
		c.rcvNxt += uint32(len(sg.payload))
		if sg.flags&tcpFlagFIN != 0 {
			c.rcvNxt++
			c.finRcvd = true
		}
		for len(c.in) >= 2 {
			l := int(binary.BigEndian.Uint16(c.in))
			if len(c.in) < 2+l {
				break
			}
			queries = append(queries, tcpQuery{c: c, q: append([]byte(nil), c.in[2:2+l]...)})
			c.in = c.in[2+l:]
			c.pending++
		}
		if len(c.in) == 0 {
			c.in = nil // give the buffer back
		}
		p.push(s, c, now, len(queries) == 0) // with queries: segment's caller acknowledges
	} else {
		p.push(s, c, now, false)
	}
	if c.finAcked && c.finRcvd {
		p.drop(c)
	}
	return queries
}

// push sends what c's window allows of the queued answers, then our FIN
// when the client has sent its own and every query is answered; ack asks
// for an ACK even if there is nothing to send. Caller holds p.mu.
func (p *dnsTCP) push(s *Switch, c *tcpConn, now time.Time, ack bool) {
	inflight := int(c.nxt - c.una)
	for inflight < len(c.out) && inflight < int(c.wnd) {
		n := min(len(c.out)-inflight, c.mss, int(c.wnd)-inflight)
		flags := uint8(tcpFlagACK)
		if inflight+n == len(c.out) {
			flags |= tcpFlagPSH
		}
		p.send(s, c, c.nxt, flags, c.out[inflight:inflight+n], now)
		c.nxt += uint32(n)
		if seqLT(c.max, c.nxt) {
			c.max = c.nxt
		}
		inflight += n
		ack = false
	}
	if c.finRcvd && c.pending == 0 && inflight == len(c.out) && !c.finSent {
		p.fin(s, c, now)
		ack = false
	}
	if ack {
		p.send(s, c, c.nxt, tcpFlagACK, nil, now)
	}
}

// fin sends our FIN after every byte of c.out. Caller holds p.mu.
func (p *dnsTCP) fin(s *Switch, c *tcpConn, now time.Time) {
	p.send(s, c, c.una+uint32(len(c.out)), tcpFlagFIN|tcpFlagACK, nil, now)
	c.finSent = true
}

func (p *dnsTCP) synAck(s *Switch, c *tcpConn, now time.Time) {
	mss := binary.BigEndian.AppendUint16([]byte{2, 4}, uint16(maxMSS(c.key.server)))
	p.send(s, c, c.iss, tcpFlagSYN|tcpFlagACK, mss, now)
}

// send puts one segment of c on its worker's inject ring (options, for a
// SYN-ACK, go in payload's place with flags SYN).
func (p *dnsTCP) send(s *Switch, c *tcpConn, seq uint32, flags uint8, payload []byte, now time.Time) {
	var opts []byte
	if flags&tcpFlagSYN != 0 {
		opts, payload = payload, nil
	}
	win := uint16(dnsTCPWindow - min(len(c.in), dnsTCPWindow))
	pkt := tcpPacket(c.key.server, c.key.client, dnsPort, c.key.port, seq, c.rcvNxt, flags, win, opts, payload)
	s.injectPacket(c.worker, c.iface, pkt)
	c.lastTx, c.acked = now, c.rcvNxt
}

// reset answers segment sg with a RST (RFC 9293 3.10.7.1).
func (p *dnsTCP) reset(s *Switch, sg *tcpSegment) {
	seq, ack, flags, ok := rstFor(sg.hdr, len(sg.payload))
	if !ok {
		return
	}
	p.resets.Add(1)
	s.injectPacket(sg.worker, sg.iface, tcpPacket(sg.key.server, sg.key.client, dnsPort, sg.key.port, seq, ack, flags, 0, nil, nil))
}

// abort resets and forgets c. Caller holds p.mu.
func (p *dnsTCP) abort(s *Switch, c *tcpConn) {
	p.resets.Add(1)
	s.injectPacket(c.worker, c.iface, tcpPacket(c.key.server, c.key.client, dnsPort, c.key.port, c.nxt, c.rcvNxt, tcpFlagRST|tcpFlagACK, 0, nil, nil))
	p.drop(c)
}

// drop forgets c. Caller holds p.mu.
func (p *dnsTCP) drop(c *tcpConn) {
	if c.dead {
		return
	}
	c.dead = true
	delete(p.conns, c.key)
	if p.byClient[c.key.client]--; p.byClient[c.key.client] <= 0 {
		delete(p.byClient, c.key.client)
	}
	p.n.Store(int32(len(p.conns)))
}

// tick retransmits, probes zero windows, closes idle connections and
// resets dead ones; the learner loop calls it on every round.
func (p *dnsTCP) tick(s *Switch, now time.Time) {
	if p.n.Load() == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		outstanding := !c.established || c.nxt != c.una || c.finSent && !c.finAcked || len(c.out) > 0
		switch {
		case now.Sub(c.lastRx) >= 4*dnsTCPIdle: // a client gone, or a query never answered
			p.abort(s, c)
		case outstanding && now.Sub(c.lastTx) >= c.rto:
			if c.retries++; c.retries > dnsTCPRetries || !c.established && c.retries > dnsTCPSynRetries {
				p.abort(s, c)
				continue
			}
			c.rto *= 2
			p.retransmits.Add(1)
			if !c.established {
				p.synAck(s, c, now)
				continue
			}
			c.nxt = c.una // go back N
			if c.finSent && !c.finAcked {
				c.finSent = false
			}
			if c.wnd == 0 && len(c.out) > 0 {
				c.wnd = 1 // probe a zero window with one byte
			}
			p.push(s, c, now, true)
		case !outstanding && c.pending == 0 && now.Sub(c.lastRx) >= dnsTCPIdle:
			if c.finAcked {
				p.drop(c) // we closed, the client never did
				continue
			}
			p.fin(s, c, now) // RFC 7766 6.2.3: the server may close an idle connection
		}
	}
}

// injectPacket puts an IP packet the switch sends on worker w's inject
// ring, as if answering a query that came in by iface.
func (s *Switch) injectPacket(w int, iface uint16, pkt []byte) {
	inj := s.dns.inject[w]
	inj.mu.Lock()
	ok := pkt != nil && inj.put(pkt, iface)
	inj.mu.Unlock()
	if !ok {
		s.dns.replyDrops.Add(1)
	}
}

// tcpPacket builds an IPv4 or IPv6 TCP segment with its checksums (nil if
// it would not fit a slot). opts are TCP options, a multiple of 4 bytes.
func tcpPacket(src, dst netip.Addr, sport, dport uint16, seq, ack uint32, flags uint8, win uint16, opts, payload []byte) []byte {
	tl := 20 + len(opts) + len(payload)
	b, pseudo := ipPacket(src, dst, 6, tl)
	if b == nil {
		return nil
	}
	h := b[len(b)-tl:]
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint32(h[4:], seq)
	binary.BigEndian.PutUint32(h[8:], ack)
	h[12] = uint8((20+len(opts))/4) << 4
	h[13] = flags
	binary.BigEndian.PutUint16(h[14:], win)
	copy(h[20:], opts)
	copy(h[20+len(opts):], payload)
	binary.BigEndian.PutUint16(h[16:], ^csum.Sum(h, csum.Fold(uint64(pseudo)+6+uint64(tl))))
	return b
}

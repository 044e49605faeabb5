package vswitch

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/vecswitch/vecswitch/internal/csum"
	"github.com/vecswitch/vecswitch/pipeline"
)

// The DNS punt path (issue 21): UDP queries to port 53 of the switch's
// addresses, from an interface Config.DNS names, leave the pipeline for
// a Go resolver and its answers come back in.
//
//   - ip4-local and ip6-local send such a query to dns-punt, which copies
//     the IP packet into its worker's punt ring (a single-producer ring of
//     fixed slots, preallocated) and frees the buffer: no allocation, no
//     lock, no syscall on the worker; a full ring drops (counted). It
//     kicks the learner loop's waker once per vector.
//   - The learner loop (and Switch.Poll) drains the rings: it reads the
//     client's addresses and port, names the network by the ingress
//     interface, and calls the DNSHandler with the DNS message.
//   - TCP segments to port 53 take the same way to a server-only TCP of
//     the control plane's (dnstcp.go), whose segments come back the same
//     way as the answers.
//   - The handler replies at once or later (a forwarded query), from any
//     goroutine: reply builds an IP/UDP packet from the resolver's address
//     and port 53 back to the client and puts it on the punting worker's
//     inject ring (producers serialize on a mutex; the worker reads it
//     lock-free).
//   - Each worker polls its inject ring like a port's rx queue; dns-reply
//     marks the packets the switch's own (flagLocal: not filtered by
//     security groups, not translated by NAT, no TTL decrement) and sends
//     them to ip4-forward or ip6-forward, which route them to the client.
//
// The resolver address is any of the switch's addresses the client can
// reach, usually its gateway (Docker answers at 127.0.0.11 inside the
// container's namespace, which needs a socket there; the gateway needs
// nothing in the container). A UDP answer is truncated where it must be
// (TC set); the client then asks again over TCP (dnstcp.go).

// DNSHandler answers a DNS query punted from network (the router
// interface's name): it calls reply with the response, once, now or
// later, from any goroutine, or never to drop the query. query is the
// handler's to keep. tcp says the query came over TCP: its answer may be
// up to 64 KiB, where a UDP one must fit the client's size (or be
// truncated). dns.Resolver.Handle is one (dns.TCP or dns.UDP as its
// transport).
type DNSHandler func(network string, query []byte, tcp bool, reply func(resp []byte))

const (
	puntSlots = 256
	puntMax   = 1500 // the largest IP packet punted or injected
	dnsPort   = 53
)

type puntSlot struct {
	n, iface uint16
	b        [puntMax]byte
}

// puntRing is a ring of packet slots: one producer at a time, one
// consumer.
type puntRing struct {
	slots []puntSlot
	_     [64]byte
	head  atomic.Uint64 // consumer
	_     [56]byte
	tail  atomic.Uint64 // producer
	_     [56]byte
	mu    sync.Mutex // serializes producers of an inject ring
}

func newPuntRing() *puntRing { return &puntRing{slots: make([]puntSlot, puntSlots)} }

// put copies pkt into the next slot; false if the ring is full.
func (r *puntRing) put(pkt []byte, iface uint16) bool {
	t := r.tail.Load()
	if t-r.head.Load() >= puntSlots || len(pkt) > puntMax {
		return false
	}
	s := &r.slots[t%puntSlots]
	s.n, s.iface = uint16(copy(s.b[:], pkt)), iface
	r.tail.Store(t + 1)
	return true
}

// dnsPunt is the switch's punt state: a punt and an inject ring per
// worker, and counters.
type dnsPunt struct {
	punt, inject []*puntRing
	handler      atomic.Pointer[DNSHandler]
	punted       []atomic.Uint64 // per worker, stored by the worker
	replies      atomic.Uint64
	replyDrops   atomic.Uint64
	noHandler    atomic.Uint64
	malformed    atomic.Uint64
}

func newDNSPunt(workers int) *dnsPunt {
	d := &dnsPunt{punted: make([]atomic.Uint64, workers)}
	for range workers {
		d.punt = append(d.punt, newPuntRing())
		d.inject = append(d.inject, newPuntRing())
	}
	return d
}

// SetDNSHandler sets the handler of punted DNS queries (nil: none; the
// queries are dropped and counted).
func (s *Switch) SetDNSHandler(h DNSHandler) {
	if h == nil {
		s.dns.handler.Store(nil)
		return
	}
	s.dns.handler.Store(&h)
}

// DNSStats are the punt path's counters.
type DNSStats struct {
	// Punted: queries taken off the workers.
	Punted uint64 `json:"punted"`
	// Replies: answers routed back to clients.
	Replies uint64 `json:"replies"`
	// ReplyDrops: answers dropped (inject ring full, too large).
	ReplyDrops uint64 `json:"reply_drops"`
	// NoHandler: queries dropped because no handler was set.
	NoHandler uint64 `json:"no_handler"`
	// Malformed: punted packets without a whole UDP or TCP header.
	Malformed uint64 `json:"malformed"`
	// TCPConnections: connections open now (DNS over TCP).
	TCPConnections uint64 `json:"tcp_connections"`
	// TCPAccepted: connections accepted; TCPRefused: SYNs reset because
	// the table was full; TCPResets: resets sent (segments of no
	// connection, refusals, aborted connections); TCPRetransmits:
	// retransmission timeouts; TCPQueries: queries read.
	TCPAccepted    uint64 `json:"tcp_accepted"`
	TCPRefused     uint64 `json:"tcp_refused"`
	TCPResets      uint64 `json:"tcp_resets"`
	TCPRetransmits uint64 `json:"tcp_retransmits"`
	TCPQueries     uint64 `json:"tcp_queries"`
}

// DNSStats returns the DNS punt counters (drops on the workers, a full
// punt ring, are dns-punt's drop counters).
func (s *Switch) DNSStats() DNSStats {
	d := s.dns
	tc := s.dnsTCP
	out := DNSStats{Replies: d.replies.Load(), ReplyDrops: d.replyDrops.Load(), NoHandler: d.noHandler.Load(), Malformed: d.malformed.Load(),
		TCPConnections: uint64(tc.n.Load()), TCPAccepted: tc.accepted.Load(), TCPRefused: tc.refused.Load(), TCPResets: tc.resets.Load(),
		TCPRetransmits: tc.retransmits.Load(), TCPQueries: tc.queries.Load()}
	for i := range d.punted {
		out.Punted += d.punted[i].Load()
	}
	return out
}

// drainPunts hands every punted query to the handler; the learner loop
// and Poll call it. It returns how many it took.
func (s *Switch) drainPunts() int {
	d := s.dns
	t := s.tables.Load()
	n := 0
	for w, r := range d.punt {
		head, tail := r.head.Load(), r.tail.Load()
		for ; head != tail; head++ {
			sl := &r.slots[head%puntSlots]
			s.handlePunt(w, sl.b[:sl.n], sl.iface, t)
			n++
		}
		r.head.Store(head)
	}
	return n
}

func (s *Switch) handlePunt(w int, ip []byte, iface uint16, t *tables) {
	d := s.dns
	var src, dst netip.Addr
	var l4 []byte
	var l4proto byte
	switch {
	case len(ip) >= 20 && ip[0]>>4 == 4 && int(ip[0]&15)*4 >= 20 && len(ip) >= int(ip[0]&15)*4+8:
		hl := int(ip[0]&15) * 4
		src, dst, l4proto = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20])), ip[9]
		if end := min(len(ip), int(binary.BigEndian.Uint16(ip[2:]))); end >= hl {
			l4 = ip[hl:end]
		}
	case len(ip) >= 48 && ip[0]>>4 == 6:
		src, dst, l4proto = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40])), ip[6]
		l4 = ip[40:min(len(ip), 40+int(binary.BigEndian.Uint16(ip[4:])))]
	}
	if l4proto == 6 {
		s.handleTCP(w, src, dst, l4, iface, t)
		return
	}
	if l4proto != 17 || len(l4) < 8 || int(binary.BigEndian.Uint16(l4[4:])) > len(l4) || binary.BigEndian.Uint16(l4[4:]) < 8 {
		d.malformed.Add(1)
		return
	}
	h := d.handler.Load()
	if h == nil || int(iface) >= len(t.ifaces) {
		d.noHandler.Add(1)
		return
	}
	sport := binary.BigEndian.Uint16(l4[0:])
	query := append([]byte(nil), l4[8:binary.BigEndian.Uint16(l4[4:])]...)
	inj := d.inject[w]
	(*h)(t.ifaces[iface].name, query, false, func(resp []byte) {
		pkt := udpPacket(dst, src, dnsPort, sport, resp)
		inj.mu.Lock()
		ok := pkt != nil && inj.put(pkt, iface)
		inj.mu.Unlock()
		if ok {
			d.replies.Add(1)
		} else {
			d.replyDrops.Add(1)
		}
	})
}

// udpPacket builds an IPv4 or IPv6 UDP packet with its checksums (nil if
// it would not fit a slot).
func udpPacket(src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	ulen := 8 + len(payload)
	b, pseudo := ipPacket(src, dst, 17, ulen)
	if b == nil {
		return nil
	}
	u := b[len(b)-ulen:]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(ulen))
	copy(u[8:], payload)
	c := ^csum.Sum(u, csum.Fold(uint64(pseudo)+17+uint64(ulen)))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:], c)
	return b
}

// ipPacket makes an IPv4 or IPv6 packet from src to dst of protocol
// proto with room for l4len bytes after its header (the last l4len bytes
// of b), the IPv4 header's checksum done; pseudo is the sum of the
// addresses for the L4 checksum. nil if it would not fit a slot.
func ipPacket(src, dst netip.Addr, proto byte, l4len int) (b []byte, pseudo uint16) {
	if src.Is4() {
		if 20+l4len > puntMax {
			return nil, 0
		}
		b = make([]byte, 20+l4len)
		b[0], b[8], b[9] = 0x45, 64, proto
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
		s4, d4 := src.As4(), dst.As4()
		copy(b[12:], s4[:])
		copy(b[16:], d4[:])
		binary.BigEndian.PutUint16(b[10:], ^csum.Sum(b[:20], 0))
		return b, csum.Sum(b[12:20], 0)
	}
	if 40+l4len > puntMax {
		return nil, 0
	}
	b = make([]byte, 40+l4len)
	b[0], b[6], b[7] = 0x60, proto, 64
	binary.BigEndian.PutUint16(b[4:], uint16(l4len))
	s16, d16 := src.As16(), dst.As16()
	copy(b[8:], s16[:])
	copy(b[24:], d16[:])
	return b, csum.Sum(b[8:40], 0)
}

// injectQueue is a worker's inject ring as an rx queue of its pool.
type injectQueue struct {
	r    *puntRing
	pool *pipeline.Pool
}

// Rx takes injected packets into fresh buffers, each with an Ethernet
// header ip4-forward and ip6-forward rewrite, Meta.Iface the interface
// the query came in by.
func (q *injectQueue) Rx(bufs []pipeline.BufID) (int, error) {
	r := q.r
	head, tail := r.head.Load(), r.tail.Load()
	if head == tail {
		return 0, nil
	}
	n := q.pool.AllocN(bufs[:min(int(tail-head), len(bufs))])
	for _, id := range bufs[:n] {
		sl := &r.slots[head%puntSlots]
		fr := q.pool.Frame(id)[pipeline.Headroom:]
		clear(fr[:12])
		fr[12], fr[13] = 0x08, 0x00
		if sl.n > 0 && sl.b[0]>>4 == 6 {
			fr[12], fr[13] = 0x86, 0xdd
		}
		copy(fr[ethHdrLen:], sl.b[:sl.n])
		m := q.pool.Meta(id)
		m.Len, m.Iface = ethHdrLen+sl.n, sl.iface
		head++
	}
	r.head.Store(head)
	return n, nil
}

func (q *injectQueue) Close() error { return nil }

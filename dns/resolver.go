package dns

import (
	"context"
	"encoding/binary"
	"iter"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"
)

// Transport is how a query arrived; it bounds the response size (UDP:
// 512 bytes, or the client's EDNS0 size up to Config.UDPSize; TCP: 64 KiB).
type Transport uint8

const (
	UDP Transport = iota
	TCP
)

// Reason says what became of one query. Every query is counted under
// exactly one reason, once its outcome is known.
type Reason uint8

const (
	// Answered: a local name with records of the asked type.
	Answered Reason = iota
	// NoData: a local name without records of the asked type (NOERROR,
	// empty answer; SOA in authority inside the domain).
	NoData
	// NXDomain: an unknown name in the network's domain, or an unknown
	// single-label name (never sent upstream).
	NXDomain
	// Forwarded: an upstream answered and its answer was relayed. Answer
	// returns it with n == 0 to say "this query must go upstream"; it is
	// counted only when the forward completes.
	Forwarded
	// ForwardFailed: every upstream timed out or failed; SERVFAIL sent.
	ForwardFailed
	// ForwardBusy: Config.MaxInflight forwards were in flight; SERVFAIL.
	ForwardBusy
	// Refused: REFUSED sent: a class other than IN, a zone transfer, an
	// unknown network, or a foreign name in a network without upstreams.
	Refused
	// NotImplemented: NOTIMP sent for an opcode other than QUERY.
	NotImplemented
	// Malformed: FORMERR sent: the header was readable but the rest was
	// not, QDCOUNT was not 1, TC was set in the query, or EDNS0 was bad
	// (several OPT records; an unknown EDNS version gets BADVERS).
	Malformed
	// Dropped: nothing sent: shorter than a header, a response rather
	// than a query (answering it could start a loop between two
	// servers), or an out buffer too small for any reply.
	Dropped
	NumReasons
)

var reasonNames = [NumReasons]string{
	"answered", "nodata", "nxdomain", "forwarded", "forward-failed",
	"forward-busy", "refused", "notimp", "malformed", "dropped",
}

func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "reason?"
}

// Config tunes a Resolver. Zero values take the defaults.
type Config struct {
	// UpstreamTimeout bounds one attempt at one upstream (default 2 s;
	// with two upstreams a failing query gets SERVFAIL after 4 s, before
	// glibc's default 5 s timeout).
	UpstreamTimeout time.Duration
	// MaxInflight bounds the forwards Handle runs at once (default 256);
	// beyond it queries get SERVFAIL at once (ForwardBusy).
	MaxInflight int
	// UDPSize is the largest UDP response, and the EDNS0 size we
	// advertise (default 1232, the DNS flag day 2020 value).
	UDPSize int
}

// Resolver answers the DNS queries of the switch's networks from a
// Registry and forwards the rest. Answer and Resolve are safe for
// concurrent use; the local path takes no lock.
type Resolver struct {
	reg    *Registry
	cfg    Config
	counts [NumReasons]atomic.Uint64
	rot    atomic.Uint32 // rotates answers with several addresses

	ctx    context.Context // cancelled by Close: ends forwards
	cancel context.CancelFunc
	sem    chan struct{} // forward slots for Handle

	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	wg     sync.WaitGroup // forwards started by Handle
}

// New returns a resolver answering from reg. Call Close to stop the
// forwards it has in flight.
func New(reg *Registry, cfg Config) *Resolver {
	if cfg.UpstreamTimeout <= 0 {
		cfg.UpstreamTimeout = 2 * time.Second
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 256
	}
	if cfg.UDPSize <= 0 {
		cfg.UDPSize = 1232
	}
	cfg.UDPSize = min(max(cfg.UDPSize, mdns.MinMsgSize), mdns.MaxMsgSize)
	ctx, cancel := context.WithCancel(context.Background())
	return &Resolver{reg: reg, cfg: cfg, ctx: ctx, cancel: cancel, sem: make(chan struct{}, cfg.MaxInflight)}
}

// Close cancels the forwards in flight (their clients get SERVFAIL) and
// waits until they have replied. Later forwards fail at once.
func (r *Resolver) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// Count returns how many queries ended with reason.
func (r *Resolver) Count(reason Reason) uint64 {
	if reason >= NumReasons {
		return 0
	}
	return r.counts[reason].Load()
}

// Stats returns every counter by reason name.
func (r *Resolver) Stats() map[string]uint64 {
	m := make(map[string]uint64, NumReasons)
	for i := range NumReasons {
		m[i.String()] = r.counts[i].Load()
	}
	return m
}

func (r *Resolver) count(reason Reason) { r.counts[reason].Add(1) }

// Answer handles query, sent by a client of network over tr, from local
// data only. It writes the response to out and returns its length and
// the reason, which is also counted; the response never exceeds len(out)
// (at least 512 bytes are needed for a full UDP answer; a shorter out
// gets a header-only truncated reply). With reason Dropped there is
// nothing to send. With reason Forwarded (n == 0, not counted yet) the
// query needs an upstream: pass it to Resolve off the fast path, or use
// Handle, which does that.
func (r *Resolver) Answer(network string, query, out []byte, tr Transport) (n int, reason Reason) {
	n, reason, _ = r.answer(network, query, out, tr)
	if reason != Forwarded {
		r.count(reason)
	}
	return n, reason
}

// Resolve is Answer followed, when needed, by the forward to the
// network's upstreams, which can block for len(upstreams) times
// Config.UpstreamTimeout, or until ctx ends. A forwarded query gets the
// upstream's response or SERVFAIL.
func (r *Resolver) Resolve(ctx context.Context, network string, query, out []byte, tr Transport) (n int, reason Reason) {
	n, reason, q := r.answer(network, query, out, tr)
	if reason == Forwarded {
		n, reason = r.forward(ctx, q, out)
	}
	r.count(reason)
	return n, reason
}

// pending is a parsed query that must be forwarded.
type pending struct {
	msg   *mdns.Msg
	zone  *zone
	limit int // response size limit
	tr    Transport
}

const (
	hdrLen  = 12
	flagQR  = 1 << 15
	flagTC  = 1 << 9
	flagRD  = 1 << 8
	opShift = 11
)

// answer does Answer's work without counting.
func (r *Resolver) answer(network string, query, out []byte, tr Transport) (int, Reason, *pending) {
	if len(query) < hdrLen || len(out) < hdrLen {
		return 0, Dropped, nil
	}
	flags := binary.BigEndian.Uint16(query[2:])
	if flags&flagQR != 0 {
		return 0, Dropped, nil
	}
	if op := (flags >> opShift) & 0xf; op != mdns.OpcodeQuery {
		return headerReply(query, out, mdns.RcodeNotImplemented), NotImplemented, nil
	}
	if flags&flagTC != 0 {
		return headerReply(query, out, mdns.RcodeFormatError), Malformed, nil
	}
	m := new(mdns.Msg)
	if err := m.Unpack(query); err != nil || len(m.Question) != 1 {
		return headerReply(query, out, mdns.RcodeFormatError), Malformed, nil
	}
	// miekg/dns accepts a question cut after its name or type; we do not.
	if _, off, err := mdns.UnpackDomainName(query, hdrLen); err != nil || off+4 > len(query) {
		return headerReply(query, out, mdns.RcodeFormatError), Malformed, nil
	}
	limit := min(len(out), mdns.MaxMsgSize)
	var opt *mdns.OPT
	nopt := 0
	for _, rr := range m.Extra {
		if o, ok := rr.(*mdns.OPT); ok {
			opt = o
			nopt++
		}
	}
	if nopt > 1 || (opt != nil && opt.Hdr.Name != ".") {
		return headerReply(query, out, mdns.RcodeFormatError), Malformed, nil
	}
	if tr == UDP {
		size := mdns.MinMsgSize
		if opt != nil {
			size = min(max(int(opt.UDPSize()), mdns.MinMsgSize), r.cfg.UDPSize)
		}
		limit = min(limit, size)
	}
	resp := new(mdns.Msg)
	resp.SetReply(m)
	resp.RecursionAvailable = true
	if opt != nil {
		resp.SetEdns0(uint16(r.cfg.UDPSize), opt.Do())
		if opt.Version() != 0 {
			resp.Rcode = mdns.RcodeBadVers
			return r.pack(resp, out, limit, Malformed)
		}
	}
	q := m.Question[0]
	if q.Qclass != mdns.ClassINET || q.Qtype == mdns.TypeAXFR || q.Qtype == mdns.TypeIXFR {
		resp.Rcode = mdns.RcodeRefused
		return r.pack(resp, out, limit, Refused)
	}
	z := r.reg.zone(network)
	if z == nil {
		resp.Rcode = mdns.RcodeRefused
		return r.pack(resp, out, limit, Refused)
	}

	name := mdns.CanonicalName(q.Name)
	inDomain := false
	var e *entry
	var ptrs []string
	switch {
	case strings.HasSuffix(name, ".arpa."):
		if a, ok := reverseAddr(name); ok {
			ptrs = z.ptr[a]
		}
		if ptrs == nil {
			return r.foreign(m, z, resp, out, limit, tr)
		}
	case name == z.domain:
		// The apex exists and holds only the SOA.
		resp.Authoritative = true
		if q.Qtype == mdns.TypeSOA || q.Qtype == mdns.TypeANY {
			resp.Answer = append(resp.Answer, z.soa)
			return r.pack(resp, out, limit, Answered)
		}
		resp.Ns = append(resp.Ns, z.soa)
		return r.pack(resp, out, limit, NoData)
	case strings.HasSuffix(name, "."+z.domain):
		inDomain = true
		e = z.names[name[:len(name)-len(z.domain)-1]]
		if e == nil {
			resp.Authoritative = true
			resp.Rcode = mdns.RcodeNameError
			resp.Ns = append(resp.Ns, z.soa)
			return r.pack(resp, out, limit, NXDomain)
		}
	default:
		rel := name[:len(name)-1]
		e = z.names[rel]
		if e == nil {
			if rel != "" && !strings.Contains(rel, ".") {
				// A single label is ours or nobody's: never leak it.
				resp.Rcode = mdns.RcodeNameError
				return r.pack(resp, out, limit, NXDomain)
			}
			return r.foreign(m, z, resp, out, limit, tr)
		}
	}

	resp.Authoritative = true
	hdr := mdns.RR_Header{Name: q.Name, Class: mdns.ClassINET, Ttl: z.ttl}
	if ptrs != nil {
		if q.Qtype == mdns.TypePTR || q.Qtype == mdns.TypeANY {
			hdr.Rrtype = mdns.TypePTR
			for _, p := range ptrs {
				resp.Answer = append(resp.Answer, &mdns.PTR{Hdr: hdr, Ptr: p})
			}
		}
	} else {
		if q.Qtype == mdns.TypeA || q.Qtype == mdns.TypeANY {
			hdr.Rrtype = mdns.TypeA
			for a := range r.rotate(e.v4) {
				b := a.As4()
				resp.Answer = append(resp.Answer, &mdns.A{Hdr: hdr, A: b[:]})
			}
		}
		if q.Qtype == mdns.TypeAAAA || q.Qtype == mdns.TypeANY {
			hdr.Rrtype = mdns.TypeAAAA
			for a := range r.rotate(e.v6) {
				b := a.As16()
				resp.Answer = append(resp.Answer, &mdns.AAAA{Hdr: hdr, AAAA: b[:]})
			}
		}
	}
	if len(resp.Answer) == 0 {
		if inDomain {
			resp.Ns = append(resp.Ns, z.soa)
		}
		return r.pack(resp, out, limit, NoData)
	}
	return r.pack(resp, out, limit, Answered)
}

// rotate returns addrs starting at a different one each call (round
// robin across queries, as Docker and WeaveDNS shuffle), so clients that
// take the first address spread over a name's addresses.
func (r *Resolver) rotate(addrs []netip.Addr) iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		k := 0
		if len(addrs) > 1 {
			k = int(r.rot.Add(1) % uint32(len(addrs)))
		}
		for i := range addrs {
			if !yield(addrs[(k+i)%len(addrs)]) {
				return
			}
		}
	}
}

// foreign handles a name the network does not own: forward it, or
// refuse it when there is nowhere to forward.
func (r *Resolver) foreign(m *mdns.Msg, z *zone, resp *mdns.Msg, out []byte, limit int, tr Transport) (int, Reason, *pending) {
	if len(z.upstreams) == 0 {
		resp.Rcode = mdns.RcodeRefused
		return r.pack(resp, out, limit, Refused)
	}
	return 0, Forwarded, &pending{msg: m, zone: z, limit: limit, tr: tr}
}

// pack writes resp into out within limit, truncating (TC) what does not
// fit. If even the truncated message does not fit in out, a header-only
// reply with TC goes instead.
func (r *Resolver) pack(resp *mdns.Msg, out []byte, limit int, reason Reason) (int, Reason, *pending) {
	resp.Compress = true
	resp.Truncate(limit)
	b, err := resp.PackBuffer(out)
	if err == nil && len(b) <= limit {
		if &b[0] != &out[0] {
			copy(out, b)
		}
		return len(b), reason, nil
	}
	// Only when out is smaller than 512 bytes (Truncate's floor) or the
	// question alone is too long for it.
	var h [hdrLen]byte
	binary.BigEndian.PutUint16(h[0:], resp.Id)
	bits := uint16(flagQR|flagTC) | uint16(resp.Opcode&0xf)<<opShift | uint16(resp.Rcode&0xf)
	if resp.RecursionDesired {
		bits |= flagRD
	}
	binary.BigEndian.PutUint16(h[2:], bits)
	return copy(out, h[:]), reason, nil
}

// headerReply writes a 12-byte reply to query's header with rcode: same
// ID, opcode and RD, QR set, no records. out holds at least 12 bytes.
func headerReply(query, out []byte, rcode int) int {
	flags := binary.BigEndian.Uint16(query[2:])
	bits := uint16(flagQR) | flags&(0xf<<opShift|flagRD) | uint16(rcode&0xf)
	copy(out[0:2], query[0:2])
	binary.BigEndian.PutUint16(out[2:], bits)
	clear(out[4:hdrLen])
	return hdrLen
}

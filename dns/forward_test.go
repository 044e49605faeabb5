package dns

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/stretchr/testify/require"
)

// upstream is a miekg/dns server on loopback (UDP and TCP on one port)
// that answers example.test. A 192.0.2.1, big.example.test. with 100
// addresses (truncated over UDP), and SERVFAIL or nothing at all when
// told so.
type upstream struct {
	addr     netip.AddrPort
	servfail atomic.Bool
	silent   atomic.Bool
	queries  atomic.Int64
	tcp      atomic.Int64
	ids      sync.Map // IDs seen
}

func startUpstream(t testing.TB) *upstream {
	t.Helper()
	u := &upstream{}
	pc, ln := listenPair(t)
	u.addr = pc.LocalAddr().(*net.UDPAddr).AddrPort()
	h := mdns.HandlerFunc(func(w mdns.ResponseWriter, q *mdns.Msg) {
		u.queries.Add(1)
		u.ids.Store(q.Id, true)
		_, isTCP := w.RemoteAddr().(*net.TCPAddr)
		if isTCP {
			u.tcp.Add(1)
		}
		if u.silent.Load() {
			return
		}
		m := new(mdns.Msg)
		m.SetReply(q)
		if u.servfail.Load() {
			m.Rcode = mdns.RcodeServerFailure
			w.WriteMsg(m)
			return
		}
		qq := q.Question[0]
		hdr := mdns.RR_Header{Name: qq.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 300}
		switch {
		case qq.Qtype == mdns.TypeA && mdns.CanonicalName(qq.Name) == "example.test.":
			m.Answer = append(m.Answer, &mdns.A{Hdr: hdr, A: net.IPv4(192, 0, 2, 1)})
		case qq.Qtype == mdns.TypeA && mdns.CanonicalName(qq.Name) == "big.example.test.":
			for i := range 100 {
				m.Answer = append(m.Answer, &mdns.A{Hdr: hdr, A: net.IPv4(192, 0, 2, byte(i))})
			}
		case qq.Qtype == mdns.TypePTR:
			hdr.Rrtype = mdns.TypePTR
			m.Answer = append(m.Answer, &mdns.PTR{Hdr: hdr, Ptr: "dns.example.test."})
		default:
			m.Rcode = mdns.RcodeNameError
		}
		if !isTCP {
			size := mdns.MinMsgSize
			if o := q.IsEdns0(); o != nil {
				size = int(o.UDPSize())
			}
			m.Truncate(size)
		}
		w.WriteMsg(m)
	})
	us := &mdns.Server{PacketConn: pc, Handler: h}
	ts := &mdns.Server{Listener: ln, Handler: h}
	go us.ActivateAndServe()
	go ts.ActivateAndServe()
	t.Cleanup(func() {
		us.Shutdown()
		ts.Shutdown()
	})
	return u
}

// blackHole is an address that takes UDP queries and never answers.
func blackHole(t testing.TB) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func forwardRegistry(t testing.TB, ups ...netip.AddrPort) *Registry {
	reg := testRegistry(t)
	require.NoError(t, reg.SetUpstreams("net1", ups...))
	return reg
}

// resolve runs Resolve on one query and parses the reply.
func resolve(t testing.TB, r *Resolver, name string, qtype uint16, tr Transport) (*mdns.Msg, Reason, uint16) {
	t.Helper()
	q := query(t, name, qtype)
	out := make([]byte, r.outSize(tr))
	n, reason := r.Resolve(context.Background(), "net1", q, out, tr)
	m := new(mdns.Msg)
	require.NoError(t, m.Unpack(out[:n]))
	id := uint16(q[0])<<8 | uint16(q[1])
	require.Equal(t, id, m.Id)
	return m, reason, id
}

func TestForward(t *testing.T) {
	u := startUpstream(t)
	r := New(forwardRegistry(t, u.addr), Config{})
	defer r.Close()

	// Answer alone says "forward" and counts nothing yet.
	n, reason := r.Answer("net1", query(t, "example.test.", mdns.TypeA), make([]byte, 512), UDP)
	require.Equal(t, Forwarded, reason)
	require.Zero(t, n)
	require.Zero(t, r.Count(Forwarded))

	m, reason, id := resolve(t, r, "Example.TEST.", mdns.TypeA, UDP)
	require.Equal(t, Forwarded, reason)
	require.Equal(t, mdns.RcodeSuccess, m.Rcode)
	require.Equal(t, []string{"192.0.2.1"}, addrs(t, m))
	require.Equal(t, "Example.TEST.", m.Question[0].Name)
	require.EqualValues(t, 1, r.Count(Forwarded))
	require.EqualValues(t, 1, u.queries.Load())
	_, sameID := u.ids.Load(id)
	require.False(t, sameID, "the client's ID must not go upstream")

	// Upstream NXDOMAIN is relayed as such.
	m, reason, _ = resolve(t, r, "nope.example.test.", mdns.TypeA, UDP)
	require.Equal(t, Forwarded, reason)
	require.Equal(t, mdns.RcodeNameError, m.Rcode)

	// PTR of an address that is not an endpoint goes upstream.
	m, reason, _ = resolve(t, r, "9.9.9.9.in-addr.arpa.", mdns.TypePTR, UDP)
	require.Equal(t, Forwarded, reason)
	require.Equal(t, []string{"dns.example.test."}, addrs(t, m))

	// Local names never leave, single labels neither.
	before := u.queries.Load()
	_, reason, _ = resolve(t, r, "web.", mdns.TypeA, UDP)
	require.Equal(t, Answered, reason)
	_, reason, _ = resolve(t, r, "nope.net1.vecswitch.", mdns.TypeA, UDP)
	require.Equal(t, NXDomain, reason)
	_, reason, _ = resolve(t, r, "intranet.", mdns.TypeA, UDP)
	require.Equal(t, NXDomain, reason)
	require.Equal(t, before, u.queries.Load())

	// A big answer: truncated for a UDP client (which retries over
	// TCP), complete for a TCP client (we retry upstream over TCP).
	m, reason, _ = resolve(t, r, "big.example.test.", mdns.TypeA, UDP)
	require.Equal(t, Forwarded, reason)
	require.True(t, m.Truncated)
	m, reason, _ = resolve(t, r, "big.example.test.", mdns.TypeA, TCP)
	require.Equal(t, Forwarded, reason)
	require.False(t, m.Truncated)
	require.Len(t, m.Answer, 100)
	require.EqualValues(t, 1, u.tcp.Load())
}

func TestForwardTimeout(t *testing.T) {
	hole1, hole2 := blackHole(t), blackHole(t)
	r := New(forwardRegistry(t, hole1, hole2), Config{UpstreamTimeout: 200 * time.Millisecond})
	defer r.Close()
	start := time.Now()
	m, reason, _ := resolve(t, r, "example.test.", mdns.TypeA, UDP)
	took := time.Since(start)
	require.Equal(t, ForwardFailed, reason)
	require.Equal(t, mdns.RcodeServerFailure, m.Rcode)
	require.EqualValues(t, 1, r.Count(ForwardFailed))
	require.Zero(t, r.Count(Forwarded))
	require.GreaterOrEqual(t, took, 400*time.Millisecond, "both upstreams tried")
	require.Less(t, took, 2*time.Second)
	t.Logf("SERVFAIL after %v (2 upstreams x 200 ms)", took)
}

func TestForwardFailover(t *testing.T) {
	u := startUpstream(t)
	r := New(forwardRegistry(t, blackHole(t), u.addr), Config{UpstreamTimeout: 100 * time.Millisecond})
	defer r.Close()
	m, reason, _ := resolve(t, r, "example.test.", mdns.TypeA, UDP)
	require.Equal(t, Forwarded, reason)
	require.Equal(t, []string{"192.0.2.1"}, addrs(t, m))

	// SERVFAIL from the first upstream: the second is asked.
	bad := startUpstream(t)
	bad.servfail.Store(true)
	require.NoError(t, r.reg.SetUpstreams("net1", bad.addr, u.addr))
	m, reason, _ = resolve(t, r, "example.test.", mdns.TypeA, UDP)
	require.Equal(t, Forwarded, reason)
	require.Equal(t, []string{"192.0.2.1"}, addrs(t, m))
	require.EqualValues(t, 1, bad.queries.Load())

	// Only SERVFAIL anywhere: relayed as the upstream said it.
	require.NoError(t, r.reg.SetUpstreams("net1", bad.addr))
	m, reason, _ = resolve(t, r, "example.test.", mdns.TypeA, UDP)
	require.Equal(t, Forwarded, reason)
	require.Equal(t, mdns.RcodeServerFailure, m.Rcode)
}

// handle runs Handle and waits for its reply.
func handle(t testing.TB, r *Resolver, name string) (*mdns.Msg, time.Duration) {
	t.Helper()
	got := make(chan []byte, 1)
	start := time.Now()
	r.Handle("net1", query(t, name, mdns.TypeA), UDP, func(resp []byte) {
		got <- append([]byte(nil), resp...)
	})
	select {
	case b := <-got:
		m := new(mdns.Msg)
		require.NoError(t, m.Unpack(b))
		return m, time.Since(start)
	case <-time.After(5 * time.Second):
		t.Fatal("no reply")
		return nil, 0
	}
}

func TestHandleAsync(t *testing.T) {
	u := startUpstream(t)
	hole := blackHole(t)
	reg := forwardRegistry(t, u.addr)
	r := New(reg, Config{UpstreamTimeout: 5 * time.Second, MaxInflight: 1})

	m, _ := handle(t, r, "web.")
	require.Equal(t, []string{"10.1.0.2"}, addrs(t, m))
	m, _ = handle(t, r, "example.test.")
	require.Equal(t, []string{"192.0.2.1"}, addrs(t, m))

	// One forward stuck in a black hole takes the only slot: the next
	// query gets SERVFAIL at once, while local answers go on.
	require.NoError(t, reg.SetUpstreams("net1", hole))
	stuck := make(chan []byte, 1)
	r.Handle("net1", query(t, "example.test.", mdns.TypeA), UDP, func(resp []byte) {
		stuck <- append([]byte(nil), resp...)
	})
	m, took := handle(t, r, "example.test.")
	require.Equal(t, mdns.RcodeServerFailure, m.Rcode)
	require.Less(t, took, time.Second, "at once, not after the 5 s upstream timeout")
	require.EqualValues(t, 1, r.Count(ForwardBusy))
	m, _ = handle(t, r, "db.")
	require.Equal(t, []string{"10.1.0.3"}, addrs(t, m))

	// Close ends the stuck forward with SERVFAIL and waits for its reply.
	closeStart := time.Now()
	r.Close()
	require.Less(t, time.Since(closeStart), time.Second, "Close cancels, it does not wait out the timeout")
	select {
	case b := <-stuck:
		m := new(mdns.Msg)
		require.NoError(t, m.Unpack(b))
		require.Equal(t, mdns.RcodeServerFailure, m.Rcode)
	default:
		t.Fatal("Close returned before the forward replied")
	}
	require.EqualValues(t, 1, r.Count(ForwardFailed))
	// After Close, forwards fail at once; local answers still work.
	m, took = handle(t, r, "example.test.")
	require.Equal(t, mdns.RcodeServerFailure, m.Rcode)
	require.Less(t, took, time.Second)
	m, _ = handle(t, r, "web.")
	require.Equal(t, []string{"10.1.0.2"}, addrs(t, m))
	require.EqualValues(t, 2, r.Count(Forwarded)+r.Count(ForwardBusy))
}

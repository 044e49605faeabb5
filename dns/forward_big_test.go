package dns

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	mdns "github.com/miekg/dns"
	"github.com/stretchr/testify/require"
)

// bigTXT is how many TXT records the careless upstream gives
// big.example.test., one 240-byte string each: about 5 KB in all.
const bigTXT = 20

// startCarelessUpstream is a miekg/dns server on loopback (UDP and TCP on
// one port) that answers big.example.test. TXT with bigTXT records and
// never truncates: over UDP too it sends all of it, whatever size the
// query's EDNS0 asked for (as some servers and middleboxes do).
func startCarelessUpstream(t testing.TB) (addr string, udp, tcp *atomic.Int64) {
	t.Helper()
	udp, tcp = new(atomic.Int64), new(atomic.Int64)
	pc, ln := listenPair(t)
	h := mdns.HandlerFunc(func(w mdns.ResponseWriter, q *mdns.Msg) {
		if _, isTCP := w.RemoteAddr().(*net.TCPAddr); isTCP {
			tcp.Add(1)
		} else {
			udp.Add(1)
		}
		m := new(mdns.Msg)
		m.SetReply(q)
		qq := q.Question[0]
		for i := range bigTXT {
			m.Answer = append(m.Answer, &mdns.TXT{
				Hdr: mdns.RR_Header{Name: qq.Name, Rrtype: mdns.TypeTXT, Class: mdns.ClassINET, Ttl: 300},
				Txt: []string{string(rune('a'+i)) + strings.Repeat("x", 239)},
			})
		}
		if o := q.IsEdns0(); o != nil {
			m.SetEdns0(4096, false)
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
	return pc.LocalAddr().String(), udp, tcp
}

// TestForwardBigUpstreamAnswer: an upstream's UDP answer bigger than the
// client's EDNS0 size (the upstream did not truncate it) is read whole and
// fitted to the client: truncated with TC over UDP, whatever buffer size
// the client asked for, and complete over TCP. It was SERVFAIL
// (ForwardFailed): the answer was read into a buffer of the client's
// size, cut short and unparseable.
func TestForwardBigUpstreamAnswer(t *testing.T) {
	addr, udp, tcp := startCarelessUpstream(t)
	reg := testRegistry(t)
	require.NoError(t, reg.SetUpstreams("net1", netip.MustParseAddrPort(addr)))

	for _, tc := range []struct {
		name    string
		udpSize int // Config.UDPSize
		bufsize int // the client's EDNS0 size; 0: no EDNS0
		tr      Transport
		limit   int // the largest response the client may get
	}{
		{"udp no edns", 0, 0, UDP, 512},
		{"udp edns 1232", 0, 1232, UDP, 1232},
		{"udp edns 4096", 0, 4096, UDP, 1232},
		{"udp edns 4096, switch 4096", 4096, 4096, UDP, 4096},
		{"tcp", 0, 0, TCP, mdns.MaxMsgSize},
		{"tcp edns 1232", 0, 1232, TCP, mdns.MaxMsgSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(reg, Config{UDPSize: tc.udpSize})
			t.Cleanup(func() { r.Close() })
			q := new(mdns.Msg)
			q.SetQuestion("Big.Example.Test.", mdns.TypeTXT)
			if tc.bufsize > 0 {
				q.SetEdns0(uint16(tc.bufsize), false)
			}
			qb, err := q.Pack()
			require.NoError(t, err)
			udp0, tcp0 := udp.Load(), tcp.Load()
			out := make([]byte, r.outSize(tc.tr))
			n, reason := r.Resolve(context.Background(), "net1", qb, out, tc.tr)
			require.Equal(t, Forwarded, reason)
			require.LessOrEqual(t, n, tc.limit)
			m := new(mdns.Msg)
			require.NoError(t, m.Unpack(out[:n]))
			require.Equal(t, q.Id, m.Id)
			require.Equal(t, mdns.RcodeSuccess, m.Rcode, "rcode %s", mdns.RcodeToString[m.Rcode])
			require.Equal(t, "Big.Example.Test.", m.Question[0].Name)
			require.Equal(t, tc.bufsize > 0, m.IsEdns0() != nil, "an OPT exactly when the client sent one")
			if tc.tr == TCP {
				require.False(t, m.Truncated)
				require.Len(t, m.Answer, bigTXT)
			} else {
				require.True(t, m.Truncated, "TC: the client retries over TCP")
				require.Less(t, len(m.Answer), bigTXT)
				for _, rr := range m.Answer {
					require.Len(t, rr.(*mdns.TXT).Txt[0], 240)
				}
			}
			// One UDP question upstream: its answer was complete, so
			// no retry over TCP.
			require.EqualValues(t, 1, udp.Load()-udp0)
			require.EqualValues(t, 0, tcp.Load()-tcp0)
			require.EqualValues(t, 1, r.Count(Forwarded))
			require.Zero(t, r.Count(ForwardFailed))
		})
	}
}

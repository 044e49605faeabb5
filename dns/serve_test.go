package dns

import (
	"errors"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/stretchr/testify/require"
)

// listenPair listens on a free loopback port for both UDP and TCP. The
// port is free for UDP when picked; another package's test may hold it
// for TCP (an outgoing connection's local port), so a pair that fails is
// picked again.
func listenPair(t testing.TB) (*net.UDPConn, net.Listener) {
	t.Helper()
	for range 100 {
		uc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		require.NoError(t, err)
		ln, err := net.Listen("tcp", uc.LocalAddr().String())
		if err == nil {
			return uc, ln
		}
		uc.Close()
		if !errors.Is(err, syscall.EADDRINUSE) {
			require.NoError(t, err)
		}
	}
	t.Fatal("no loopback port free for both UDP and TCP in 100 tries")
	return nil, nil
}

// serve runs Serve and ServeTCP for net1 on one loopback port and stops
// them (and r) at cleanup.
func serve(t testing.TB, r *Resolver) string {
	t.Helper()
	uc, ln := listenPair(t)
	addr := uc.LocalAddr().String()
	done := make(chan error, 2)
	go func() { done <- r.Serve("net1", uc) }()
	go func() { done <- r.ServeTCP("net1", ln) }()
	t.Cleanup(func() {
		uc.Close()
		ln.Close()
		for range 2 {
			require.NoError(t, <-done)
		}
		r.Close()
	})
	return addr
}

func TestServe(t *testing.T) {
	u := startUpstream(t)
	r := New(forwardRegistry(t, u.addr), Config{})
	addr := serve(t, r)
	for _, network := range []string{"udp", "tcp"} {
		c := &mdns.Client{Net: network, Timeout: 2 * time.Second}
		for _, tc := range []struct {
			name  string
			qtype uint16
			rcode int
			want  []string
		}{
			{"web.net1.vecswitch.", mdns.TypeA, mdns.RcodeSuccess, []string{"10.1.0.2"}},
			{"web.", mdns.TypeAAAA, mdns.RcodeSuccess, []string{"fd00:1::2"}},
			{"2.0.1.10.in-addr.arpa.", mdns.TypePTR, mdns.RcodeSuccess, []string{"web.net1.vecswitch."}},
			{"nope.net1.vecswitch.", mdns.TypeA, mdns.RcodeNameError, nil},
			{"example.test.", mdns.TypeA, mdns.RcodeSuccess, []string{"192.0.2.1"}},
		} {
			q := new(mdns.Msg)
			q.SetQuestion(tc.name, tc.qtype)
			m, _, err := c.Exchange(q, addr)
			require.NoError(t, err, "%s %s", network, tc.name)
			require.Equal(t, tc.rcode, m.Rcode, "%s %s", network, tc.name)
			require.Equal(t, tc.want, addrs(t, m), "%s %s", network, tc.name)
		}
		// Over TCP the big forwarded answer comes whole.
		q := new(mdns.Msg)
		q.SetQuestion("big.example.test.", mdns.TypeA)
		m, _, err := c.Exchange(q, addr)
		require.NoError(t, err)
		require.Equal(t, network == "udp", m.Truncated, network)
	}
	// Several queries on one TCP connection (RFC 7766 pipelining).
	co, err := mdns.Dial("tcp", addr)
	require.NoError(t, err)
	defer co.Close()
	for i := range 3 {
		q := new(mdns.Msg)
		q.SetQuestion("db.", mdns.TypeA)
		require.NoError(t, co.WriteMsg(q))
		m, err := co.ReadMsg()
		require.NoError(t, err, "query %d", i)
		require.Equal(t, []string{"10.1.0.3"}, addrs(t, m))
	}
}

// TestDig: the real client. Debian's dnsutils brings dig; .ci/run
// installs it.
func TestDig(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig not installed (Debian package dnsutils; .ci/run installs it)")
	}
	u := startUpstream(t)
	r := New(forwardRegistry(t, u.addr), Config{})
	addr := serve(t, r)
	host, port, _ := net.SplitHostPort(addr)
	dig := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("dig", append([]string{"@" + host, "-p", port, "+time=2", "+tries=1"}, args...)...)
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "dig %v: %s", args, b)
		return strings.TrimSpace(string(b))
	}
	require.Equal(t, "10.1.0.2", dig("web.net1.vecswitch", "A", "+short"))
	require.Equal(t, "10.1.0.2", dig("WEB", "A", "+short"))
	require.Equal(t, "fd00:1::2", dig("web.net1.vecswitch", "AAAA", "+short"))
	require.Equal(t, "10.96.0.10", dig("api.net1.vecswitch", "A", "+short"))
	require.Equal(t, "web.net1.vecswitch.", dig("-x", "10.1.0.2", "+short"))
	require.Equal(t, "web.net1.vecswitch.", dig("-x", "fd00:1::2", "+short"))
	require.Equal(t, "192.0.2.1", dig("example.test", "A", "+short"))
	require.Equal(t, "192.0.2.1", dig("example.test", "A", "+short", "+tcp"))
	require.Equal(t, "10.1.0.2", dig("web.net1.vecswitch", "A", "+short", "+tcp"))
	full := dig("nope.net1.vecswitch", "A")
	require.Contains(t, full, "status: NXDOMAIN")
	require.Contains(t, full, "flags: qr aa rd ra")
	require.Contains(t, dig("db.net1.vecswitch", "AAAA"), "status: NOERROR")
	require.Contains(t, dig("web.net1.vecswitch", "A", "+noedns"), "status: NOERROR")
	require.Contains(t, dig("web.net1.vecswitch", "A", "CH"), "status: REFUSED")
	// dig falls back to TCP on TC by itself: the big answer arrives whole.
	lines := strings.Split(dig("big.example.test", "A", "+short"), "\n")
	require.Len(t, lines, 100)
	require.EqualValues(t, 1, r.Count(NXDomain))
	require.EqualValues(t, 1, r.Count(Refused))
	t.Logf("counters after dig: %v", r.Stats())
}

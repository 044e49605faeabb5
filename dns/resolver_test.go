package dns

import (
	"net/netip"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
	"github.com/stretchr/testify/require"
)

var (
	webV4 = netip.MustParseAddr("10.1.0.2")
	webV6 = netip.MustParseAddr("fd00:1::2")
	dbV4  = netip.MustParseAddr("10.1.0.3")
	svcIP = netip.MustParseAddr("10.96.0.10")
)

// testRegistry has net1 (default domain) with endpoints web (v4+v6) and
// db (v4 only), service api; and net2 (domain corp.example.) with its
// own web.
func testRegistry(t testing.TB) *Registry {
	t.Helper()
	reg := NewRegistry()
	require.NoError(t, reg.SetNetwork("net1", Network{
		Endpoints: map[string][]netip.Addr{"web": {webV4, webV6}, "db": {dbV4}},
		Services:  map[string][]netip.Addr{"api": {svcIP}},
	}))
	require.NoError(t, reg.SetNetwork("net2", Network{
		Domain:    "corp.example",
		TTL:       5,
		Endpoints: map[string][]netip.Addr{"web": {netip.MustParseAddr("10.2.0.2")}},
	}))
	return reg
}

func query(t testing.TB, name string, qtype uint16) []byte {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	b, err := m.Pack()
	require.NoError(t, err)
	return b
}

// ask sends one query through Answer and parses the reply.
func ask(t testing.TB, r *Resolver, network, name string, qtype uint16) (*mdns.Msg, Reason) {
	t.Helper()
	q := query(t, name, qtype)
	out := make([]byte, 1232)
	n, reason := r.Answer(network, q, out, UDP)
	if n == 0 {
		return nil, reason
	}
	m := new(mdns.Msg)
	require.NoError(t, m.Unpack(out[:n]))
	qid := new(mdns.Msg)
	require.NoError(t, qid.Unpack(q))
	require.Equal(t, qid.Id, m.Id)
	require.True(t, m.Response)
	return m, reason
}

// addrs lists the answer section as strings; it fails on a CNAME.
func addrs(t testing.TB, m *mdns.Msg) []string {
	t.Helper()
	var s []string
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *mdns.A:
			s = append(s, rr.A.String())
		case *mdns.AAAA:
			s = append(s, rr.AAAA.String())
		case *mdns.PTR:
			s = append(s, rr.Ptr)
		default:
			t.Fatalf("unexpected record %v", rr)
		}
	}
	return s
}

func TestAnswers(t *testing.T) {
	r := New(testRegistry(t), Config{})
	defer r.Close()
	for _, tc := range []struct {
		network, name string
		qtype         uint16
		reason        Reason
		rcode         int
		want          []string
		soa           bool // SOA in authority
	}{
		{"net1", "web.net1.vecswitch.", mdns.TypeA, Answered, mdns.RcodeSuccess, []string{"10.1.0.2"}, false},
		{"net1", "web.", mdns.TypeA, Answered, mdns.RcodeSuccess, []string{"10.1.0.2"}, false},
		{"net1", "WeB.NET1.VecSwitch.", mdns.TypeA, Answered, mdns.RcodeSuccess, []string{"10.1.0.2"}, false},
		{"net1", "WEB.", mdns.TypeAAAA, Answered, mdns.RcodeSuccess, []string{"fd00:1::2"}, false},
		{"net1", "web.net1.vecswitch.", mdns.TypeAAAA, Answered, mdns.RcodeSuccess, []string{"fd00:1::2"}, false},
		{"net1", "web.net1.vecswitch.", mdns.TypeANY, Answered, mdns.RcodeSuccess, []string{"10.1.0.2", "fd00:1::2"}, false},
		{"net1", "db.net1.vecswitch.", mdns.TypeAAAA, NoData, mdns.RcodeSuccess, nil, true},
		{"net1", "db.", mdns.TypeAAAA, NoData, mdns.RcodeSuccess, nil, false},
		{"net1", "db.net1.vecswitch.", mdns.TypeMX, NoData, mdns.RcodeSuccess, nil, true},
		{"net1", "api.net1.vecswitch.", mdns.TypeA, Answered, mdns.RcodeSuccess, []string{"10.96.0.10"}, false},
		{"net1", "api.", mdns.TypeA, Answered, mdns.RcodeSuccess, []string{"10.96.0.10"}, false},
		{"net1", "nope.net1.vecswitch.", mdns.TypeA, NXDomain, mdns.RcodeNameError, nil, true},
		{"net1", "x.web.net1.vecswitch.", mdns.TypeA, NXDomain, mdns.RcodeNameError, nil, true},
		{"net1", "nope.", mdns.TypeA, NXDomain, mdns.RcodeNameError, nil, false},
		{"net1", "net1.vecswitch.", mdns.TypeA, NoData, mdns.RcodeSuccess, nil, true},
		{"net1", "2.0.1.10.in-addr.arpa.", mdns.TypePTR, Answered, mdns.RcodeSuccess, []string{"web.net1.vecswitch."}, false},
		{"net1", "10.0.96.10.IN-ADDR.ARPA.", mdns.TypePTR, Answered, mdns.RcodeSuccess, []string{"api.net1.vecswitch."}, false},
		{"net1", reverse6(webV6), mdns.TypePTR, Answered, mdns.RcodeSuccess, []string{"web.net1.vecswitch."}, false},
		{"net1", "2.0.1.10.in-addr.arpa.", mdns.TypeA, NoData, mdns.RcodeSuccess, nil, false},
		// Not ours and no upstreams: refused, never guessed.
		{"net1", "9.9.9.9.in-addr.arpa.", mdns.TypePTR, Refused, mdns.RcodeRefused, nil, false},
		{"net1", "example.com.", mdns.TypeA, Refused, mdns.RcodeRefused, nil, false},
		{"net1", "web.net2.vecswitch.", mdns.TypeA, Refused, mdns.RcodeRefused, nil, false},
		// Networks are separate: net2's web, in net2's domain.
		{"net2", "web.corp.example.", mdns.TypeA, Answered, mdns.RcodeSuccess, []string{"10.2.0.2"}, false},
		{"net2", "web.", mdns.TypeA, Answered, mdns.RcodeSuccess, []string{"10.2.0.2"}, false},
		{"net2", "db.", mdns.TypeA, NXDomain, mdns.RcodeNameError, nil, false},
		{"net2", "2.0.1.10.in-addr.arpa.", mdns.TypePTR, Refused, mdns.RcodeRefused, nil, false},
		{"net3", "web.", mdns.TypeA, Refused, mdns.RcodeRefused, nil, false},
	} {
		t.Run(tc.network+"/"+tc.name+"/"+mdns.TypeToString[tc.qtype], func(t *testing.T) {
			m, reason := ask(t, r, tc.network, tc.name, tc.qtype)
			require.Equal(t, tc.reason, reason)
			require.Equal(t, tc.rcode, m.Rcode)
			require.Equal(t, tc.want, addrs(t, m))
			require.Equal(t, tc.name, m.Question[0].Name, "question echoed as asked")
			for _, rr := range m.Answer {
				require.Equal(t, tc.name, rr.Header().Name, "owner is the name asked, letter case kept, no CNAME")
			}
			if tc.soa {
				require.Len(t, m.Ns, 1)
				require.IsType(t, &mdns.SOA{}, m.Ns[0])
			} else {
				require.Empty(t, m.Ns)
			}
			if reason == Answered || reason == NoData || (reason == NXDomain && tc.soa) {
				require.True(t, m.Authoritative)
			}
		})
	}
	require.EqualValues(t, 13, r.Count(Answered))
	require.EqualValues(t, 5, r.Count(NoData))
	require.EqualValues(t, 4, r.Count(NXDomain))
	require.EqualValues(t, 5, r.Count(Refused))
	require.Zero(t, r.Count(Forwarded))
}

func reverse6(a netip.Addr) string {
	name, err := mdns.ReverseAddr(a.String())
	if err != nil {
		panic(err)
	}
	return name
}

func TestTTL(t *testing.T) {
	r := New(testRegistry(t), Config{})
	defer r.Close()
	m, _ := ask(t, r, "net1", "web.", mdns.TypeA)
	require.EqualValues(t, DefaultTTL, m.Answer[0].Header().Ttl)
	m, _ = ask(t, r, "net2", "web.", mdns.TypeA)
	require.EqualValues(t, 5, m.Answer[0].Header().Ttl)
}

func TestRegistryUpdates(t *testing.T) {
	reg := testRegistry(t)
	r := New(reg, Config{})
	defer r.Close()

	require.NoError(t, reg.SetEndpoint("net1", "cache", netip.MustParseAddr("10.1.0.9")))
	m, _ := ask(t, r, "net1", "cache.", mdns.TypeA)
	require.Equal(t, []string{"10.1.0.9"}, addrs(t, m))
	m, _ = ask(t, r, "net1", "9.0.1.10.in-addr.arpa.", mdns.TypePTR)
	require.Equal(t, []string{"cache.net1.vecswitch."}, addrs(t, m))

	// Replacing addresses drops the old PTR.
	require.NoError(t, reg.SetEndpoint("net1", "cache", netip.MustParseAddr("10.1.0.10")))
	_, reason := ask(t, r, "net1", "9.0.1.10.in-addr.arpa.", mdns.TypePTR)
	require.Equal(t, Refused, reason)

	require.True(t, reg.DeleteEndpoint("net1", "cache"))
	require.False(t, reg.DeleteEndpoint("net1", "cache"))
	_, reason = ask(t, r, "net1", "cache.net1.vecswitch.", mdns.TypeA)
	require.Equal(t, NXDomain, reason)

	// Names given with the domain or in capitals are the same name.
	require.NoError(t, reg.SetEndpoint("net1", "Cache.NET1.vecswitch.", netip.MustParseAddr("10.1.0.11")))
	m, _ = ask(t, r, "net1", "cache.", mdns.TypeA)
	require.Equal(t, []string{"10.1.0.11"}, addrs(t, m))

	require.NoError(t, reg.SetService("net1", "api", netip.MustParseAddr("10.96.0.11"), netip.MustParseAddr("fd00:96::11")))
	m, _ = ask(t, r, "net1", "api.", mdns.TypeAAAA)
	require.Equal(t, []string{"fd00:96::11"}, addrs(t, m))
	require.True(t, reg.DeleteService("net1", "api"))
	_, reason = ask(t, r, "net1", "api.", mdns.TypeA)
	require.Equal(t, NXDomain, reason)

	// Errors change nothing.
	require.ErrorIs(t, reg.SetService("net1", "web", svcIP), ErrNameConflict)
	require.ErrorIs(t, reg.SetEndpoint("net1", "api2", netip.Addr{}), ErrBadAddr)
	require.ErrorIs(t, reg.SetEndpoint("net1", "bad name", webV4), ErrBadName)
	require.ErrorIs(t, reg.SetEndpoint("net1", "a..b", webV4), ErrBadName)
	require.ErrorIs(t, reg.SetEndpoint("net1", "", webV4), ErrBadName)
	require.ErrorIs(t, reg.SetEndpoint("net1", strings.Repeat("a", 64), webV4), ErrBadName)
	require.ErrorIs(t, reg.SetEndpoint("nope", "x", webV4), ErrNoNetwork)
	require.ErrorIs(t, reg.SetUpstreams("net1", netip.AddrPort{}), ErrBadAddr)
	require.ErrorIs(t, reg.SetNetwork("bad", Network{Domain: "a..b"}), ErrBadName)
	m, _ = ask(t, r, "net1", "web.", mdns.TypeA)
	require.Equal(t, []string{"10.1.0.2"}, addrs(t, m))
	n, ok := reg.Network("net1")
	require.True(t, ok)
	require.NotContains(t, n.Endpoints, "api2")
	require.NotContains(t, n.Services, "web")

	require.True(t, reg.DeleteNetwork("net2"))
	require.False(t, reg.DeleteNetwork("net2"))
	_, reason = ask(t, r, "net2", "web.", mdns.TypeA)
	require.Equal(t, Refused, reason)
}

// TestMalformed: the query shapes a resolver must refuse, and the header
// replies it sends while it still can.
func TestMalformed(t *testing.T) {
	r := New(testRegistry(t), Config{})
	defer r.Close()
	good := query(t, "web.", mdns.TypeA)
	mod := func(f func(m *mdns.Msg)) []byte {
		m := new(mdns.Msg)
		require.NoError(t, m.Unpack(good))
		f(m)
		b, err := m.Pack()
		require.NoError(t, err)
		return b
	}
	for _, tc := range []struct {
		name   string
		q      []byte
		reason Reason
		rcode  int
	}{
		{"empty", nil, Dropped, -1},
		{"short header", good[:11], Dropped, -1},
		{"header only, qdcount 1", good[:12], Malformed, mdns.RcodeFormatError},
		{"cut in the question", good[:len(good)-2], Malformed, mdns.RcodeFormatError},
		{"response", mod(func(m *mdns.Msg) { m.Response = true }), Dropped, -1},
		{"truncated query", mod(func(m *mdns.Msg) { m.Truncated = true }), Malformed, mdns.RcodeFormatError},
		{"two questions", mod(func(m *mdns.Msg) { m.Question = append(m.Question, m.Question[0]) }), Malformed, mdns.RcodeFormatError},
		{"no question", mod(func(m *mdns.Msg) { m.Question = nil }), Malformed, mdns.RcodeFormatError},
		{"notify", mod(func(m *mdns.Msg) { m.Opcode = mdns.OpcodeNotify }), NotImplemented, mdns.RcodeNotImplemented},
		{"update", mod(func(m *mdns.Msg) { m.Opcode = mdns.OpcodeUpdate }), NotImplemented, mdns.RcodeNotImplemented},
		{"chaos class", mod(func(m *mdns.Msg) { m.Question[0].Qclass = mdns.ClassCHAOS }), Refused, mdns.RcodeRefused},
		{"axfr", mod(func(m *mdns.Msg) { m.Question[0].Qtype = mdns.TypeAXFR }), Refused, mdns.RcodeRefused},
		{"two OPT", mod(func(m *mdns.Msg) { m.SetEdns0(1232, false); m.SetEdns0(1232, false) }), Malformed, mdns.RcodeFormatError},
		{"EDNS version 1", mod(func(m *mdns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1) }), Malformed, mdns.RcodeBadVers},
		{"trailing garbage", append(append([]byte{}, good...), 1, 2, 3), Answered, mdns.RcodeSuccess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := r.Count(tc.reason)
			out := make([]byte, 512)
			n, reason := r.Answer("net1", tc.q, out, UDP)
			require.Equal(t, tc.reason, reason)
			require.Equal(t, before+1, r.Count(tc.reason))
			if tc.rcode < 0 {
				require.Zero(t, n)
				return
			}
			m := new(mdns.Msg)
			require.NoError(t, m.Unpack(out[:n]))
			require.True(t, m.Response)
			require.Equal(t, tc.rcode, m.Rcode)
			require.Equal(t, tc.q[:2], out[:2], "the client's ID")
		})
	}
}

func TestTruncation(t *testing.T) {
	reg := NewRegistry()
	many := make([]netip.Addr, 100)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{10, 3, byte(i / 256), byte(i)})
	}
	require.NoError(t, reg.SetNetwork("n", Network{Services: map[string][]netip.Addr{"big": many}}))
	r := New(reg, Config{})
	defer r.Close()
	q := query(t, "big.n.vecswitch.", mdns.TypeA)
	for _, tc := range []struct {
		tr       Transport
		outLen   int
		edns     uint16
		maxLen   int
		complete bool
	}{
		{UDP, 4096, 0, 512, false},
		{UDP, 4096, 4096, 1232, false}, // capped at Config.UDPSize
		{UDP, 400, 0, 400, false},      // header-only TC reply
		{TCP, 65535, 0, 65535, true},
		{TCP, 100, 0, 100, false},
	} {
		qq := q
		if tc.edns != 0 {
			m := new(mdns.Msg)
			require.NoError(t, m.Unpack(q))
			m.SetEdns0(tc.edns, false)
			var err error
			qq, err = m.Pack()
			require.NoError(t, err)
		}
		out := make([]byte, tc.outLen)
		n, reason := r.Answer("n", qq, out, tc.tr)
		require.Equal(t, Answered, reason)
		require.LessOrEqual(t, n, tc.maxLen)
		m := new(mdns.Msg)
		require.NoError(t, m.Unpack(out[:n]))
		require.Equal(t, !tc.complete, m.Truncated)
		if tc.complete {
			require.Len(t, m.Answer, 100)
		}
	}
}

// TestRotation: a name with several addresses answers them all, starting
// from a different one each time.
func TestRotation(t *testing.T) {
	reg := NewRegistry()
	a := []netip.Addr{netip.MustParseAddr("10.7.0.1"), netip.MustParseAddr("10.7.0.2"), netip.MustParseAddr("10.7.0.3")}
	// Two spellings of one name in one Network merge.
	require.NoError(t, reg.SetNetwork("n", Network{Endpoints: map[string][]netip.Addr{"multi": a[:2], "MULTI.n.vecswitch.": a[2:]}}))
	n, _ := reg.Network("n")
	require.Len(t, n.Endpoints, 1)
	require.ElementsMatch(t, a, n.Endpoints["multi"])
	r := New(reg, Config{})
	defer r.Close()
	first := map[string]bool{}
	for range 3 {
		m, _ := ask(t, r, "n", "multi.", mdns.TypeA)
		got := addrs(t, m)
		require.ElementsMatch(t, []string{"10.7.0.1", "10.7.0.2", "10.7.0.3"}, got)
		first[got[0]] = true
	}
	require.Len(t, first, 3)
}

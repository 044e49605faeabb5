package vswitch_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/dns"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// DNS for endpoints through a real kernel (issue 21). Containers c1 and
// c2 sit on bridge bra behind router interface ra (their gateway, IPv4
// and IPv6), which answers DNS; c3 sits on brb behind rb, which does not.
// Debian's dig runs in the containers and asks the gateway; the switch
// punts the queries to a dns.Resolver whose network "ra" knows c1, c2 and
// a service. Namespace up plays the upstream resolver (a miekg/dns server
// answering example.org): the resolver forwards from the switch's own
// namespace, as the product does, so up hangs off that namespace by a
// veth, as an upstream on the host's network would.
const (
	dnsGW4, dnsGW6     = "10.53.1.1", "fd00:53:1::1"
	dnsC1, dnsC2       = "10.53.1.2", "10.53.1.3"
	dnsC1v6, dnsC2v6   = "fd00:53:1::2", "fd00:53:1::3"
	dnsC3, dnsGWB      = "10.53.2.2", "10.53.2.1"
	dnsVIP             = "10.53.200.10"
	dnsForeignAnswer   = "192.0.2.7"
	dnsUpstreamTimeout = time.Second
)

// upstream is a DNS server in namespace up.
type upstream struct {
	addr  netip.Addr // up's address
	host  netip.Addr // the switch namespace's end of the link
	srv   *mdns.Server
	done  chan error
	asked atomic.Int64
}

// upstreamNS makes namespace up behind a veth from the test's namespace
// (a /29 of 198.18.0.0/15, the benchmarking range, picked at random) and
// serves UDP port 53 there: example.org. A is dnsForeignAnswer, anything
// else NXDOMAIN.
func (r *kernelRig) upstreamNS() *upstream {
	t := r.t
	ns := nettest.NewNS(t)
	r.ns["up"] = ns
	base := netip.AddrFrom4([4]byte{198, 18, byte(rand.IntN(256)), byte(8 * rand.IntN(32))})
	u := &upstream{host: base.Next(), addr: base.Next().Next(), done: make(chan error, 1)}
	v, err := netdev.CreateVeth(netdev.VethOptions{HostName: "vsup" + nettest.Suffix(), Netns: ns.Path(),
		Addrs: []netip.Prefix{netip.PrefixFrom(u.addr, 29)}})
	require.NoError(t, err)
	t.Cleanup(func() { v.Delete() })
	require.NoError(t, netdev.Configure("", v.HostName, netdev.LinkConfig{Addrs: []netip.Prefix{netip.PrefixFrom(u.host, 29)}, Up: true}))

	var pc net.PacketConn
	require.NoError(t, netdev.Do(ns.Path(), func() error {
		var err error
		pc, err = net.ListenPacket("udp4", netip.AddrPortFrom(u.addr, 53).String())
		return err
	}))
	started := make(chan struct{})
	u.srv = &mdns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) },
		Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, q *mdns.Msg) {
			u.asked.Add(1)
			m := new(mdns.Msg)
			m.SetReply(q)
			if len(q.Question) == 1 && strings.EqualFold(q.Question[0].Name, "example.org.") && q.Question[0].Qtype == mdns.TypeA {
				m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: q.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60},
					A: net.ParseIP(dnsForeignAnswer)})
			} else {
				m.Rcode = mdns.RcodeNameError
			}
			w.WriteMsg(m)
		})}
	go func() { u.done <- u.srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-u.done:
		t.Fatalf("upstream server: %v", err)
	}
	t.Cleanup(u.stop)
	return u
}

// stop shuts the server down (its socket closed: queries to it now get
// a port unreachable) and waits for it; stopping twice is fine.
func (u *upstream) stop() {
	if u.srv == nil {
		return
	}
	u.srv.Shutdown()
	<-u.done
	u.srv = nil
}

// dig runs dig in container from (one try, timeout secs) and returns its
// output and error.
func (r *kernelRig) dig(from string, secs int, args ...string) (string, error) {
	args = append([]string{"dig", fmt.Sprintf("+time=%d", secs), "+tries=1"}, args...)
	out, err := r.ns[from].Command(args...).CombinedOutput()
	return string(out), err
}

// digShort asks and returns dig +short's answer lines.
func (r *kernelRig) digShort(from string, args ...string) []string {
	r.t.Helper()
	out, err := r.dig(from, 3, append(args, "+short")...)
	require.NoError(r.t, err, "dig %v: %s", args, out)
	return strings.Fields(out)
}

var digStatus = regexp.MustCompile(`status: ([A-Z]+)`)

// digFull asks and returns the response's status and answer section.
func (r *kernelRig) digFull(from string, secs int, args ...string) (status, answer string) {
	r.t.Helper()
	out, err := r.dig(from, secs, append(args, "+noall", "+comments", "+answer")...)
	require.NoError(r.t, err, "dig %v: %s", args, out)
	m := digStatus.FindStringSubmatch(out)
	require.NotNil(r.t, m, "no status in dig's output: %s", out)
	i := strings.Index(out, ";; ANSWER SECTION:")
	if i >= 0 {
		answer = out[i:]
	}
	return m[1], answer
}

// TestDNSKernelResolver: dig in c1 asks the gateway, IPv4 and IPv6, and
// gets c2's A and AAAA (with and without the network's domain), the PTRs
// of both of c2's addresses, the service's VIP, NXDOMAIN for an unknown
// name in the domain, a foreign name answered by the upstream, and
// SERVFAIL, well before dig gives up, once the upstream is stopped and
// when it is an address that never answers; c3, behind an interface
// without DNS, gets no answer at all. The switch's DNSStats and the
// resolver's Stats count exactly what was asked.
func TestDNSKernelResolver(t *testing.T) {
	nettest.NeedRoot(t)
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("needs dig (Debian's dnsutils, which .ci/run installs):", err)
	}
	r := newKernelRig(t, 1)
	r.natContainer("c1", dnsC1+"/24", dnsGW4)
	r.natContainer("c2", dnsC2+"/24", dnsGW4)
	r.natContainer("c3", dnsC3+"/24", dnsGWB)
	r.host("c1", dnsC1v6+"/64", "", dnsGW6)
	r.host("c2", dnsC2v6+"/64", "", dnsGW6)
	up := r.upstreamNS()
	require.NoError(t, r.s.Reconfigure(vswitch.Config{
		Bridges: []vswitch.Bridge{
			{Name: "bra", Ports: []vswitch.Port{{Name: "c1"}, {Name: "c2"}}},
			{Name: "brb", Ports: []vswitch.Port{{Name: "c3"}}},
		},
		Interfaces: []vswitch.Interface{
			{Name: "ra", Bridge: "bra", Addrs: []string{dnsGW4 + "/24", dnsGW6 + "/64"}},
			{Name: "rb", Bridge: "brb", Addrs: []string{dnsGWB + "/24"}},
		},
		DNS: &vswitch.DNS{Interfaces: []string{"ra"}},
	}))

	reg := dns.NewRegistry()
	p := netip.MustParseAddr
	require.NoError(t, reg.SetNetwork("ra", dns.Network{
		Endpoints: map[string][]netip.Addr{"c1": {p(dnsC1), p(dnsC1v6)}, "c2": {p(dnsC2), p(dnsC2v6)}},
		Services:  map[string][]netip.Addr{"web": {p(dnsVIP)}},
		Upstreams: []netip.AddrPort{netip.AddrPortFrom(up.addr, 53)},
	}))
	// rb is a network of the registry too: if the switch punted c3's
	// query, c3 would get an answer.
	require.NoError(t, reg.SetNetwork("rb", dns.Network{Endpoints: map[string][]netip.Addr{"c3": {p(dnsC3)}}}))
	res := dns.New(reg, dns.Config{UpstreamTimeout: dnsUpstreamTimeout})
	t.Cleanup(res.Close)
	r.s.SetDNSHandler(dnsHandlerOf(res))
	require.NoError(t, r.s.Start())
	require.NoError(t, r.ping("c1", dnsC2), "the network works")

	gw4, gw6 := "@"+dnsGW4, "@"+dnsGW6
	asked := 0
	short := func(want string, args ...string) {
		t.Helper()
		asked++
		require.Equal(t, []string{want}, r.digShort("c1", args...), "dig %v", args)
	}
	short(dnsC2, gw4, "c2")
	short(dnsC2, gw4, "c2.ra.vecswitch")
	short(dnsC2, gw4, "C2.Ra.Vecswitch.") // letter case kept, answered all the same
	short(dnsC2v6, gw4, "c2", "AAAA")
	short(dnsC2v6, gw6, "c2.ra.vecswitch", "AAAA")
	short(dnsC1, gw6, "c1")
	short("c2.ra.vecswitch.", gw4, "-x", dnsC2)
	short("c2.ra.vecswitch.", gw6, "-x", dnsC2v6)
	short(dnsVIP, gw4, "web")
	short(dnsVIP, gw4, "web.ra.vecswitch")
	answered := asked

	status, answer := r.digFull("c1", 3, gw4, "nope.ra.vecswitch")
	asked++
	require.Equal(t, "NXDOMAIN", status)
	require.Empty(t, answer)

	status, answer = r.digFull("c1", 3, gw4, "example.org")
	asked++
	require.Equal(t, "NOERROR", status)
	require.Regexp(t, `(?m)^example\.org\.\s+\d+\s+IN\s+A\s+`+regexp.QuoteMeta(dnsForeignAnswer)+`$`, answer)
	require.EqualValues(t, 1, up.asked.Load(), "the upstream was asked once")

	// The upstream stopped: a port unreachable, SERVFAIL at once.
	up.stop()
	start := time.Now()
	status, _ = r.digFull("c1", 5, gw4, "example.org")
	asked++
	require.Equal(t, "SERVFAIL", status)
	require.Less(t, time.Since(start), 3*time.Second, "SERVFAIL, not dig's timeout")
	// An upstream that never answers (no host at that address): SERVFAIL
	// after the upstream timeout, before dig's own.
	require.NoError(t, reg.SetUpstreams("ra", netip.AddrPortFrom(up.host.Next().Next().Next(), 53)))
	start = time.Now()
	status, _ = r.digFull("c1", 5, gw4, "example.org")
	asked++
	require.Equal(t, "SERVFAIL", status)
	took := time.Since(start)
	require.GreaterOrEqual(t, took, dnsUpstreamTimeout-100*time.Millisecond, "waited for the upstream")
	require.Less(t, took, 4*time.Second, "SERVFAIL before dig's timeout")
	require.EqualValues(t, 1, up.asked.Load())

	// rb does not answer DNS: c3's query, to rb's address, is not punted
	// and gets nothing (dig gives up after one second).
	st := r.s.DNSStats()
	out, err := r.dig("c3", 1, "@"+dnsGWB, "c3")
	require.Error(t, err, "no answer expected: %s", out)
	require.Contains(t, out, "timed out")
	require.Equal(t, st, r.s.DNSStats(), "c3's query was not punted")
	require.NoError(t, r.ping("c3", dnsGWB), "rb itself works")

	st = r.s.DNSStats()
	require.Equal(t, vswitch.DNSStats{Punted: uint64(asked), Replies: uint64(asked)}, st)
	require.Equal(t, map[string]uint64{
		"answered": uint64(answered), "nodata": 0, "nxdomain": 1, "forwarded": 1, "forward-failed": 2,
		"forward-busy": 0, "refused": 0, "notimp": 0, "malformed": 0, "dropped": 0,
	}, res.Stats())
}

// dnsHandlerOf is the switch's DNS handler for res, as the daemon sets it.
func dnsHandlerOf(res *dns.Resolver) vswitch.DNSHandler {
	return func(n string, q []byte, tcp bool, reply func([]byte)) {
		tr := dns.UDP
		if tcp {
			tr = dns.TCP
		}
		res.Handle(n, q, tr, reply)
	}
}

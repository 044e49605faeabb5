package vswitch_test

import (
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/dns"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/vswitch"
)

// TestDNSKernelTCP: Debian's dig in a container asks the gateway over TCP
// (+tcp), IPv4 and IPv6, and gets its answers; a name with 60 addresses,
// asked over UDP without EDNS0 (a 512-byte limit, as glibc's stub
// resolver asks), comes back truncated and dig's own retry over TCP gets
// all 60. Before, the switch dropped the SYN and such a lookup failed.
// Every connection is closed at the end.
func TestDNSKernelTCP(t *testing.T) {
	nettest.NeedRoot(t)
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("needs dig (Debian's dnsutils, which .ci/run installs):", err)
	}
	r := newKernelRig(t, 1)
	r.natContainer("c1", dnsC1+"/24", dnsGW4)
	r.host("c1", dnsC1v6+"/64", "", dnsGW6)
	require.NoError(t, r.s.Reconfigure(vswitch.Config{
		Bridges:    []vswitch.Bridge{{Name: "bra", Ports: []vswitch.Port{{Name: "c1"}}}},
		Interfaces: []vswitch.Interface{{Name: "ra", Bridge: "bra", Addrs: []string{dnsGW4 + "/24", dnsGW6 + "/64"}}},
		DNS:        &vswitch.DNS{Interfaces: []string{"ra"}},
	}))
	reg := dns.NewRegistry()
	many := make([]netip.Addr, 60)
	var want []string
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{10, 54, 0, byte(i + 1)})
		want = append(want, many[i].String())
	}
	require.NoError(t, reg.SetNetwork("ra", dns.Network{Endpoints: map[string][]netip.Addr{
		"c2": {netip.MustParseAddr(dnsC2)}, "many": many}}))
	res := dns.New(reg, dns.Config{})
	t.Cleanup(res.Close)
	r.s.SetDNSHandler(dnsHandlerOf(res))
	require.NoError(t, r.s.Start())

	require.Equal(t, []string{dnsC2}, r.digShort("c1", "+tcp", "@"+dnsGW4, "c2"))
	require.Equal(t, []string{dnsC2}, r.digShort("c1", "+tcp", "@"+dnsGW6, "c2"))

	// UDP without EDNS0: truncated, then dig asks again over TCP.
	out, err := r.dig("c1", 3, "+noedns", "@"+dnsGW4, "many")
	require.NoError(t, err, out)
	require.Contains(t, out, "Truncated, retrying in TCP mode", "the UDP answer was truncated")
	got := r.digShort("c1", "+noedns", "@"+dnsGW4, "many")
	slices.Sort(got)
	slices.Sort(want)
	require.Equal(t, want, got, "all 60 addresses, over TCP")

	st := r.s.DNSStats()
	require.GreaterOrEqual(t, st.TCPAccepted, uint64(4))
	require.Equal(t, st.TCPAccepted, st.TCPQueries, "one query per dig connection")
	require.Zero(t, st.TCPRefused)
	require.Eventually(t, func() bool { return r.s.DNSStats().TCPConnections == 0 }, 5*time.Second, 50*time.Millisecond,
		"dig's connections closed: %s", fmt.Sprint(r.s.DNSStats()))
}

package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

func TestEndpointLayouts(t *testing.T) {
	print := func(cmd string, v any) string { return human(t, cmd, v) }
	out := print("endpoint/show", []ctl.EndpointView{{Network: "pods", ContainerID: "0123456789abcdef", IfName: "eth0",
		Port: "vsc0123456789ab", Bridge: "br0", MAC: "02:00:00:00:00:01", Addrs: []string{"10.0.0.2/24", "fd00::2/64"}, State: "up"}})
	require.Contains(t, out, "0123456789ab ")
	require.NotContains(t, out, "0123456789abcdef", "long container IDs are shortened")
	require.Contains(t, out, "10.0.0.2/24,fd00::2/64")
	require.Contains(t, print("endpoint/show", []ctl.EndpointView{}), "no endpoints")

	out = print("ipam/show", []ctl.PoolView{{Name: "pods", Ranges: []ctl.RangeView{{Subnet: "10.0.0.0/24", Start: "10.0.0.2", End: "10.0.0.254",
		Gateway: "10.0.0.1", Size: "253", Used: 2, BlockBits: 26, Blocks: []string{"10.0.0.0/26"}}},
		Leases: []ctl.LeaseView{{Owner: "cni/pods/c1/eth0", Addrs: []string{"10.0.0.2/24"}}}}})
	for _, s := range []string{"pool pods", "10.0.0.0/24", "range 10.0.0.2-10.0.0.254", "gateway 10.0.0.1", "used 2 of 253", "blocks /26 held: 10.0.0.0/26", "lease 10.0.0.2/24", "cni/pods/c1/eth0"} {
		require.Contains(t, out, s)
	}
	require.Contains(t, print("ipam/show", []ctl.PoolView{}), "no address pools")
	// ipam/alloc printed JSON.
	require.Equal(t, "lease 10.0.0.5/24,fd00::5/64  web-1\n", print("ipam/alloc", ctl.LeaseView{Owner: "web-1", Addrs: []string{"10.0.0.5/24", "fd00::5/64"}}))
}

func TestSvcDNSLayouts(t *testing.T) {
	print := func(cmd string, v any) string { return human(t, cmd, v) }
	out := print("svc/show", []ctl.SvcView{{Name: "web", Proto: "tcp", VIP: "fd00:5::10", Port: 80, NewFlows: 7,
		Backends: []ctl.SvcBackendView{{Addr: "fd00:1::5", Port: 8080, Weight: 2, NewFlows: 5, Share: 0.5}, {Addr: "fd00:1::6", Port: 8080, Weight: 2, Drained: true}}}})
	for _, s := range []string{"service web tcp [fd00:5::10]:80", "new flows 7", "[fd00:1::5]:8080", "50.0%", "drained"} {
		require.Contains(t, out, s)
	}
	out = print("dns/show", ctl.DNSShowView{Networks: []ctl.DNSNetworkView{{Interface: "ra", Domain: "ra.vecswitch.",
		Names: []ctl.DNSNameView{{Name: "db", Kind: "endpoint", Addrs: []string{"10.1.0.5"}}}}}, Resolver: map[string]uint64{"answered": 3, "refused": 0},
		Punt: ctl.DNSPuntView{Punted: 3, Replies: 3}})
	for _, s := range []string{"dns ra domain ra.vecswitch. upstreams none", "db", "10.1.0.5", "answered 3", "punted 3, replies 3"} {
		require.Contains(t, out, s)
	}
	require.NotContains(t, out, "refused 0")
	require.NotContains(t, out, "tcp", "no TCP line before any DNS over TCP")
	out = print("dns/show", ctl.DNSShowView{Networks: []ctl.DNSNetworkView{}, Punt: ctl.DNSPuntView{TCPConnections: 1, TCPAccepted: 2, TCPQueries: 2}})
	require.Contains(t, out, "tcp      connections 1, accepted 2, refused when full 0, resets 0, retransmits 0, queries 2")
}

package vswitch

import (
	"net"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

func proxyConfig() Config {
	return Config{
		Interfaces: []Interface{
			{Name: "ra", Port: "a", MAC: macRA, ProxyARP: true},
			{Name: "rb", Port: "b", MAC: macRB, ProxyARP: true},
		},
		Routes: []Route{
			{Prefix: "10.5.0.2/32", Via: []NextHop{{Interface: "ra"}}},
			{Prefix: "fd05::2/128", Via: []NextHop{{Interface: "ra"}}},
			{Prefix: "10.5.9.3/32", Via: []NextHop{{Interface: "rb"}}},
			{Prefix: "fd05::3/128", Via: []NextHop{{Interface: "rb"}}},
		},
	}
}

// TestProxyARP: a proxy-ARP interface on a routed port answers ARP for any
// address but the sender's own, never a probe from 0.0.0.0, learns the
// sender, resolves a next hop from the link-local gateway 169.254.1.1
// (fe80::1 for IPv6) when it has no address of its own, and drops packets
// whose source is not the container's.
func TestProxyARP(t *testing.T) {
	r := newRig(t, Options{})
	r.attach("a", "b")
	require.NoError(t, r.s.Reconfigure(proxyConfig()))

	r.send("a", serializeARPRequest("10.5.0.2", "169.254.1.1"))
	p := decodePkt(t, only(t, r.recv(), "a", 1)[0])
	rep := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	require.EqualValues(t, 2, rep.Operation)
	require.Equal(t, macRA, net.HardwareAddr(rep.SourceHwAddress).String())
	require.Equal(t, "169.254.1.1", net.IP(rep.SourceProtAddress).String())
	r.s.Poll()
	require.Contains(t, r.s.Neighbors(), NeighborEntry{Interface: "ra", Addr: "10.5.0.2", MAC: "02:00:00:00:00:0c"})

	r.send("a", serializeARPRequest("10.5.0.2", "10.77.1.1")) // any address
	require.Len(t, only(t, r.recv(), "a", 1), 1)
	r.send("a", serializeARPRequest("10.5.0.2", "10.5.0.2")) // its own (gratuitous)
	require.Empty(t, r.recv())
	r.send("a", serializeARPRequest("0.0.0.0", "10.5.0.9")) // duplicate address probe
	require.Empty(t, r.recv())

	// Routed from a to b's container, not resolved yet: the ARP request
	// goes out of b from 169.254.1.1.
	r.send("a", pkt4(macRA, "02:00:00:00:00:0c", "10.5.0.2", "10.5.9.3", 9, 1, 18, false))
	p = decodePkt(t, only(t, r.recv(), "b", 1)[0])
	req := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	require.Equal(t, "10.5.9.3", net.IP(req.DstProtAddress).String())
	require.Equal(t, "169.254.1.1", net.IP(req.SourceProtAddress).String())
	require.Equal(t, macRB, net.HardwareAddr(req.SourceHwAddress).String())

	// IPv6: the solicitation goes out from fe80::1.
	r.send("a", pkt6(macRA, "02:00:00:00:00:0c", "fd05::2", "fd05::3", 9, 1, 18))
	p = decodePkt(t, only(t, r.recv(), "b", 1)[0])
	ns, ok := p.Layer(layers.LayerTypeICMPv6NeighborSolicitation).(*layers.ICMPv6NeighborSolicitation)
	require.True(t, ok, "no NS: %v", p)
	require.Equal(t, "fd05::3", ns.TargetAddress.String())
	require.Equal(t, "fe80::1", p.Layer(layers.LayerTypeIPv6).(*layers.IPv6).SrcIP.String())

	// Sources not the container's (no route through its interface) are
	// dropped at the port, before routing or NAT; so are IPv6 ones.
	r.send("a", pkt4(macRA, "02:00:00:00:00:0c", "10.5.0.7", "10.5.9.3", 9, 1, 18, false))
	r.send("a", pkt6(macRA, "02:00:00:00:00:0c", "fd05::7", "fd05::3", 9, 1, 18))
	require.Empty(t, r.recv())
	require.Equal(t, uint64(2), allDrops(r.s)[nodeL2Input+"/spoofed-source"])

	// A bridge interface cannot be proxy ARP.
	cfg := proxyConfig()
	cfg.Bridges = []Bridge{{Name: "br", Ports: []Port{{Name: "c"}}}}
	cfg.Interfaces = append(cfg.Interfaces, Interface{Name: "rc", Bridge: "br", ProxyARP: true})
	require.ErrorContains(t, r.s.Reconfigure(cfg), "proxy_arp")
}

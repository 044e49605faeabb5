package daemon

import (
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
	"github.com/vecswitch/vecswitch/vswitch"
)

// guardUDP4 is an Ethernet/IPv4/UDP broadcast from MAC src and IP srcIP.
func guardUDP4(src, srcIP string) []byte {
	hw, _ := net.ParseMAC(src)
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(srcIP), DstIP: net.IPv4(10, 9, 0, 99)}
	udp := &layers.UDP{SrcPort: 1, DstPort: 9}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		panic(err)
	}
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: hw, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeIPv4}, ip, udp, gopacket.Payload(make([]byte, 20)))
	if err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// guardDrops is the switch's l2-input drop counter for reason.
func guardDrops(d *Daemon, reason string) uint64 {
	for _, c := range d.sw.Runtime() {
		if c.Name != "l2-input" {
			continue
		}
		for _, dr := range c.Drops {
			if dr.Reason == reason {
				return dr.Packets
			}
		}
	}
	return 0
}

func guardPort(t *testing.T, d *Daemon, name string) vswitch.Port {
	t.Helper()
	for _, b := range d.sw.Config().Bridges {
		for _, p := range b.Ports {
			if p.Name == name {
				return p
			}
		}
	}
	t.Fatalf("no port %s in the switch", name)
	return vswitch.Port{}
}

// TestPortGuardFromAddresses: a port made by add-port with port security
// and allowed_ips= sends only from them and its ip= addresses: a spoofed source (another
// container's, the router's, one off the subnet) is dropped and counted
// (l2-input/src-ip-not-allowed); ra_guard=off lets it advertise; an
// add-port port's ip= alone is no guard (it may be a router's: an
// uplink forwards other sources), nor is port security without
// addresses. The addresses are handed to the switch, not stored in the
// bridge port.
func TestPortGuardFromAddresses(t *testing.T) {
	mem := map[string]*memport.Port{}
	d := newMemPortDaemon(t, t.TempDir(), func(spec PortSpec) (ports.Port, error) {
		p, err := memport.New(memport.Config{Name: spec.Name})
		mem[spec.Name] = p
		return p, err
	})
	t.Cleanup(func() { d.Close() })
	const macC, macA = "02:00:00:00:00:0c", "02:00:00:00:00:0a"
	ok := func(cmd string, args ...string) {
		t.Helper()
		r := run(t, d, cmd, args...)
		require.True(t, r.OK, "%s %v: %+v", cmd, args, r.Error)
	}
	ok("add-br", "br0")
	ok("add-port", "br0", "c", "type=veth", "ip=10.9.0.12/24,fd00:9::12/64", "macs="+macC, "allowed_ips=10.9.0.12,fd00:9::12")
	ok("add-port", "br0", "a", "type=veth", "ip=10.9.0.13/24", "macs="+macA, "allowed_ips=10.9.0.100,192.168.0.0/16", "ra_guard=off")
	ok("add-port", "br0", "noaddr", "type=veth", "macs=02:00:00:00:00:0e")
	ok("add-port", "br0", "router", "type=veth", "ip=10.9.0.30/24", "macs=02:00:00:00:00:0f")
	ok("add-port", "br0", "o", "type=tap")

	c := guardPort(t, d, "c")
	require.Equal(t, []string{"10.9.0.12", "fd00:9::12"}, c.IPs, "with allowed_ips=, the port's own ip= is allowed too")
	require.Equal(t, []string{"10.9.0.12/32", "fd00:9::12/128"}, c.AllowedIPs)
	require.Nil(t, c.RAGuard)
	a := guardPort(t, d, "a")
	require.Equal(t, []string{"10.9.0.13"}, a.IPs)
	require.Empty(t, guardPort(t, d, "router").IPs, "add-port's ip= alone is not a guard (the port may be a router's)")
	require.Equal(t, []string{"10.9.0.100/32", "192.168.0.0/16"}, a.AllowedIPs)
	require.NotNil(t, a.RAGuard)
	require.False(t, *a.RAGuard)
	_, sp := d.state.port("c")
	require.Empty(t, sp.IPs, "derived, not stored")

	// passes injects f on port in and reports whether o got it.
	passes := func(in string, f []byte) bool {
		t.Helper()
		require.Equal(t, 1, mem[in].Inject(0, f))
		d.sw.Poll()
		for n, p := range mem {
			if n != "o" {
				p.CollectAll()
			}
		}
		return len(mem["o"].CollectAll()) == 1
	}
	require.True(t, passes("c", guardUDP4(macC, "10.9.0.12")))
	require.True(t, passes("c", guardUDP4(macC, "0.0.0.0")))
	for _, spoof := range []string{"10.9.0.13", "10.9.0.1", "10.9.0.255", "127.0.0.1", "203.0.113.5"} {
		require.False(t, passes("c", guardUDP4(macC, spoof)), spoof)
	}
	require.EqualValues(t, 5, guardDrops(d, "src-ip-not-allowed"))
	require.True(t, passes("a", guardUDP4(macA, "10.9.0.100")))
	require.True(t, passes("a", guardUDP4(macA, "192.168.44.5")))
	require.True(t, passes("a", guardUDP4(macA, "10.9.0.13")), "its own ip= (before, only allowed_ips= was: the port could not even ARP for its address)")
	require.False(t, passes("a", guardUDP4(macA, "10.9.0.12")))
	require.True(t, passes("noaddr", guardUDP4("02:00:00:00:00:0e", "203.0.113.5")), "no addresses: MAC port security only")
	require.True(t, passes("router", guardUDP4("02:00:00:00:00:0f", "203.0.113.5")), "add-port ip= without allowed_ips=: a router forwards other sources")
	require.EqualValues(t, 6, guardDrops(d, "src-ip-not-allowed"))

	// set-port changes them on a running port.
	ok("set-port", "c", "allowed_ips=203.0.113.0/24", "ra_guard=off")
	require.True(t, passes("c", guardUDP4(macC, "203.0.113.5")))
	c = guardPort(t, d, "c")
	require.Equal(t, []string{"203.0.113.0/24"}, c.AllowedIPs)
	require.NotNil(t, c.RAGuard)
	require.False(t, *c.RAGuard)
	ok("set-port", "c", "allowed_ips=10.9.0.12,fd00:9::12", "ra_guard=on")
	require.False(t, passes("c", guardUDP4(macC, "203.0.113.5")))
	c = guardPort(t, d, "c")
	require.Equal(t, []string{"10.9.0.12/32", "fd00:9::12/128"}, c.AllowedIPs)
	require.Nil(t, c.RAGuard)
	r0 := run(t, d, "set-port", "c", "ra_guard=maybe")
	requireCode(t, r0, ctl.CodeInvalid)

	// Bad values are refused, naming the port; nothing is added.
	r := run(t, d, "add-port", "br0", "b", "type=veth", "ip=10.9.0.14/24", "macs=02:00:00:00:00:0b", "allowed_ips=10.9.0.5/24")
	requireCode(t, r, ctl.CodeInvalid)
	require.Contains(t, r.Error.Message, `port "b", allowed IP: 10.9.0.5/24`)
	r = run(t, d, "add-port", "br0", "b", "type=veth", "ra_guard=maybe")
	requireCode(t, r, ctl.CodeInvalid)
	require.Contains(t, r.Error.Message, "ra_guard=maybe: want on or off")
	p, _ := d.state.port("b")
	require.Nil(t, p)
}

// TestSwitchBridgesAddresses: the switch's bridge ports get the
// addresses of their ip= option and of their endpoints (a peer=here
// endpoint's port has no ip=), once each, and the guard options; the
// state's bridges are left as they are.
func TestSwitchBridgesAddresses(t *testing.T) {
	s := State{
		Bridges: []vswitch.Bridge{{Name: "br0", Ports: []vswitch.Port{{Name: "p"}, {Name: "q"}, {Name: "r"}}}},
		Ports: []PortSpec{
			{Name: "p", Bridge: "br0", Type: TypeVeth, Options: map[string]string{"ip": "10.0.0.2/24, fd00::2/64", "allowed_ips": "10.1.0.0/16", "ra_guard": "off"}},
			{Name: "q", Bridge: "br0", Type: TypeVeth, Options: map[string]string{"peer": "here", "ra_guard": "on"}},
			{Name: "r", Bridge: "br0", Type: TypeTap},
		},
		Endpoints: []ctl.EndpointView{
			{Port: "p", Addrs: []string{"10.0.0.2/24"}},
			{Port: "q", Addrs: []string{"10.0.0.3/24", "fd00::3/64"}},
		},
	}
	got := s.switchBridges()
	off := false
	require.Equal(t, []vswitch.Port{
		{Name: "p", IPs: []string{"10.0.0.2/24", "fd00::2/64"}, AllowedIPs: []string{"10.1.0.0/16"}, RAGuard: &off},
		{Name: "q", IPs: []string{"10.0.0.3/24", "fd00::3/64"}},
		{Name: "r"},
	}, got[0].Ports)
	require.Equal(t, []vswitch.Port{{Name: "p"}, {Name: "q"}, {Name: "r"}}, s.Bridges[0].Ports)
}

// TestSetGuardOptions: set-port's guard options change the stored ones:
// allowed_ips= with no address clears them, ra_guard=on is the default.
func TestSetGuardOptions(t *testing.T) {
	spec := PortSpec{Name: "p"}
	require.NoError(t, setGuardOptions(&spec, map[string]string{"allowed_ips": "10.1.0.0/16", "ra_guard": "off", "vlan": "5"}))
	require.Equal(t, map[string]string{"allowed_ips": "10.1.0.0/16", "ra_guard": "off"}, spec.Options)
	require.NoError(t, setGuardOptions(&spec, map[string]string{"allowed_ips": "", "ra_guard": "on"}))
	require.Empty(t, spec.Options)
	err := setGuardOptions(&spec, map[string]string{"ra_guard": "yes"})
	require.Error(t, err)
	require.Contains(t, err.Error(), "ra_guard=yes")
}

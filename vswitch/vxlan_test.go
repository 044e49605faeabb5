package vswitch

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// The VXLAN rig: bridge ov with container port c (VLAN 0) and VNI 100 to
// the remote VTEP 192.168.9.2; the underlay is the routed port u with
// interface ru 192.168.9.1/24, the local VTEP; the remote's MAC is a
// static neighbor.
const (
	macRU     = "02:00:00:00:0e:01"
	macRemote = "02:00:00:00:0e:02"
	macC      = "02:00:00:00:00:c1"
	macFar    = "02:00:00:00:00:f1"
)

func testVXLANConfig() Config {
	return Config{
		Bridges: []Bridge{{Name: "ov", Ports: []Port{{Name: "c"}},
			VXLAN: []VNI{{VNI: 100, Remotes: []string{"192.168.9.2", "192.168.9.3"}}}}},
		Interfaces: []Interface{{Name: "ru", Port: "u", MAC: macRU, Addrs: []string{"192.168.9.1/24"}}},
		Neighbors: []Neighbor{{Interface: "ru", Addr: "192.168.9.2", MAC: macRemote},
			{Interface: "ru", Addr: "192.168.9.3", MAC: "02:00:00:00:0e:03"}},
		VTEP: &VTEP{Addr: "192.168.9.1"},
	}
}

func newVXLANRig(t *testing.T) *rig {
	r := newRig(t, Options{})
	r.attach("c", "u")
	require.NoError(t, r.s.Reconfigure(testVXLANConfig()))
	return r
}

// vxlanPacket is what the remote VTEP src sends: inner frame in VNI vni.
func vxlanPacket(src string, vni uint32, inner []byte) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP("192.168.9.1")}
	udp := &layers.UDP{SrcPort: 50000, DstPort: 4789}
	must(udp.SetNetworkLayerForChecksum(ip))
	return serialize(&layers.Ethernet{DstMAC: mustMAC(macRU), SrcMAC: mustMAC(macRemote), EthernetType: layers.EthernetTypeIPv4},
		ip, udp, &layers.VXLAN{ValidIDFlag: true, VNI: vni}, gopacket.Payload(inner))
}

func TestVXLANEncapFlood(t *testing.T) {
	r := newVXLANRig(t)
	in := frame(bcast(), macC, -1)
	r.send("c", in)
	out := only(t, r.recv(), "u", 2) // head-end replication to both remotes
	dsts := map[string]bool{}
	for _, b := range out {
		p := decodePkt(t, b)
		eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		require.Equal(t, macRU, eth.SrcMAC.String())
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		ipv4ChecksumOK(t, ip)
		require.Equal(t, "192.168.9.1", ip.SrcIP.String())
		require.EqualValues(t, 64, ip.TTL)
		dsts[ip.DstIP.String()] = true
		udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		require.EqualValues(t, 4789, udp.DstPort)
		require.GreaterOrEqual(t, int(udp.SrcPort), 49152)
		vx := p.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
		require.EqualValues(t, 100, vx.VNI)
		require.Equal(t, in, vx.Payload, "the inner frame is carried unchanged")
	}
	require.Equal(t, map[string]bool{"192.168.9.2": true, "192.168.9.3": true}, dsts)
}

func TestVXLANDecapLearnAndUnicast(t *testing.T) {
	r := newVXLANRig(t)
	inner := frame(macC, macFar, -1)
	r.send("u", vxlanPacket("192.168.9.2", 100, inner))
	got := only(t, r.recv(), "c", 1)
	require.Equal(t, inner, got[0], "decapsulated without change")
	r.s.SyncLearning()
	found := false
	for _, e := range r.s.FDB() {
		if e.MAC == macFar {
			found = true
			require.Equal(t, "192.168.9.2", e.VTEP)
			require.Equal(t, "vxlan:192.168.9.2", e.Port)
		}
	}
	require.True(t, found, "far MAC learned behind its VTEP: %+v", r.s.FDB())
	// Known unicast goes to that VTEP only.
	r.send("c", frame(macFar, macC, -1))
	out := only(t, r.recv(), "u", 1)
	require.Equal(t, "192.168.9.2", decodePkt(t, out[0]).Layer(layers.LayerTypeIPv4).(*layers.IPv4).DstIP.String())

	// Broadcast from a tunnel reaches local ports, never other tunnels.
	r.send("u", vxlanPacket("192.168.9.2", 100, frame(bcast(), macFar, -1)))
	require.Equal(t, []string{"c"}, keys(r.recv()))

	before := allDrops(r.s)
	r.send("u", vxlanPacket("192.168.9.2", 101, inner))
	r.send("u", vxlanPacket("192.168.9.7", 100, inner))
	require.Empty(t, r.recv())
	require.Equal(t, map[string]uint64{nodeVXLANDecap + "/unknown-vni": 1, nodeVXLANDecap + "/unknown-vtep": 1}, dropsSince(r.s, before))
	requireNoLeak(t, r.s)
}

func TestVXLANStaticRemoteMAC(t *testing.T) {
	r := newVXLANRig(t)
	cfg := testVXLANConfig()
	cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: macFar, VTEP: "192.168.9.3"}}
	require.NoError(t, r.s.Reconfigure(cfg))
	r.send("c", frame(macFar, macC, -1))
	out := only(t, r.recv(), "u", 1)
	require.Equal(t, "192.168.9.3", decodePkt(t, out[0]).Layer(layers.LayerTypeIPv4).(*layers.IPv4).DstIP.String())
	cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: macFar, VTEP: "192.168.9.9"}}
	require.Error(t, r.s.Reconfigure(cfg))
}

func TestVXLANPathAllocations(t *testing.T) {
	r := newVXLANRig(t)
	r.send("u", vxlanPacket("192.168.9.2", 100, frame(macC, macFar, -1)))
	r.send("c", frame(macFar, macC, -1))
	r.recv()
	for _, q := range r.ports {
		q.SetSink(true)
	}
	w := r.s.Workers()[0]
	for _, tc := range []struct {
		port  string
		frame []byte
	}{
		{"c", frame(macFar, macC, -1)},
		{"u", vxlanPacket("192.168.9.2", 100, frame(macC, macFar, -1))},
	} {
		frames := repeatFrame(64, tc.frame)
		allocs := testing.AllocsPerRun(50, func() {
			r.ports[tc.port].Inject(0, frames...)
			w.Poll()
		})
		require.Zero(t, allocs, "port %s", tc.port)
	}
	requireNoLeak(t, r.s)
}

// FuzzVXLANDecap sends arbitrary VXLAN headers and inner frames from a
// remote VTEP: the switch never panics, leaks no buffer, and still
// decapsulates a good packet afterwards.
func FuzzVXLANDecap(f *testing.F) {
	good := vxlanPacket("192.168.9.2", 100, frame(macC, macFar, -1))
	f.Add(good[42:])
	f.Add(vxlanPacket("192.168.9.2", 100, frame(bcast(), macFar, 5))[42:])
	f.Add([]byte{0, 0, 0, 0, 0, 0, 100, 0})
	r := newVXLANRig(&testing.T{})
	f.Cleanup(func() { r.s.Close() })
	f.Fuzz(func(t *testing.T, vx []byte) {
		r.t = t
		if len(vx) > 1400 {
			vx = vx[:1400]
		}
		// Outer Ethernet/IPv4/UDP from the remote VTEP, then the fuzz bytes
		// as the VXLAN header and inner frame.
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP("192.168.9.2"), DstIP: net.ParseIP("192.168.9.1")}
		udp := &layers.UDP{SrcPort: 50000, DstPort: 4789}
		must(udp.SetNetworkLayerForChecksum(ip))
		pkt := serialize(&layers.Ethernet{DstMAC: mustMAC(macRU), SrcMAC: mustMAC(macRemote), EthernetType: layers.EthernetTypeIPv4},
			ip, udp, gopacket.Payload(vx))
		r.send("u", pkt)
		r.recv()
		r.send("c", frame(bcast(), macC, -1)) // c's MAC back on c, should the input have moved it
		r.recv()
		r.send("u", good)
		require.Len(t, r.recv()["c"], 1, "a good packet is still decapsulated")
		requireNoLeak(t, r.s)
	})
}

// TestOverlayControlPlaneState: remotes and MACs a control plane sets are
// used next to the configuration, and local endpoints are reported.
func TestOverlayControlPlaneState(t *testing.T) {
	r := newVXLANRig(t)
	cfg := testVXLANConfig()
	cfg.Neighbors = append(cfg.Neighbors, Neighbor{Interface: "ru", Addr: "192.168.9.4", MAC: "02:00:00:00:0e:04"})
	require.NoError(t, r.s.Reconfigure(cfg))
	require.NoError(t, r.s.SetOverlayRemotes(100, []netip.Addr{netip.MustParseAddr("192.168.9.4"), netip.MustParseAddr("192.168.9.3")}))
	r.send("c", frame(bcast(), macC, -1))
	require.Len(t, r.recv()["u"], 3, "flooded to 2 configured + 1 more remote")
	far, _ := parseMAC(macFar)
	require.NoError(t, r.s.SetOverlayEndpoint(100, far, netip.MustParseAddr("192.168.9.4")))
	r.send("c", frame(macFar, macC, -1))
	out := only(t, r.recv(), "u", 1)
	require.Equal(t, "192.168.9.4", decodePkt(t, out[0]).Layer(layers.LayerTypeIPv4).(*layers.IPv4).DstIP.String())
	require.NoError(t, r.s.DeleteOverlayEndpoint(100, far))
	r.send("c", frame(macFar, macC, -1))
	require.Len(t, r.recv()["u"], 3, "unknown again: flooded")
	c, _ := parseMAC(macC)
	require.Contains(t, r.s.LocalEndpoints(), LocalEndpoint{VNI: 100, MAC: c})
	require.NoError(t, r.s.SetOverlayRemotes(100, nil))
	r.send("c", frame(bcast(), macC, -1))
	require.Len(t, r.recv()["u"], 2)
	requireNoLeak(t, r.s)
}

// TestVXLANTooBig: a frame that would not fit the underlay MTU once
// encapsulated is not sent; an IPv4 DF or IPv6 sender gets ICMP
// fragmentation needed / packet too big with the overlay's MTU, from the
// destination it was sending to.
func TestVXLANTooBig(t *testing.T) {
	r := newRig(t, Options{})
	r.attach("c", "u")
	cfg := testVXLANConfig()
	cfg.Interfaces[0].MTU = 1000
	cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: macFar, VTEP: "192.168.9.2"}}
	require.NoError(t, r.s.Reconfigure(cfg))
	r.send("c", frame(bcast(), macC, -1))
	r.recv()
	small := pkt4(macFar, macC, "10.5.0.1", "10.5.0.2", 64, 1, 900, true)
	r.send("c", small)
	only(t, r.recv(), "u", 1)
	big := pkt4(macFar, macC, "10.5.0.1", "10.5.0.2", 64, 1, 1000, true)
	r.send("c", big)
	p := decodePkt(t, only(t, r.recv(), "c", 1)[0])
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	require.Equal(t, macC, eth.DstMAC.String())
	require.Equal(t, macFar, eth.SrcMAC.String())
	ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	ipv4ChecksumOK(t, ip)
	require.Equal(t, "10.5.0.2", ip.SrcIP.String())
	require.Equal(t, "10.5.0.1", ip.DstIP.String())
	ic := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	require.EqualValues(t, 3, ic.TypeCode.Type())
	require.EqualValues(t, 4, ic.TypeCode.Code())
	require.EqualValues(t, 1000-36-14, ic.Seq, "the inner IP MTU")
	// Without DF: dropped and counted, no error.
	before := allDrops(r.s)
	r.send("c", pkt4(macFar, macC, "10.5.0.1", "10.5.0.2", 64, 1, 1000, false))
	require.Empty(t, r.recv())
	require.Equal(t, map[string]uint64{nodeVXLANEncap + "/too-big": 1}, dropsSince(r.s, before))
	// IPv6: packet too big.
	r.send("c", pkt6(macFar, macC, "fd05::1", "fd05::2", 64, 1, 1000))
	p = decodePkt(t, only(t, r.recv(), "c", 1)[0])
	ic6 := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	require.EqualValues(t, 2, ic6.TypeCode.Type())
	require.Equal(t, "fd05::2", p.Layer(layers.LayerTypeIPv6).(*layers.IPv6).SrcIP.String())
	requireNoLeak(t, r.s)
}

// TestTraceVXLAN: a traced frame shows its way through encapsulation (and
// a traced VXLAN packet through decapsulation).
func TestTraceVXLAN(t *testing.T) {
	r := newVXLANRig(t)
	r.send("u", vxlanPacket("192.168.9.2", 100, frame(macC, macFar, -1))) // learn far
	r.send("c", frame(bcast(), macC, -1))
	r.recv()
	require.NoError(t, r.s.TraceAdd("c", 1, nil))
	r.send("c", frame(macFar, macC, -1))
	r.recv()
	trs := r.s.Traces()
	require.Len(t, trs, 1)
	// The uplink is a routed port: ip4-forward stages the frame itself.
	require.Equal(t, []string{nodeL2Input, nodeL2Fwd, nodeL2Output, nodeVXLANEncap, nodeIP4Forward, "port-tx"}, hopPath(trs[0]))
	require.Contains(t, trs[0].Hops[3].Detail, "to VTEP 192.168.9.2 VNI 100")
	require.Equal(t, "u", trs[0].Hops[5].TxPort)

	require.NoError(t, r.s.TraceAdd("u", 1, nil))
	r.send("u", vxlanPacket("192.168.9.2", 100, frame(macC, macFar, -1)))
	r.recv()
	trs = r.s.Traces()
	require.Len(t, trs, 1)
	require.Equal(t, []string{nodeL2Input, nodeIP4Forward, nodeIP4Local, nodeVXLANDecap, nodeL2Fwd, nodeL2Output, "port-tx"}, hopPath(trs[0]))
	require.Contains(t, trs[0].Hops[3].Detail, "VNI 100 from vxlan:192.168.9.2")
}

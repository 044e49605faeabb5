package vswitch

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
)

// mtuPort is a memory port that reports the longest frame of a port of
// MTU mtu as the daemon's ports do (MTU+18: Ethernet header and room for
// an 802.1Q tag).
type mtuPort struct {
	*memport.Port
	mtu   int
	noTag bool // MTU+14, as a tap without Config.VLAN reports it
}

func (p mtuPort) Info() ports.Info {
	i := p.Port.Info()
	i.MaxFrame = p.mtu + ethHdrLen + vlanTagLen
	if p.noTag {
		i.MaxFrame -= vlanTagLen
	}
	return i
}

// attachMTU adds memory port name with MTU mtu.
func (r *rig) attachMTU(name string, mtu int) {
	r.t.Helper()
	p, err := memport.New(memport.Config{Name: name, TxQueues: len(r.s.workers), RxQueues: len(r.s.workers)})
	require.NoError(r.t, err)
	require.NoError(r.t, r.s.AddPort(mtuPort{p, mtu, false}))
	r.ports[name] = p
}

func ifaceMTU(t *testing.T, s *Switch, name string) InterfaceMTU {
	t.Helper()
	for _, m := range s.InterfaceMTUs() {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no interface %s in %+v", name, s.InterfaceMTUs())
	return InterfaceMTU{}
}

// icmpNextHopMTU reads the MTU an ICMP frag-needed (IPv4) or packet-too-
// big (IPv6) frame quotes, and checks where it goes.
func icmpNextHopMTU(t *testing.T, fr []byte, dstMAC string, v6 bool) int {
	t.Helper()
	p := decodePkt(t, fr)
	require.Equal(t, dstMAC, p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet).DstMAC.String())
	if v6 {
		ic := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
		require.EqualValues(t, 2, ic.TypeCode.Type(), "packet too big")
		return int(binary.BigEndian.Uint32(ic.Payload[:4]))
	}
	ipv4ChecksumOK(t, p.Layer(layers.LayerTypeIPv4).(*layers.IPv4))
	ic := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	require.EqualValues(t, 3, ic.TypeCode.Type())
	require.EqualValues(t, 4, ic.TypeCode.Code(), "fragmentation needed")
	return int(ic.Seq)
}

// TestRoutedEgressPortMTU: a router interface at 1500 on a bridge with a
// port at MTU 1400 routes as if its MTU were 1400, as a Linux bridge's
// MTU follows its smallest port: a 1450-byte IPv4 packet with DF gets
// fragmentation needed quoting 1400, one without DF is fragmented into
// pieces of at most 1400 bytes, an IPv6 one gets packet too big 1400.
// Before, the interface's own 1500 let them through to l2-output, which
// dropped them (too-big) with no error and no fragment. A port in another
// VLAN of the bridge does not count, and the effective MTU follows the
// port when it comes back with its MTU changed.
func TestRoutedEgressPortMTU(t *testing.T) {
	r := newRig(t, Options{})
	r.attach("a", "b2")
	r.attachMTU("b", 1400)
	r.attachMTU("b7", 1200)
	cfg := testL3Config()
	cfg.Bridges[1].Ports = append(cfg.Bridges[1].Ports, Port{Name: "b7", VLAN: 7})
	cfg.Interfaces[1].MTU = 0 // rb: 1500
	require.NoError(t, r.s.Reconfigure(cfg))
	r.send("a", frame(bcast(), macA, -1))
	r.send("b", frame(bcast(), macB, -1))
	r.recv()

	require.Equal(t, InterfaceMTU{Name: "rb", MTU: 1500, Effective: 1400, LimitedBy: "b"}, ifaceMTU(t, r.s, "rb"))
	require.Equal(t, InterfaceMTU{Name: "ra", MTU: 1500, Effective: 1500}, ifaceMTU(t, r.s, "ra"))

	fits := pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 9, 1, 1400-28, true)
	r.send("a", fits)
	require.Len(t, only(t, r.recv(), "b", 1)[0], 14+1400, "a 1400-byte packet fits")

	big := pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 9, 1, 1450-28, true)
	before := allDrops(r.s)
	r.send("a", big)
	require.Equal(t, 1400, icmpNextHopMTU(t, only(t, r.recv(), "a", 1)[0], macA, false))
	require.Equal(t, map[string]uint64{nodeIP4Error + "/too-big": 1}, dropsSince(r.s, before), "no l2-output too-big")

	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 9, 1, 1450-28, false))
	frags := only(t, r.recv(), "b", 2)
	total := 0
	for _, f := range frags {
		require.LessOrEqual(t, len(f)-14, 1400)
		total += int(binary.BigEndian.Uint16(f[14+2:])) - 20
	}
	require.Equal(t, 1450-20, total, "the fragments carry the whole payload")

	r.send("a", pkt6(macRA, macA, "fd01::2", "fd02::2", 9, 1, 1450-48))
	require.Equal(t, 1400, icmpNextHopMTU(t, only(t, r.recv(), "a", 1)[0], macA, true))

	// The port comes back at 1500 (set-port mtu= re-attaches it): rb's
	// own MTU again.
	require.NoError(t, r.s.RemovePort("b"))
	r.attachMTU("b", 1500)
	require.Equal(t, InterfaceMTU{Name: "rb", MTU: 1500, Effective: 1500}, ifaceMTU(t, r.s, "rb"))
	r.send("b", frame(bcast(), macB, -1))
	r.recv()
	r.send("a", big)
	require.Len(t, only(t, r.recv(), "b", 1)[0], 14+1450)
	// And at 1300 now: so is rb's.
	require.NoError(t, r.s.RemovePort("b"))
	r.attachMTU("b", 1300)
	r.send("b", frame(bcast(), macB, -1))
	r.recv()
	r.send("a", big)
	require.Equal(t, 1300, icmpNextHopMTU(t, only(t, r.recv(), "a", 1)[0], macA, false))
	// A trunk carrying rb's VLAN counts too.
	r.attachMTU("t", 1280)
	cfg.Bridges[1].Ports = append(cfg.Bridges[1].Ports, trunk("t", 0, 7))
	require.NoError(t, r.s.Reconfigure(cfg))
	require.Equal(t, InterfaceMTU{Name: "rb", MTU: 1500, Effective: 1280, LimitedBy: "t"}, ifaceMTU(t, r.s, "rb"))
	requireNoLeak(t, r.s)
}

// TestRoutedPortEgressMTU: a routed port's interface follows its port's
// MTU.
func TestRoutedPortEgressMTU(t *testing.T) {
	r := newRig(t, Options{})
	r.attach("a")
	r.attachMTU("c", 1400)
	cfg := testL3Config()
	cfg.Bridges = cfg.Bridges[:1]
	cfg.Interfaces = []Interface{cfg.Interfaces[0], {Name: "rc", Port: "c", MAC: macRC, Addrs: []string{"10.3.0.1/24"}}}
	cfg.Neighbors = []Neighbor{{Interface: "ra", Addr: "10.1.0.2", MAC: macA}, {Interface: "rc", Addr: "10.3.0.2", MAC: macN(30)}}
	require.NoError(t, r.s.Reconfigure(cfg))
	require.Equal(t, InterfaceMTU{Name: "rc", MTU: 1500, Effective: 1400, LimitedBy: "c"}, ifaceMTU(t, r.s, "rc"))
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.3.0.2", 9, 1, 1450-28, true))
	require.Equal(t, 1400, icmpNextHopMTU(t, only(t, r.recv(), "a", 1)[0], macA, false))
	requireNoLeak(t, r.s)
}

// TestVXLANEgressPortMTU: the VTEP's interface (ru, 1500) on an underlay
// port at MTU 1400: a frame that would not fit 1400 once encapsulated
// gets fragmentation needed quoting the inner MTU 1400-50 (before, it was
// encapsulated to 1450 bytes and dropped by the underlay port's
// l2-output, too-big, with no error); one that fits is sent. A router
// interface on the overlay bridge has the overlay's MTU: a routed packet
// too big for the tunnels gets its error from the router.
func TestVXLANEgressPortMTU(t *testing.T) {
	r := newRig(t, Options{})
	r.attach("c", "x")
	r.attachMTU("u", 1400)
	cfg := testVXLANConfig()
	cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: macFar, VTEP: "192.168.9.2"}}
	cfg.Bridges = append(cfg.Bridges, Bridge{Name: "bx", Ports: []Port{{Name: "x"}}})
	cfg.Interfaces = append(cfg.Interfaces,
		Interface{Name: "ro", Bridge: "ov", MAC: "02:00:00:00:0f:01", Addrs: []string{"10.5.0.254/24"}},
		Interface{Name: "rx", Bridge: "bx", MAC: "02:00:00:00:0f:02", Addrs: []string{"10.6.0.1/24"}})
	cfg.Neighbors = append(cfg.Neighbors, Neighbor{Interface: "ro", Addr: "10.5.0.2", MAC: macFar},
		Neighbor{Interface: "rx", Addr: "10.6.0.2", MAC: macA})
	require.NoError(t, r.s.Reconfigure(cfg))
	r.send("c", frame(bcast(), macC, -1))
	r.send("x", frame(bcast(), macA, -1))
	r.recv()

	require.Equal(t, InterfaceMTU{Name: "ru", MTU: 1500, Effective: 1400, LimitedBy: "u"}, ifaceMTU(t, r.s, "ru"))
	ro := ifaceMTU(t, r.s, "ro")
	require.Equal(t, 1400-50, ro.Effective, "the overlay's: the underlay's less the VXLAN overhead")
	require.True(t, strings.HasPrefix(ro.LimitedBy, "vxlan:"), "limited by a remote VTEP: %+v", ro)

	r.send("c", pkt4(macFar, macC, "10.5.0.1", "10.5.0.2", 64, 1, 1350-28, true))
	out := only(t, r.recv(), "u", 1)
	require.Len(t, out[0], 14+1400, "encapsulated to the underlay port's MTU")

	before := allDrops(r.s)
	r.send("c", pkt4(macFar, macC, "10.5.0.1", "10.5.0.2", 64, 1, 1422-28, true))
	require.Equal(t, 1350, icmpNextHopMTU(t, only(t, r.recv(), "c", 1)[0], macC, false))
	require.Equal(t, map[string]uint64{nodeVXLANEncap + "/too-big": 1}, dropsSince(r.s, before), "no l2-output too-big")
	r.send("c", pkt6(macFar, macC, "fd05::1", "fd05::2", 64, 1, 1422-48))
	require.Equal(t, 1350, icmpNextHopMTU(t, only(t, r.recv(), "c", 1)[0], macC, true))
	// Without DF: counted, as for the interface's own MTU.
	before = allDrops(r.s)
	r.send("c", pkt4(macFar, macC, "10.5.0.1", "10.5.0.2", 64, 1, 1422-28, false))
	require.Empty(t, r.recv())
	require.Equal(t, map[string]uint64{nodeVXLANEncap + "/too-big": 1}, dropsSince(r.s, before))

	// Routed into the overlay: the router answers from rx.
	r.send("x", pkt4("02:00:00:00:0f:02", macA, "10.6.0.2", "10.5.0.2", 9, 1, 1400-28, true))
	p := decodePkt(t, only(t, r.recv(), "x", 1)[0])
	require.Equal(t, "10.6.0.1", p.Layer(layers.LayerTypeIPv4).(*layers.IPv4).SrcIP.String())
	require.EqualValues(t, 1350, p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4).Seq)
	r.send("x", pkt4("02:00:00:00:0f:02", macA, "10.6.0.2", "10.5.0.2", 9, 1, 1350-28, true))
	out = only(t, r.recv(), "u", 1)
	require.Len(t, out[0], 14+1400)
	require.Equal(t, net.HardwareAddr(mustMAC(macRemote)), net.HardwareAddr(out[0][:6]))
	requireNoLeak(t, r.s)
}

// TestEgressPortMTUNoTagRoom: a port reporting MTU+14 (a tap without
// Config.VLAN) at its interface's MTU does not lower it (l2-output takes
// the interface's full-size packets); one below it does, taken as 4
// bytes smaller than it is (its MaxFrame does not say it has no room for
// a tag).
func TestEgressPortMTUNoTagRoom(t *testing.T) {
	r := newRig(t, Options{})
	r.attach("a")
	for _, p := range []mtuPort{{mtu: 1500, noTag: true}, {mtu: 1400, noTag: true}} {
		m, err := memport.New(memport.Config{Name: "c", TxQueues: len(r.s.workers), RxQueues: len(r.s.workers)})
		require.NoError(t, err)
		p.Port = m
		require.NoError(t, r.s.AddPort(p))
		cfg := testL3Config()
		cfg.Bridges = cfg.Bridges[:1]
		cfg.Interfaces = []Interface{cfg.Interfaces[0], {Name: "rc", Port: "c", MAC: macRC, Addrs: []string{"10.3.0.1/24"}}}
		cfg.Neighbors = cfg.Neighbors[:1]
		require.NoError(t, r.s.Reconfigure(cfg))
		want := InterfaceMTU{Name: "rc", MTU: 1500, Effective: 1500}
		if p.mtu < 1500 {
			want.Effective, want.LimitedBy = p.mtu-4, "c"
		}
		require.Equal(t, want, ifaceMTU(t, r.s, "rc"), "MTU %d", p.mtu)
		require.NoError(t, r.s.RemovePort("c"))
	}
}

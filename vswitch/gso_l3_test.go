package vswitch

import (
	"bytes"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/memport"
)

// tcpFrameAt is an Ethernet/IPv4/TCP frame with DF set and complete
// checksums.
func tcpFrameAt(t testing.TB, dstMAC, srcMAC, src, dst string, ttl uint8, payload []byte) []byte {
	eth := &layers.Ethernet{SrcMAC: mustMAC(srcMAC), DstMAC: mustMAC(dstMAC), EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: ttl, Protocol: layers.IPProtocolTCP, Id: 100, Flags: layers.IPv4DontFragment,
		SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 5201, Seq: 1000, Ack: 1, ACK: true, PSH: true, Window: 512}
	require.NoError(t, tcp.SetNetworkLayerForChecksum(ip))
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, tcp, gopacket.Payload(payload)))
	return bytes.Clone(buf.Bytes())
}

// attachOffload adds memory ports that take large frames (Info.Offload).
func (r *rig) attachOffload(names ...string) {
	r.t.Helper()
	for _, n := range names {
		p, err := memport.New(memport.Config{Name: n, TxQueues: len(r.s.workers), RxQueues: len(r.s.workers), Offload: true})
		require.NoError(r.t, err)
		require.NoError(r.t, r.s.AddPort(p))
		r.ports[n] = p
	}
}

// injectGSO hands the switch frame as a GSO chain arriving on port in and
// runs it through the graph.
func (r *rig) injectGSO(frame []byte, mss uint16, in string) {
	r.t.Helper()
	entry, ok := r.s.graph.Index(nodeL2Input)
	require.True(r.t, ok)
	r.s.Workers()[0].Inject(entry, []pipeline.BufID{gsoChain(r.t, r, frame, mss, in)})
}

// checkSegments decodes TCP segments, checks their checksums and TTL and
// returns their payload joined; the first starts at sequence number seq.
func checkSegments(t *testing.T, segs [][]byte, mss int, ttl uint8, seq uint32) []byte {
	t.Helper()
	var joined []byte
	for i, f := range segs {
		p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		require.NotNil(t, tcp, "segment %d", i)
		require.LessOrEqual(t, len(tcp.Payload), mss)
		require.Equal(t, ttl, ip.TTL)
		ipv4ChecksumOK(t, ip)
		require.Equal(t, tcpChecksum(t, ip, tcp), tcp.Checksum, "segment %d TCP checksum", i)
		require.Equal(t, seq+uint32(len(joined)), tcp.Seq)
		joined = append(joined, tcp.Payload...)
	}
	return joined
}

func gsoL3Config(mtu int) Config {
	return Config{
		Bridges: []Bridge{
			{Name: "bra", Ports: []Port{{Name: "a"}}},
			{Name: "brb", Ports: []Port{{Name: "b"}, {Name: "c"}}},
		},
		Interfaces: []Interface{
			{Name: "ra", Bridge: "bra", MAC: macRA, Addrs: []string{"10.1.0.1/24"}},
			{Name: "rb", Bridge: "brb", MAC: macRB, Addrs: []string{"10.2.0.1/24"}, MTU: mtu},
		},
		Neighbors: []Neighbor{
			{Interface: "ra", Addr: "10.1.0.2", MAC: macA},
			{Interface: "rb", Addr: "10.2.0.2", MAC: macB},
			{Interface: "rb", Addr: "10.2.0.3", MAC: macC},
		},
	}
}

// TestGSORouted: a 20,000-byte GSO frame is routed whole (TTL and header
// checksum fixed once, the chain untouched) to a port that takes large
// frames, and cut after routing for one that does not; when its segments
// would exceed the MTU, or its TTL expires, or its next hop is
// unresolved, it is cut first and each segment takes the ordinary path
// (ICMP errors, glean). Nothing leaks; the routed path allocates nothing.
func TestGSORouted(t *testing.T) {
	r := newRig(t, Options{})
	r.attachOffload("a", "b")
	r.attach("c")
	require.NoError(t, r.s.Reconfigure(gsoL3Config(0)))
	r.send("a", frame(bcast(), macA, -1))
	r.send("b", frame(bcast(), macB, -1))
	r.send("c", frame(bcast(), macC, -1))
	r.recv()
	r.s.SyncLearning()
	bp := r.ports["b"]

	payload := make([]byte, 20000)
	for i := range payload {
		payload[i] = byte(i * 13)
	}
	// Whole, to the offload port.
	in := tcpFrameAt(t, macRA, macA, "10.1.0.2", "10.2.0.2", 64, payload)
	r.injectGSO(in, 1448, "a")
	got := bp.CollectOffloaded()
	require.Len(t, got, 1, "one large frame")
	o := got[0]
	require.Len(t, o.Data, len(in))
	require.EqualValues(t, pipeline.OffloadGSO|pipeline.OffloadCsumPartial, o.Offload)
	require.EqualValues(t, 1448, o.GSOSize)
	require.EqualValues(t, 34, o.CsumStart)
	p := gopacket.NewPacket(o.Data, layers.LayerTypeEthernet, gopacket.Default)
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	require.Equal(t, macB, eth.DstMAC.String())
	require.Equal(t, macRB, eth.SrcMAC.String())
	ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	require.EqualValues(t, 63, ip.TTL)
	ipv4ChecksumOK(t, ip)
	// The TCP checksum field holds the pseudo-header sum (partial).
	require.True(t, bytes.Equal(in[14+20:14+20+16], o.Data[14+20:14+20+16]) && bytes.Equal(in[14+20+18:], o.Data[14+20+18:]),
		"TCP header and payload untouched")
	require.Zero(t, nodeCount(r.s, nodeGSO), "nothing segmented")

	// Cut after routing, for the plain port.
	r.injectGSO(tcpFrameAt(t, macRA, macA, "10.1.0.2", "10.2.0.3", 64, payload), 1448, "a")
	out := r.recv()
	require.Len(t, out["c"], 14)
	require.Equal(t, payload, checkSegments(t, out["c"], 1448, 63, 1000))

	// Segments too big for the MTU (DF): cut first, each answered with
	// fragmentation needed (rate-limited); only the short last one fits.
	require.NoError(t, r.s.Reconfigure(gsoL3Config(1400)))
	r.injectGSO(tcpFrameAt(t, macRA, macA, "10.1.0.2", "10.2.0.2", 64, payload), 1448, "a")
	out = r.recv()
	require.Len(t, out["b"], 1)
	require.Len(t, checkSegments(t, out["b"], 1448, 63, 1000+13*1448), 20000-13*1448)
	require.Empty(t, bp.CollectOffloaded())
	require.NotEmpty(t, out["a"], "ICMP errors to the sender")
	e := decodePkt(t, out["a"][0]).Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	require.Equal(t, layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeFragmentationNeeded), e.TypeCode)
	require.NoError(t, r.s.Reconfigure(gsoL3Config(0)))

	// TTL expiring: time exceeded.
	r.injectGSO(tcpFrameAt(t, macRA, macA, "10.1.0.2", "10.2.0.2", 1, payload), 1448, "a")
	out = r.recv()
	require.Empty(t, bp.CollectOffloaded())
	require.NotEmpty(t, out["a"])
	e = decodePkt(t, out["a"][0]).Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	require.EqualValues(t, layers.ICMPv4TypeTimeExceeded, e.TypeCode.Type())

	// Unresolved next hop: glean's ARP request, no frame forwarded.
	r.injectGSO(tcpFrameAt(t, macRA, macA, "10.1.0.2", "10.2.0.9", 64, payload), 1448, "a")
	out = r.recv()
	require.Empty(t, bp.CollectOffloaded())
	require.NotEmpty(t, out["c"], "ARP request flooded")
	require.NotNil(t, decodePkt(t, out["c"][0]).Layer(layers.LayerTypeARP))
	requireNoLeak(t, r.s)

	// The whole-frame routed path allocates nothing (the offload port's
	// gathering copy is a test device's, so sink it).
	for _, q := range r.ports {
		q.SetSink(true)
	}
	big := tcpFrameAt(t, macRA, macA, "10.1.0.2", "10.2.0.2", 64, payload)
	w := r.s.Workers()[0]
	entry, _ := r.s.graph.Index(nodeL2Input)
	ids := make([]pipeline.BufID, 1)
	allocs := testing.AllocsPerRun(100, func() {
		ids[0] = gsoChain(t, r, big, 1448, "a")
		w.Inject(entry, ids)
	})
	base := testing.AllocsPerRun(100, func() { w.Pool().Free(gsoChain(t, r, big, 1448, "a")) })
	require.Zero(t, allocs-base, "allocations routing a GSO frame")
	requireNoLeak(t, r.s)
}

// TestGSOIntoVXLAN: a GSO frame for the overlay is encapsulated once per
// remote VTEP (head-end replication clones the chain) and cut after
// encapsulation into complete VXLAN packets: outer and inner lengths and
// checksums right per segment, the payload intact. Also when the uplink
// takes large frames (no port takes a tunnel's). Segments that would not
// fit the underlay are cut before and answered as any too-big frame.
func TestGSOIntoVXLAN(t *testing.T) {
	for _, offloadUplink := range []bool{false, true} {
		r := newRig(t, Options{})
		r.attachOffload("c")
		if offloadUplink {
			r.attachOffload("u")
		} else {
			r.attach("u")
		}
		require.NoError(t, r.s.Reconfigure(testVXLANConfig()))
		payload := make([]byte, 20000)
		for i := range payload {
			payload[i] = byte(i * 5)
		}
		// Unknown unicast: flooded to both remotes.
		r.injectGSO(tcpFrameAt(t, macFar, macC, "10.9.0.1", "10.9.0.2", 64, payload), 1398, "c")
		out := r.recv()
		require.Empty(t, r.ports["u"].CollectOffloaded())
		byDst := map[string][][]byte{}
		for _, f := range out["u"] {
			p := decodePkt(t, f)
			oip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			ipv4ChecksumOK(t, oip)
			require.LessOrEqual(t, len(f)-14, 1500, "fits the underlay MTU")
			udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
			require.EqualValues(t, len(f)-14-20, udp.Length)
			vx := p.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
			require.EqualValues(t, 100, vx.VNI)
			byDst[oip.DstIP.String()] = append(byDst[oip.DstIP.String()], vx.Payload)
		}
		require.Len(t, byDst, 2)
		for dst, segs := range byDst {
			require.Len(t, segs, 15, dst)
			require.Equal(t, payload, checkSegments(t, segs, 1398, 64, 1000), dst)
		}
		require.EqualValues(t, 2, nodeCount(r.s, nodeVXLANEncap), "encapsulated once per remote, not per segment")

		// Segments too big once encapsulated: cut first; 13 of 14 per
		// remote are too big, the short last one fits.
		before := dropCount(t, r.s, nodeVXLANEncap, "too-big")
		r.injectGSO(tcpFrameAt(t, macFar, macC, "10.9.0.1", "10.9.0.2", 64, payload), 1448, "c")
		out = r.recv()
		require.Len(t, out["u"], 2, "the last segment, to each remote")
		require.EqualValues(t, 2*13, dropCount(t, r.s, nodeVXLANEncap, "too-big")-before)
		requireNoLeak(t, r.s)
	}
}

// nodeCount is the packets a node has processed.
func nodeCount(s *Switch, node string) uint64 {
	for _, c := range s.Runtime() {
		if c.Name == node {
			return c.Packets
		}
	}
	return 0
}

var _ = offload.GSOTCPv4

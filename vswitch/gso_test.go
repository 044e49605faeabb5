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
)

// tcpFrame is an Ethernet/IPv4/TCP frame from macN(1) to macN(2) with
// payload, its checksums complete.
func tcpFrame(t testing.TB, payload []byte, seq uint32) []byte {
	eth := &layers.Ethernet{SrcMAC: mustMAC(macN(1)), DstMAC: mustMAC(macN(2)), EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, Id: 100,
		SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 5201, Seq: seq, Ack: 1, ACK: true, PSH: true, Window: 512}
	require.NoError(t, tcp.SetNetworkLayerForChecksum(ip))
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, tcp, gopacket.Payload(payload)))
	return buf.Bytes()
}

// gsoChain loads frame into a chain of the worker's pool as a tap with a
// virtio-net header hands it over: partial checksum, GSO TCPv4 with
// segments of mss bytes (mss 0: no GSO), arriving on port in.
func gsoChain(t testing.TB, r *rig, frame []byte, mss uint16, in string) pipeline.BufID {
	pkt := bytes.Clone(frame)
	h, err := offload.PreparePartial(pkt)
	require.NoError(t, err)
	pool := r.s.Workers()[0].Pool()
	var head, prev pipeline.BufID
	for off := 0; off < len(pkt); off += pipeline.MaxPacket {
		id, ok := pool.Alloc()
		require.True(t, ok)
		require.True(t, pool.SetPacket(id, pkt[off:min(off+pipeline.MaxPacket, len(pkt))]))
		if off == 0 {
			head = id
		} else {
			pool.Link(prev, id)
		}
		prev = id
	}
	m := pool.Meta(head)
	m.InPort = r.s.attached[in].idx
	m.Offload = pipeline.OffloadCsumPartial
	m.CsumStart, m.CsumOff = h.CsumStart, h.CsumOffset
	if mss != 0 {
		m.Offload |= pipeline.OffloadGSO
		m.GSOType, m.GSOSize = offload.GSOTCPv4, mss
	}
	return head
}

// TestGSOToPlainPort: a 20,000-byte GSO frame from an offload port to a
// port without offload leaves as 14 wire segments with complete, correct
// checksums that carry the payload in order; a single frame with a partial
// checksum leaves with it finished; a frame whose offload state is
// nonsense is dropped and counted, and nothing leaks. None of it
// allocates.
func TestGSOToPlainPort(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0)))
	r.send("a", frame(bcast(), macN(1), -1))
	r.send("b", frame(bcast(), macN(2), -1))
	r.recv()
	r.s.SyncLearning()
	w := r.s.Workers()[0]
	entry, ok := r.s.graph.Index(nodeL2Input)
	require.True(t, ok)

	payload := make([]byte, 20000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	w.Inject(entry, []pipeline.BufID{gsoChain(t, r, tcpFrame(t, payload, 1000), 1448, "a")})
	got := r.recv()["b"]
	require.Len(t, got, 14)
	var joined []byte
	for i, f := range got {
		p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		require.NotNil(t, tcp, "segment %d", i)
		require.LessOrEqual(t, len(tcp.Payload), 1448)
		require.Equal(t, uint32(1000+len(joined)), tcp.Seq)
		require.Equal(t, i == len(got)-1, tcp.PSH, "PSH only on the last segment")
		require.Equal(t, int(ip.Length), len(f)-14)
		require.Equal(t, tcpChecksum(t, ip, tcp), tcp.Checksum, "segment %d TCP checksum", i)
		joined = append(joined, tcp.Payload...)
	}
	require.Equal(t, payload, joined)

	// One frame, checksum partial only.
	small := tcpFrame(t, []byte("hello"), 7)
	w.Inject(entry, []pipeline.BufID{gsoChain(t, r, small, 0, "a")})
	require.Equal(t, [][]byte{small}, r.recv()["b"], "the checksum was finished")

	// Nonsense: a GSO frame whose checksum start is past its headers.
	bad := gsoChain(t, r, tcpFrame(t, payload, 1), 1448, "a")
	w.Pool().Meta(bad).CsumStart = 60000
	w.Inject(entry, []pipeline.BufID{bad})
	require.Empty(t, r.recv()["b"])
	require.EqualValues(t, 1, dropCount(t, r.s, nodeGSO, "bad-offload-frame"))
	requireNoLeak(t, r.s)

	for _, q := range r.ports {
		q.SetSink(true)
	}
	big := tcpFrame(t, payload, 1)
	ids := make([]pipeline.BufID, 1)
	allocs := testing.AllocsPerRun(100, func() {
		ids[0] = gsoChain(t, r, big, 1448, "a")
		w.Inject(entry, ids)
	})
	// gsoChain itself allocates (its copy of the frame): measure it alone
	// and subtract.
	base := testing.AllocsPerRun(100, func() { w.Pool().Free(gsoChain(t, r, big, 1448, "a")) })
	require.Zero(t, allocs-base, "allocations in l2-input, l2-fwd, l2-output and gso")
	requireNoLeak(t, r.s)
}

// tcpChecksum computes the TCP checksum of a decoded segment from scratch.
func tcpChecksum(t *testing.T, ip *layers.IPv4, tcp *layers.TCP) uint16 {
	seg := append(append([]byte{}, tcp.Contents...), tcp.Payload...)
	seg[16], seg[17] = 0, 0
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(ip.SrcIP.To4())
	add(ip.DstIP.To4())
	sum += uint32(layers.IPProtocolTCP) + uint32(len(seg))
	add(seg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

package vhostuser

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/offload"
	"github.com/vecswitch/vecswitch/pipeline"
)

// Feature sets of the offload tests: a guest that negotiated every
// offload, one that sends large frames but takes only plain ones, and one
// that takes partial checksums but no GSO frames.
var (
	featOffload  = featModern | offloadFeatures
	featHostOnly = featModern | bit(featNetCsum) | bit(featNetHostTSO4) | bit(featNetHostTSO6) | bit(featNetHostECN) | bit(featNetHostUSO)
	featCsumOnly = featModern | bit(featNetCsum) | bit(featNetGuestCsum)
)

// gsoKind names a kind of GSO frame the tests build.
type gsoKind int

const (
	gsoTCP4 gsoKind = iota
	gsoTCP6
	gsoUDP4
	gsoUDP6
)

func (k gsoKind) String() string { return [...]string{"tcp4", "tcp6", "udp4", "udp6"}[k] }

// gsoFrame builds a GSO frame of the kind k with payload bytes of
// payload (not all alike), as a sender with TSO hands it over: IP lengths
// of the whole frame, the L4 checksum field holding the pseudo-header sum
// (offload.PreparePartial), and the virtio-net header that describes it
// with segments of mss bytes.
func gsoFrame(t testing.TB, k gsoKind, payload int, mss uint16) ([]byte, offload.VnetHdr) {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}}
	var ip gopacket.SerializableLayer
	var nl gopacket.NetworkLayer
	proto := layers.IPProtocolTCP
	if k == gsoUDP4 || k == gsoUDP6 {
		proto = layers.IPProtocolUDP
	}
	if k == gsoTCP6 || k == gsoUDP6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.ParseIP("fd00::1"), DstIP: net.ParseIP("fd00::2")}
		ip, nl = ip6, ip6
	} else {
		eth.EthernetType = layers.EthernetTypeIPv4
		ip4 := &layers.IPv4{Version: 4, TTL: 64, Id: 7, Flags: layers.IPv4DontFragment, Protocol: proto, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		ip, nl = ip4, ip4
	}
	var l4 interface {
		gopacket.SerializableLayer
		SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
	}
	if proto == layers.IPProtocolTCP {
		l4 = &layers.TCP{SrcPort: 40000, DstPort: 5201, Seq: 1000, Ack: 1, ACK: true, PSH: true, Window: 500,
			Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 1, 0, 0, 0, 2}}}}
	} else {
		l4 = &layers.UDP{SrcPort: 40000, DstPort: 9999}
	}
	require.NoError(t, l4.SetNetworkLayerForChecksum(nl))
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, l4, gopacket.Payload(frame(payload+14, 17)[14:])))
	b := append([]byte(nil), buf.Bytes()...)
	h, err := offload.PreparePartial(b)
	require.NoError(t, err)
	if len(b)-int(h.HdrLen) > int(mss) {
		h.GSOSize = mss
		h.GSOType = map[gsoKind]uint8{gsoTCP4: offload.GSOTCPv4, gsoTCP6: offload.GSOTCPv6, gsoUDP4: offload.GSOUDPL4, gsoUDP6: offload.GSOUDPL4}[k]
	}
	return b, h
}

// headerLen is the length of the IP and L4 headers of a gsoFrame.
func headerLen(k gsoKind) int {
	ip := 20
	if k == gsoTCP6 || k == gsoUDP6 {
		ip = 40
	}
	if k == gsoTCP4 || k == gsoTCP6 {
		return ip + 32
	}
	return ip + 8
}

// encodeHdr is h as the negotiated header of n bytes.
func encodeHdr(h offload.VnetHdr, n int) []byte {
	b := make([]byte, n)
	h.Encode(b)
	return b
}

// txChain queues frame behind hdr as one descriptor chain of the guest's
// transmit ring: the header alone in the first descriptor, then the frame
// in pieces of piece bytes (at most bufSize). It returns the head.
func (d *drvRing) txChain(t testing.TB, hdr, frame []byte, piece int) uint16 {
	t.Helper()
	require.LessOrEqual(t, piece, d.bufSize)
	head := d.take()
	o := d.bufAt(head)
	copy(d.mem[o:], hdr)
	ids := []uint16{head}
	prev := head
	d.setDesc(head, d.gpa(o), uint32(len(hdr)), 0, 0)
	for len(frame) > 0 {
		n := min(piece, len(frame))
		i := d.take()
		o := d.bufAt(i)
		copy(d.mem[o:o+n], frame[:n])
		d.setDesc(i, d.gpa(o), uint32(n), 0, 0)
		pd := d.mem[d.desc+descSize*int(prev):]
		le.PutUint16(pd[12:], le.Uint16(pd[12:])|vringDescFNext)
		le.PutUint16(pd[14:], i)
		ids = append(ids, i)
		prev = i
		frame = frame[n:]
	}
	d.chains[head] = ids
	d.addAvail(head)
	return head
}

// poolChain puts frame into pool as the pipeline lays a large frame out
// (pipeline.MaxPacket bytes in the first buffer, a whole frame in each
// further one) with the offload metadata of h.
func poolChain(t testing.TB, pool *pipeline.Pool, frame []byte, h offload.VnetHdr) pipeline.BufID {
	t.Helper()
	head, ok := pool.Alloc()
	require.True(t, ok)
	n := min(len(frame), pipeline.MaxPacket)
	require.True(t, pool.SetPacket(head, frame[:n]))
	prev := head
	for rest := frame[n:]; len(rest) > 0; {
		b, ok := pool.Alloc()
		require.True(t, ok)
		k := min(len(rest), pipeline.FrameSize)
		*pool.Meta(b) = pipeline.Meta{Len: uint16(k)}
		copy(pool.Frame(b), rest[:k])
		pool.Link(prev, b)
		prev, rest = b, rest[k:]
	}
	m := pool.Meta(head)
	if h.Flags&offload.FlagNeedsCsum != 0 {
		m.Offload |= pipeline.OffloadCsumPartial
		m.CsumStart, m.CsumOff = h.CsumStart, h.CsumOffset
	}
	if h.Flags&offload.FlagDataValid != 0 {
		m.Offload |= pipeline.OffloadCsumValid
	}
	if h.GSOType != offload.GSONone {
		m.Offload |= pipeline.OffloadGSO
		m.GSOType, m.GSOSize = h.GSOType, h.GSOSize
	}
	return head
}

// chainBytes is the frame of id's chain in one piece.
func chainBytes(pool *pipeline.Pool, id pipeline.BufID) []byte {
	var out []byte
	for _, f := range pool.Frags(id, nil) {
		out = append(out, f...)
	}
	return out
}

// txIDs transmits ids in one batch, frees them and returns how many
// frames the guest got.
func (r *ringRig) txIDs(ids ...pipeline.BufID) int {
	sent := r.vrx.transmit(r.pool, ids, &r.tc, &r.ts)
	r.pool.FreeN(ids)
	return sent
}

// rxIDs receives once and returns the buffers, which the caller frees.
func (r *ringRig) rxIDs(t testing.TB) []pipeline.BufID {
	t.Helper()
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	held := 0
	n := r.vtx.receive(r.pool, ids, &r.rc, &held)
	require.Zero(t, held)
	return ids[:n]
}

// checkSegment checks with gopacket that seg is a well-formed frame of
// the kind k with valid checksums, at most mss payload bytes, and returns
// its L4 payload and, for TCP, its sequence number.
func checkSegment(t testing.TB, k gsoKind, seg []byte, mss int) ([]byte, uint32) {
	t.Helper()
	p := gopacket.NewPacket(seg, layers.LayerTypeEthernet, gopacket.Default)
	require.Nil(t, p.ErrorLayer(), "segment does not decode: %v", p.ErrorLayer())
	var nl gopacket.NetworkLayer
	if k == gsoTCP4 || k == gsoUDP4 {
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		require.Equal(t, len(seg)-14, int(ip.Length), "IPv4 total length")
		want := *ip
		sb := gopacket.NewSerializeBuffer()
		require.NoError(t, want.SerializeTo(sb, gopacket.SerializeOptions{ComputeChecksums: true}))
		require.Equal(t, want.Checksum, ip.Checksum, "IPv4 header checksum")
		nl = ip
	} else {
		ip := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		require.Equal(t, len(seg)-14-40, int(ip.Length), "IPv6 payload length")
		nl = ip
	}
	if k == gsoTCP4 || k == gsoTCP6 {
		tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		require.NoError(t, tcp.SetNetworkLayerForChecksum(nl))
		c, err := tcp.ComputeChecksum()
		require.NoError(t, err)
		require.Zero(t, c, "TCP checksum")
		require.LessOrEqual(t, len(tcp.Payload), mss)
		return tcp.Payload, tcp.Seq
	}
	udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	require.Equal(t, len(udp.Contents)+len(udp.Payload), int(udp.Length), "UDP length")
	again := *udp
	require.NoError(t, again.SetNetworkLayerForChecksum(nl))
	require.NoError(t, gopacket.SerializeLayers(gopacket.NewSerializeBuffer(), gopacket.SerializeOptions{ComputeChecksums: true},
		&again, gopacket.Payload(udp.Payload)))
	require.Equal(t, again.Checksum, udp.Checksum, "UDP checksum")
	require.LessOrEqual(t, len(udp.Payload), mss)
	return udp.Payload, 0
}

// l4Payload is the payload of a gsoFrame.
func l4Payload(k gsoKind, b []byte) []byte { return b[14+headerLen(k):] }

// pseudoField reads the 16-bit L4 checksum field of a frame described by h.
func pseudoField(b []byte, h offload.VnetHdr) uint16 {
	return binary.BigEndian.Uint16(b[h.CsumStart+h.CsumOffset:])
}

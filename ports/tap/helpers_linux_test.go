package tap_test

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
	"github.com/vecswitch/vecswitch/ports/tap"
)

// The far end the tests play on the tap's wire.
var (
	peerMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x00, 0x02}
	tapIP   = netip.MustParseAddr("10.123.0.1")
	peerIP  = netip.MustParseAddr("10.123.0.2")
	tapNet  = netip.PrefixFrom(tapIP, 24)
)

// newPool makes a pool that must hold every buffer again at the end.
func newPool(t *testing.T) *pipeline.Pool {
	t.Helper()
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 512})
	require.NoError(t, err)
	t.Cleanup(func() {
		pool.Reclaim() // what closed queues gave back
		require.Equal(t, pool.Size(), pool.Available(), "buffers leaked")
		pool.Close()
	})
	return pool
}

// rig is a tap port with all its queues open on one pool.
type rig struct {
	p    *tap.Port
	pool *pipeline.Pool
	rx   []pipeline.RxQueue
	tx   []pipeline.TxQueue
}

func newRig(t *testing.T, cfg tap.Config) *rig {
	t.Helper()
	r := &rig{pool: newPool(t)}
	p, err := tap.New(cfg)
	require.NoError(t, err)
	r.p = p
	t.Cleanup(func() {
		for _, q := range r.rx {
			q.Close()
		}
		for _, q := range r.tx {
			q.Close()
		}
		if err := p.Close(); err != nil && !errors.Is(err, ports.ErrClosed) {
			t.Errorf("close port: %v", err)
		}
	})
	for q := range p.Info().RxQueues {
		rq, err := p.OpenRx(q, r.pool)
		require.NoError(t, err)
		r.rx = append(r.rx, rq)
		tq, err := p.OpenTx(q, r.pool)
		require.NoError(t, err)
		r.tx = append(r.tx, tq)
	}
	return r
}

// poll receives on every rx queue until match accepts a frame or the
// deadline passes; it frees every buffer and returns a copy of the match.
func (r *rig) poll(t *testing.T, d time.Duration, match func(gopacket.Packet) bool) gopacket.Packet {
	t.Helper()
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	for end := time.Now().Add(d); time.Now().Before(end); {
		for _, q := range r.rx {
			n, err := q.Rx(ids)
			require.NoError(t, err)
			var found gopacket.Packet
			for _, id := range ids[:n] {
				pkt := gopacket.NewPacket(append([]byte(nil), r.pool.Packet(id)...), layers.LayerTypeEthernet, gopacket.Default)
				if found == nil && match(pkt) {
					found = pkt
				}
			}
			r.pool.FreeN(ids[:n])
			if found != nil {
				return found
			}
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// send writes frames through tx queue q.
func (r *rig) send(t *testing.T, q int, frames ...[]byte) int {
	t.Helper()
	ids := make([]pipeline.BufID, len(frames))
	require.Equal(t, len(frames), r.pool.AllocN(ids))
	for i, f := range frames {
		require.True(t, r.pool.SetPacket(ids[i], f))
	}
	sent, err := r.tx[q].Tx(ids)
	require.NoError(t, err)
	return sent
}

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...))
	return append([]byte(nil), buf.Bytes()...)
}

func arpReply(t testing.TB, to net.HardwareAddr, toIP netip.Addr) []byte {
	return serialize(t,
		&layers.Ethernet{SrcMAC: peerMAC, DstMAC: to, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{
			AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPReply,
			SourceHwAddress: peerMAC, SourceProtAddress: peerIP.AsSlice(),
			DstHwAddress: to, DstProtAddress: toIP.AsSlice(),
		})
}

func echoRequest(t testing.TB, to net.HardwareAddr, toIP netip.Addr, id, seq uint16) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: peerIP.AsSlice(), DstIP: toIP.AsSlice()}
	return serialize(t,
		&layers.Ethernet{SrcMAC: peerMAC, DstMAC: to, EthernetType: layers.EthernetTypeIPv4},
		ip,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: id, Seq: seq},
		gopacket.Payload("vecswitch tap test"))
}

// isARPRequest matches the kernel asking for peerIP from mac.
func isARPRequest(mac net.HardwareAddr) func(gopacket.Packet) bool {
	return func(p gopacket.Packet) bool {
		a, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP)
		eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		return ok && eth != nil && a.Operation == layers.ARPRequest &&
			net.HardwareAddr(a.SourceHwAddress).String() == mac.String() &&
			eth.SrcMAC.String() == mac.String() &&
			net.IP(a.DstProtAddress).Equal(peerIP.AsSlice())
	}
}

func isEchoReply(id uint16) func(gopacket.Packet) bool {
	return func(p gopacket.Packet) bool {
		ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		return ok && ic.TypeCode.Type() == layers.ICMPv4TypeEchoReply && ic.Id == id
	}
}

// udpSender is a UDP socket inside ns that sends to peerIP.
type udpSender struct {
	fd    int
	to    unix.Sockaddr
	close func()
}

func newUDPSender(t *testing.T, ns string) *udpSender {
	fd, closeFn := netdevtest.Socket(t, ns, unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK, 0)
	return &udpSender{fd: fd, to: &unix.SockaddrInet4{Port: 9, Addr: peerIP.As4()}, close: closeFn}
}

func (s *udpSender) send(payload []byte) error { return unix.Sendto(s.fd, payload, 0, s.to) }

// resolve makes the namespace's kernel ARP for peerIP (a UDP datagram
// waits for the answer), checks the request arrives through Rx from the
// tap's MAC, answers it through Tx, and returns the datagram the kernel
// then sends.
func resolve(t *testing.T, r *rig, ns string) (*udpSender, gopacket.Packet) {
	t.Helper()
	mac := r.p.Device().MAC
	s := newUDPSender(t, ns)
	require.NoError(t, s.send([]byte("hello")))
	req := r.poll(t, 5*time.Second, isARPRequest(mac))
	require.NotNil(t, req, "ARP request for %v from %v", peerIP, mac)
	require.Equal(t, 1, r.send(t, 0, arpReply(t, mac, tapIP)))
	udp := r.poll(t, 5*time.Second, isUDPTo(9))
	require.NotNil(t, udp, "the datagram follows the ARP reply")
	return s, udp
}

func isUDPTo(port layers.UDPPort) func(gopacket.Packet) bool {
	return func(p gopacket.Packet) bool {
		u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		return ok && u.DstPort == port
	}
}

// requireUDPChecksum checks that the datagram's checksum is complete: tap
// hands out no CHECKSUM_PARTIAL frames.
func requireUDPChecksum(t *testing.T, p gopacket.Packet) {
	t.Helper()
	ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	u := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	seg := append(append([]byte(nil), u.Contents...), u.Payload...)
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(ip.SrcIP.To4())
	add(ip.DstIP.To4())
	sum += uint32(layers.IPProtocolUDP) + uint32(len(seg))
	add(seg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	require.NotZero(t, u.Checksum)
	require.Equal(t, uint32(0xffff), sum, "UDP checksum verifies")
}

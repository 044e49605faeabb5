package afxdp

import (
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
)

func newPool(t *testing.T) *pipeline.Pool {
	p, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 4096})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// responder answers ARP requests and ICMP echo requests for ip with mac,
// through an AF_XDP queue pair: a tiny host made of our rx and tx paths.
type responder struct {
	t    *testing.T
	pool *pipeline.Pool
	ip   net.IP
	mac  net.HardwareAddr
	seen map[string]int
}

func (r *responder) handle(frame []byte) []byte {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth == nil {
		return nil
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	buf := gopacket.NewSerializeBuffer()
	if arp, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok && arp.Operation == layers.ARPRequest && net.IP(arp.DstProtAddress).Equal(r.ip) {
		r.seen["arp"]++
		require.NoError(r.t, gopacket.SerializeLayers(buf, opts,
			&layers.Ethernet{SrcMAC: r.mac, DstMAC: eth.SrcMAC, EthernetType: layers.EthernetTypeARP},
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: layers.ARPReply, SourceHwAddress: r.mac, SourceProtAddress: r.ip.To4(),
				DstHwAddress: arp.SourceHwAddress, DstProtAddress: arp.SourceProtAddress}))
		return buf.Bytes()
	}
	ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	icmp, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ip4 != nil && icmp != nil && icmp.TypeCode.Type() == layers.ICMPv4TypeEchoRequest && ip4.DstIP.Equal(r.ip) {
		r.seen["echo"]++
		require.NoError(r.t, gopacket.SerializeLayers(buf, opts,
			&layers.Ethernet{SrcMAC: r.mac, DstMAC: eth.SrcMAC, EthernetType: layers.EthernetTypeIPv4},
			&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: r.ip, DstIP: ip4.SrcIP},
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0), Id: icmp.Id, Seq: icmp.Seq},
			gopacket.Payload(icmp.Payload)))
		return buf.Bytes()
	}
	return nil
}

// TestPingThroughAFXDP pings from a namespace to an address that only our
// AF_XDP rx/tx path answers: the ping succeeds only if frames come in on the
// socket and our replies go out intact.
func TestPingThroughAFXDP(t *testing.T) {
	nettest.NeedRoot(t)
	for _, mode := range []string{"native", "generic"} {
		t.Run(mode, func(t *testing.T) {
			ns := nettest.NewNS(t)
			host := "vsx" + nettest.Suffix()
			nettest.Veth(t, host, ns, "10.77.0.1/24", 1)
			p, err := New(Config{Ifname: host, Attach: mode, RingSize: 512})
			require.NoError(t, err)
			t.Cleanup(func() { p.Close() })
			require.Equal(t, mode == "native", p.NativeXDP())
			pool := newPool(t)
			rx, err := p.OpenRx(0, pool)
			require.NoError(t, err)
			tx, err := p.OpenTx(0, pool)
			require.NoError(t, err)

			r := &responder{t: t, pool: pool, ip: net.IP{10, 77, 0, 2}, mac: net.HardwareAddr{2, 0, 0, 0x77, 0, 2}, seen: map[string]int{}}
			ping := ns.Command("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.0.2")
			out := make(chan error, 1)
			var pingOut []byte
			go func() { var err error; pingOut, err = ping.CombinedOutput(); out <- err }()
			ids := make([]pipeline.BufID, pipeline.VectorSize)
			var perr error
		loop:
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
				select {
				case perr = <-out:
					break loop
				default:
				}
				n, err := rx.Rx(ids)
				require.NoError(t, err)
				var reply []pipeline.BufID
				for _, id := range ids[:n] {
					if f := r.handle(pool.Packet(id)); f != nil {
						require.True(t, pool.SetPacket(id, f))
						reply = append(reply, id)
					} else {
						pool.Free(id)
					}
				}
				if len(reply) > 0 {
					sent, err := tx.Tx(reply)
					require.NoError(t, err)
					require.Equal(t, len(reply), sent)
				}
				tx.(interface{ Reclaim() }).Reclaim()
				time.Sleep(time.Millisecond)
			}
			require.NoError(t, perr, "ping failed: %s", pingOut)
			require.GreaterOrEqual(t, r.seen["arp"], 1)
			require.GreaterOrEqual(t, r.seen["echo"], 3)

			require.NoError(t, rx.Close())
			require.NoError(t, tx.Close())
			pool.Reclaim()
			require.Equal(t, pool.Size(), pool.Available(), "every buffer came back after close")
			st := p.Stats()
			require.False(t, st.Down)
			require.NoError(t, p.Close())
		})
	}
}

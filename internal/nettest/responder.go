//go:build linux

package nettest

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/pipeline"
)

// Responder plays a tiny host for port tests: it answers ARP requests and
// ICMP echo requests for IP with MAC, so a ping from a namespace succeeds
// only if frames reach the port under test and its replies get back.
type Responder struct {
	IP  net.IP
	MAC net.HardwareAddr
	// Seen counts what was answered: "arp" and "echo".
	Seen map[string]int
}

// NewResponder makes a Responder for ip and mac.
func NewResponder(ip net.IP, mac net.HardwareAddr) *Responder {
	return &Responder{IP: ip, MAC: mac, Seen: map[string]int{}}
}

// Reply returns the answer to frame, or nil if it asks nothing of us.
func (r *Responder) Reply(frame []byte) []byte {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth == nil {
		return nil
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	buf := gopacket.NewSerializeBuffer()
	if arp, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok && arp.Operation == layers.ARPRequest && net.IP(arp.DstProtAddress).Equal(r.IP) {
		r.Seen["arp"]++
		if gopacket.SerializeLayers(buf, opts,
			&layers.Ethernet{SrcMAC: r.MAC, DstMAC: eth.SrcMAC, EthernetType: layers.EthernetTypeARP},
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: layers.ARPReply, SourceHwAddress: r.MAC, SourceProtAddress: r.IP.To4(),
				DstHwAddress: arp.SourceHwAddress, DstProtAddress: arp.SourceProtAddress}) != nil {
			return nil
		}
		return buf.Bytes()
	}
	ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	icmp, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ip4 != nil && icmp != nil && icmp.TypeCode.Type() == layers.ICMPv4TypeEchoRequest && ip4.DstIP.Equal(r.IP) {
		r.Seen["echo"]++
		if gopacket.SerializeLayers(buf, opts,
			&layers.Ethernet{SrcMAC: r.MAC, DstMAC: eth.SrcMAC, EthernetType: layers.EthernetTypeIPv4},
			&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: r.IP, DstIP: ip4.SrcIP},
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0), Id: icmp.Id, Seq: icmp.Seq},
			gopacket.Payload(icmp.Payload)) != nil {
			return nil
		}
		return buf.Bytes()
	}
	return nil
}

// Serve answers frames from rx through tx until done delivers (the result
// of the command the test runs, typically a ping) or timeout passes, and
// returns that result. Buffers it does not answer go back to pool.
func (r *Responder) Serve(t testing.TB, rx pipeline.RxQueue, tx pipeline.TxQueue, pool *pipeline.Pool, done <-chan error, timeout time.Duration) error {
	t.Helper()
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		select {
		case err := <-done:
			return err
		default:
		}
		n, err := rx.Rx(ids)
		require.NoError(t, err)
		var reply []pipeline.BufID
		for _, id := range ids[:n] {
			if f := r.Reply(pool.Packet(id)); f != nil {
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
		if rc, ok := tx.(pipeline.Reclaimer); ok {
			rc.Reclaim()
		}
	}
	return errors.New("nettest: timed out serving")
}

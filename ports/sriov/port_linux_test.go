package sriov_test

import (
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/sriov"
	"github.com/vecswitch/vecswitch/ports/sriov/sriovtest"
)

// answer returns the reply to an ARP request or ICMP echo request for ip,
// or nil.
func answer(t *testing.T, frame []byte, ip net.IP, mac net.HardwareAddr, seen map[string]int) []byte {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth == nil {
		return nil
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	buf := gopacket.NewSerializeBuffer()
	if arp, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok && arp.Operation == layers.ARPRequest && net.IP(arp.DstProtAddress).Equal(ip) {
		seen["arp"]++
		require.NoError(t, gopacket.SerializeLayers(buf, opts,
			&layers.Ethernet{SrcMAC: mac, DstMAC: eth.SrcMAC, EthernetType: layers.EthernetTypeARP},
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: layers.ARPReply, SourceHwAddress: mac, SourceProtAddress: ip.To4(),
				DstHwAddress: arp.SourceHwAddress, DstProtAddress: arp.SourceProtAddress}))
		return buf.Bytes()
	}
	ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	icmp, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ip4 != nil && icmp != nil && icmp.TypeCode.Type() == layers.ICMPv4TypeEchoRequest && ip4.DstIP.Equal(ip) {
		seen["echo"]++
		require.NoError(t, gopacket.SerializeLayers(buf, opts,
			&layers.Ethernet{SrcMAC: mac, DstMAC: eth.SrcMAC, EthernetType: layers.EthernetTypeIPv4},
			&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: ip, DstIP: ip4.SrcIP},
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0), Id: icmp.Id, Seq: icmp.Seq},
			gopacket.Payload(icmp.Payload)))
		return buf.Bytes()
	}
	return nil
}

// TestPortDataPath: a veth stands in for VF 2's netdev (fake sysfs names
// it, the recording netlink takes the VF settings). The namespace at the
// veth's far end pings an address that only the port's rx and tx answer:
// the ping succeeds only if frames arriving on the "VF netdev" reach Rx and
// frames given to Tx leave on it.
func TestPortDataPath(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	vfdev := "vsv" + nettest.Suffix()
	nettest.Veth(t, vfdev, ns, "10.91.0.1/24", 1)

	sys := sriovtest.NewSysfs(t)
	sys.AddPF(pf, "0000:03:00.0", 4)
	sys.AddVF(pf, 2, "0000:03:02.2", vfdev)
	rec := sriovtest.NewRecorder()
	rec.AddPF(pf, 7, netlink.VfInfo{ID: 2, Spoofchk: true, LinkState: 0})
	h := &sriov.Host{Netlink: rec, Sysfs: sys.Root}

	cfg := sriov.VFConfig{SpoofCheck: ptr(false), Trust: ptr(true), LinkState: sriov.StateEnable}
	p, err := h.NewPort(sriov.PortConfig{Name: "pf0vf2", PF: pf, VF: 2, Config: cfg, XDP: afxdp.Config{RingSize: 512}})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	require.Equal(t, "pf0vf2", p.Name())
	require.Equal(t, vfdev, p.Netdev())
	require.Equal(t, []string{
		"LinkSetVfSpoofchk ens1f0 vf=2 false",
		"LinkSetVfTrust ens1f0 vf=2 true",
		"LinkSetVfState ens1f0 vf=2 1",
	}, rec.Sets())

	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 4096})
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	rx, err := p.OpenRx(0, pool)
	require.NoError(t, err)
	tx, err := p.OpenTx(0, pool)
	require.NoError(t, err)

	ip, mac := net.IP{10, 91, 0, 2}, net.HardwareAddr{2, 0, 0, 0x91, 0, 2}
	seen := map[string]int{}
	ping := ns.Command("ping", "-c", "3", "-i", "0.2", "-W", "2", ip.String())
	done := make(chan error, 1)
	var out []byte
	go func() { var err error; out, err = ping.CombinedOutput(); done <- err }()
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	var perr error
loop:
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		select {
		case perr = <-done:
			break loop
		default:
		}
		n, err := rx.Rx(ids)
		require.NoError(t, err)
		var reply []pipeline.BufID
		for _, id := range ids[:n] {
			if f := answer(t, pool.Packet(id), ip, mac, seen); f != nil {
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
	}
	require.NoError(t, perr, "ping through the sriov port failed: %s", out)
	require.GreaterOrEqual(t, seen["arp"], 1)
	require.GreaterOrEqual(t, seen["echo"], 3)

	require.NoError(t, rx.Close())
	require.NoError(t, tx.Close())
	require.NoError(t, p.Close())
	pool.Reclaim()
	require.Equal(t, pool.Size(), pool.Available())

	// Close left the VF settings alone; Restore puts back the old ones.
	got, _ := rec.VF(pf, 2)
	require.Equal(t, uint32(1), got.Trust)
	rec.Reset()
	require.NoError(t, p.Restore())
	require.Equal(t, []string{
		"LinkSetVfSpoofchk ens1f0 vf=2 true",
		"LinkSetVfTrust ens1f0 vf=2 false",
		"LinkSetVfState ens1f0 vf=2 0",
	}, rec.Sets())
}

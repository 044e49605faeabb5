package vswitch_test

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/pcapng"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch"
)

// kernelVTEP gives container name (its eth0 is on the underlay) a Linux
// vxlan device vx0 for vni toward remote, with the overlay address addr.
func (r *kernelRig) kernelVTEP(name string, vni int, local, remote, addr string) {
	r.t.Helper()
	nh := r.ns[name].Netlink(r.t)
	eth, err := nh.LinkByName("eth0")
	require.NoError(r.t, err)
	la := netlink.NewLinkAttrs()
	la.Name = "vx0"
	vx := &netlink.Vxlan{LinkAttrs: la, VxlanId: vni, VtepDevIndex: eth.Attrs().Index,
		SrcAddr: net.ParseIP(local), Group: net.ParseIP(remote), Port: 4789, Learning: true}
	require.NoError(r.t, nh.LinkAdd(vx))
	l, err := nh.LinkByName("vx0")
	require.NoError(r.t, err)
	a, err := netlink.ParseAddr(addr)
	require.NoError(r.t, err)
	a.Flags = unix.IFA_F_NODAD
	require.NoError(r.t, nh.AddrAdd(l, a))
	require.NoError(r.t, nh.LinkSetUp(l))
}

// setMTU sets the MTU of a container's eth0.
func (r *kernelRig) setMTU(name string, mtu int) {
	nh := r.ns[name].Netlink(r.t)
	l, err := nh.LinkByName("eth0")
	require.NoError(r.t, err)
	require.NoError(r.t, nh.LinkSetMTU(l, mtu))
}

// TestVXLANWithKernelVTEP: the far VTEP is a Linux kernel vxlan device in
// another namespace; a container on our overlay bridge and the far
// namespace ping each other and move TCP data both ways, over an IPv4 and
// an IPv6 underlay, and a capture of our uplink shows well-formed outer
// headers.
func TestVXLANWithKernelVTEP(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		local, far, localP, farP   string
		overlayMTU                 int
		innerLocal, innerFar, far6 string
	}{
		{"ipv4 underlay", "192.168.77.1", "192.168.77.2", "192.168.77.1/24", "192.168.77.2/24", vswitch.OverlayMTU, "10.210.0.1", "10.210.0.2", "fd10:210::2"},
		{"ipv6 underlay", "fd00:77::1", "fd00:77::2", "fd00:77::1/64", "fd00:77::2/64", vswitch.OverlayMTU6, "10.211.0.1", "10.211.0.2", "fd10:211::2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newKernelRig(t, 1)
			r.vethContainer("c", tc.innerLocal+"/24", 1)
			r.setMTU("c", tc.overlayMTU)
			r.host("c", tc.far6[:len(tc.far6)-1]+"1/64", "", "")
			underlay := "10.99.0.9/32" // the far namespace's eth0 needs an address to exist; the VTEP uses farP
			r.vethContainer("far", underlay, 1)
			r.host("far", "", "", "")
			nh := r.ns["far"].Netlink(t)
			eth, err := nh.LinkByName("eth0")
			require.NoError(t, err)
			fa, err := netlink.ParseAddr(tc.farP)
			require.NoError(t, err)
			fa.Flags = unix.IFA_F_NODAD
			require.NoError(t, nh.AddrAdd(eth, fa))
			r.kernelVTEP("far", 100, tc.far, tc.local, tc.innerFar+"/24")
			vx, err := nh.LinkByName("vx0")
			require.NoError(t, err)
			a6, err := netlink.ParseAddr(tc.far6 + "/64")
			require.NoError(t, err)
			a6.Flags = unix.IFA_F_NODAD
			require.NoError(t, nh.AddrAdd(vx, a6))

			require.NoError(t, r.s.Reconfigure(vswitch.Config{
				Bridges: []vswitch.Bridge{{Name: "ov", Ports: []vswitch.Port{{Name: "c"}},
					VXLAN: []vswitch.VNI{{VNI: 100, Remotes: []string{tc.far}}}}},
				Interfaces: []vswitch.Interface{{Name: "uplink", Port: "far", Addrs: []string{tc.localP}}},
				VTEP:       &vswitch.VTEP{Addr: tc.local},
			}))
			require.NoError(t, r.s.Start())
			file := filepath.Join(t.TempDir(), "uplink.pcapng")
			require.NoError(t, r.s.CaptureStart(vswitch.CaptureConfig{Port: "far", Tx: true, Snaplen: 128}))

			require.Eventually(t, func() bool { return r.ping("c", tc.innerFar) == nil }, 10*time.Second, 200*time.Millisecond)
			require.NoError(t, r.ping("far", tc.innerLocal))
			require.NoError(t, r.ping("c", tc.far6))
			r.transfer("c", "far", tc.innerFar, false)
			r.transfer("far", "c", tc.innerLocal, false)

			// Our outer headers, as captured on the uplink.
			writeCapture(t, r.s, file)
			f, err := os.Open(file)
			require.NoError(t, err)
			defer f.Close()
			rd, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
			require.NoError(t, err)
			n := 0
			for {
				data, _, err := rd.ReadPacketData()
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
				vxl, ok := p.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
				if !ok {
					continue // ARP/ND on the underlay
				}
				n++
				require.EqualValues(t, 100, vxl.VNI)
				udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
				require.EqualValues(t, 4789, udp.DstPort)
				// The outer network layer is the first one (the inner frame
				// may carry IPv4 inside IPv6).
				if ip, ok := p.NetworkLayer().(*layers.IPv4); ok {
					require.Equal(t, tc.local, ip.SrcIP.String())
					require.Equal(t, tc.far, ip.DstIP.String())
					require.EqualValues(t, 0, udp.Checksum, "IPv4 UDP checksum 0 (RFC 7348)")
				} else {
					ip := p.NetworkLayer().(*layers.IPv6)
					require.Equal(t, tc.local, ip.SrcIP.String())
					require.NotZero(t, udp.Checksum, "IPv6 needs a UDP checksum")
				}
			}
			require.Positive(t, n, "no VXLAN packet captured")
		})
	}
}

// writeCapture stops the switch's capture and writes what it holds.
func writeCapture(t *testing.T, s *vswitch.Switch, file string) {
	t.Helper()
	f, err := os.Create(file)
	require.NoError(t, err)
	defer f.Close()
	w, err := pcapng.NewWriter(f, pcapng.Options{})
	require.NoError(t, err)
	id, err := w.AddInterface("uplink", 0)
	require.NoError(t, err)
	s.CaptureDrain(func(p *pipeline.CapturedPacket) {
		require.NoError(t, w.WritePacket(pcapng.Packet{Interface: id, Time: p.Time, Data: p.Data, OrigLen: p.OrigLen, Dir: pcapng.Outbound}))
	})
	s.CaptureStop()
	require.NoError(t, w.Flush())
}

package encap

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// readHex reads a testdata file of hex lines, # starting comments.
func readHex(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	var sb strings.Builder
	for line := range strings.SplitSeq(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			sb.WriteString(line)
		}
	}
	pkt, err := hex.DecodeString(sb.String())
	require.NoError(t, err)
	return pkt
}

// TestLinuxFrames holds our encapsulation to frames a Linux vxlan device
// sent (testdata/linux, captured by TestKernelVXLAN), with no need for
// root: ParseOuter accepts the kernel's frames, and Encap, given the same
// tunnel, inner frame and source port, writes the same bytes, except the
// IPv4 ID (the kernel's counts, ours is 0) and so the IPv4 header checksum.
// This pins the shape a kernel peer expects: TTL 64, DF clear, TOS 0, UDP
// port 4789, flags 0x08 with reserved fields zero, IPv6 flow label 0, the
// UDP checksum over IPv6 and, when both are so configured, over IPv4.
func TestLinuxFrames(t *testing.T) {
	files, err := filepath.Glob("testdata/linux/*.hex")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			kernel := readHex(t, name)
			o, r := ParseOuter(kernel, DecapConfig{VerifyUDP4: true})
			require.Equal(t, OK, r)
			require.Equal(t, uint32(4242), o.VNI)
			inner := kernel[o.InnerOff : o.InnerOff+o.InnerLen]
			p := gopacket.NewPacket(inner, layers.LayerTypeEthernet, gopacket.Default)
			icmp, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			require.NotNil(t, icmp)
			require.Equal(t, uint8(layers.ICMPv4TypeEchoReply), icmp.TypeCode.Type())

			d := decode(t, kernel)
			tpl := mustTemplate(t, TemplateConfig{
				SrcMAC: [6]byte(d.eth.SrcMAC), DstMAC: [6]byte(d.eth.DstMAC),
				Src: o.SrcAddr(), Dst: o.DstAddr(), VNI: o.VNI,
				UDPChecksum4: !o.Is6 && d.udp.Checksum != 0,
			})
			ours := encapsulate(t, tpl, inner, hashForPort(t, tpl, o.SrcPort))
			want := bytes.Clone(kernel)
			if !o.Is6 {
				// The kernel's ID and the checksum covering it.
				ip := want[EthLen:]
				copy(ip[4:6], ours[EthLen+4:])
				copy(ip[10:12], ours[EthLen+10:])
			}
			require.Equal(t, want, ours)
		})
	}
}

// hashForPort returns a flow hash for which tpl picks source port port.
func hashForPort(t *testing.T, tpl *Template, port uint16) uint32 {
	t.Helper()
	require.GreaterOrEqual(t, port, tpl.portMin)
	h := uint32(((uint64(port-tpl.portMin) << 32) + uint64(tpl.portSpan) - 1) / uint64(tpl.portSpan))
	require.Equal(t, port, tpl.SrcPort(h))
	return h
}

// TestLinuxDefaults checks the defaults that match a Linux vxlan device's
// (created with dstport 4789 and noudpcsum) without a capture: TTL and hop
// limit 64, DF clear, TOS and flow label 0, port 4789, a source port from
// the flow hash, no UDP checksum over IPv4, one over IPv6; and the inner
// MTU Linux gives a vxlan device over a 1500-byte underlay.
func TestLinuxDefaults(t *testing.T) {
	inner := innerUDP4(t, rand.New(rand.NewPCG(1, 2)), 100)
	for _, c := range []TemplateConfig{config4(), config6()} {
		tpl := mustTemplate(t, c)
		pkt := encapsulate(t, tpl, inner, InnerFlowHash(inner))
		d := decode(t, pkt)
		if d.ip4 != nil {
			require.Equal(t, uint8(64), d.ip4.TTL)
			require.Zero(t, d.ip4.Flags)
			require.Zero(t, d.ip4.TOS)
			require.Zero(t, d.udp.Checksum)
			require.Equal(t, 1450, InnerMTU(1500, false))
		} else {
			require.Equal(t, uint8(64), d.ip6.HopLimit)
			require.Zero(t, d.ip6.TrafficClass)
			require.Zero(t, d.ip6.FlowLabel)
			require.NotZero(t, d.udp.Checksum)
			require.Equal(t, 1430, InnerMTU(1500, true))
		}
		require.Equal(t, layers.UDPPort(4789), d.udp.DstPort)
		require.Equal(t, tpl.SrcPort(InnerFlowHash(inner)), uint16(d.udp.SrcPort))
		require.GreaterOrEqual(t, uint16(d.udp.SrcPort), uint16(DefaultSrcPortMin))
		require.Equal(t, []byte{FlagI, 0, 0, 0}, d.vxlan.Contents[:4])
		require.Zero(t, d.vxlan.Contents[7])
		require.Equal(t, c.VNI, binary.BigEndian.Uint32(d.vxlan.Contents[4:])>>8)
		src, _ := d.addrs()
		require.Equal(t, c.Src, src)
	}
}

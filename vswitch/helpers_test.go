package vswitch

import (
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/ports/memport"
)

// fakeClock is a settable clock for aging tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock               { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }
func mustMAC(s string) net.HardwareAddr      { m, err := net.ParseMAC(s); must(err); return m }
func must(err error) {
	if err != nil {
		panic(err)
	}
}
func macN(n int) string {
	return net.HardwareAddr{2, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}.String()
}
func bcast() string { return "ff:ff:ff:ff:ff:ff" }

type rig struct {
	t     *testing.T
	s     *Switch
	clock *fakeClock
	ports map[string]*memport.Port
}

func newRig(t *testing.T, opts Options) *rig {
	t.Helper()
	c := newFakeClock()
	if opts.Clock == nil {
		opts.Clock = c.now
	}
	if opts.PoolFrames == 0 {
		opts.PoolFrames = 2048
	}
	s, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return &rig{t: t, s: s, clock: c, ports: map[string]*memport.Port{}}
}

// attach adds memory ports with the given names.
func (r *rig) attach(names ...string) {
	r.t.Helper()
	for _, n := range names {
		p, err := memport.New(memport.Config{Name: n, TxQueues: len(r.s.workers), RxQueues: len(r.s.workers)})
		require.NoError(r.t, err)
		require.NoError(r.t, r.s.AddPort(p))
		r.ports[n] = p
	}
}

// send injects frames on a port and polls until they are processed.
func (r *rig) send(port string, frames ...[]byte) {
	r.t.Helper()
	require.Equal(r.t, len(frames), r.ports[port].Inject(0, frames...), "rx ring full")
	r.s.Poll()
}

// recv collects what every port transmitted, by port name.
func (r *rig) recv() map[string][][]byte {
	out := map[string][][]byte{}
	for n, p := range r.ports {
		if f := p.CollectAll(); len(f) > 0 {
			out[n] = f
		}
	}
	return out
}

// receivers lists the ports that transmitted something, and drains them.
func (r *rig) receivers() []string {
	var names []string
	for n, f := range r.recv() {
		if len(f) > 0 {
			names = append(names, n)
		}
	}
	return sortStrings(names)
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// frame builds an Ethernet frame (802.1Q-tagged if vlan >= 0) with an IPv4/UDP
// payload padded to at least 60 bytes.
func frame(dst, src string, vlan int) []byte {
	eth := &layers.Ethernet{SrcMAC: mustMAC(src), DstMAC: mustMAC(dst), EthernetType: layers.EthernetTypeIPv4}
	ls := []gopacket.SerializableLayer{eth}
	if vlan >= 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: uint16(vlan), Type: layers.EthernetTypeIPv4})
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	udp := &layers.UDP{SrcPort: 1234, DstPort: 5678}
	must(udp.SetNetworkLayerForChecksum(ip))
	ls = append(ls, ip, udp, gopacket.Payload(make([]byte, 18)))
	buf := gopacket.NewSerializeBuffer()
	must(gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...))
	return buf.Bytes()
}

// decoded is what a test checks of a transmitted frame.
type decoded struct {
	dst, src string
	vlan     int // -1 untagged
	ipOK     bool
}

func decode(t *testing.T, b []byte) decoded {
	t.Helper()
	p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	require.Nil(t, p.ErrorLayer(), "frame does not decode: %v", p.ErrorLayer())
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	d := decoded{dst: eth.DstMAC.String(), src: eth.SrcMAC.String(), vlan: -1}
	if q, ok := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok {
		d.vlan = int(q.VLANIdentifier)
	}
	_, d.ipOK = p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	return d
}

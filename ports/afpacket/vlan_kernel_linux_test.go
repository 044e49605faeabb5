package afpacket_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
	"github.com/vecswitch/vecswitch/vswitch"
)

// vlanPeer is a namespace behind an AF_PACKET port of the switch, with a
// raw socket on its eth0 that sends frames and reads them with their
// auxdata (the container's kernel takes the tag out of a received frame
// too).
type vlanPeer struct {
	fd int
}

func newVLANPeer(t *testing.T, s *vswitch.Switch, name string) *vlanPeer {
	ns := nettest.NewNS(t)
	host := "vsav" + name + nettest.Suffix()
	nettest.Veth(t, host, ns, "10.97.0.1/24", 1)
	p, err := afpacket.New(afpacket.Config{Name: name, Ifname: host})
	require.NoError(t, err)
	require.NoError(t, s.AddPort(p))
	eth0, err := netdev.LinkByName(ns.Path(), "eth0")
	require.NoError(t, err)
	fd, closeFd := netdevtest.Socket(t, ns.Path(), unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK, int(htons(unix.ETH_P_ALL)))
	t.Cleanup(closeFd)
	require.NoError(t, unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1))
	require.NoError(t, unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: eth0.Index}))
	return &vlanPeer{fd: fd}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// poll reads what the peer has and returns the VLAN (-1: untagged) of
// each frame from src.
func (p *vlanPeer) poll(t *testing.T, src []byte) []int {
	var got []int
	buf, oob := make([]byte, 2048), make([]byte, 64)
	for {
		n, oobn, _, _, err := unix.Recvmsg(p.fd, buf, oob, 0)
		if err == unix.EAGAIN {
			return got
		}
		require.NoError(t, err)
		if n < 14 || string(buf[6:12]) != string(src) {
			continue
		}
		vid := -1
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		require.NoError(t, err)
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_PACKET && m.Header.Type == unix.PACKET_AUXDATA {
				if st := binary.NativeEndian.Uint32(m.Data); st&unix.TP_STATUS_VLAN_VALID != 0 {
					vid = int(binary.NativeEndian.Uint16(m.Data[16:]) & 0xFFF)
				}
			}
		}
		got = append(got, vid)
	}
}

// TestAFPacketVLANsThroughSwitch: namespaces on veths with AF_PACKET
// host ends, on one bridge as access ports (VLAN 10 twice, VLAN 0) and
// two trunks of VLANs 10 and 20. The kernel takes the 802.1Q tag out of
// every frame a veth receives; the port puts it back, so a frame a trunk
// sends tagged 10 reaches the VLAN-10 access ports and the other trunk
// tagged 10, not VLAN 0; one tagged 20 only the other trunk; and a tagged
// frame from an access port is dropped (tagged-on-access-port), not sent
// on in the port's VLAN.
func TestAFPacketVLANsThroughSwitch(t *testing.T) {
	nettest.NeedRoot(t)
	s, err := vswitch.New(vswitch.Options{Workers: 1, PoolFrames: 8192, Idle: pipeline.IdleSleep})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	peers := map[string]*vlanPeer{}
	for _, name := range []string{"a", "b", "e", "d", "f"} {
		peers[name] = newVLANPeer(t, s, name)
	}
	trunks, err := vswitch.ParseVLANSet("10,20")
	require.NoError(t, err)
	require.NoError(t, s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{{Name: "br0", Ports: []vswitch.Port{
		{Name: "a", VLAN: 10}, {Name: "b", VLAN: 10}, {Name: "e"},
		{Name: "d", Mode: vswitch.Trunk, Trunks: trunks}, {Name: "f", Mode: vswitch.Trunk, Trunks: trunks},
	}}}}))
	require.NoError(t, s.Start())

	drops := func() uint64 {
		for _, c := range s.Runtime() {
			if c.Name == "l2-input" {
				for _, d := range c.Drops {
					if d.Reason == "tagged-on-access-port" {
						return d.Packets
					}
				}
			}
		}
		return 0
	}
	for i, tc := range []struct {
		name string
		in   string
		vlan int // -1 untagged
		want map[string]int
		drop bool
	}{
		{name: "trunk tagged 10", in: "d", vlan: 10, want: map[string]int{"a": -1, "b": -1, "f": 10}},
		{name: "trunk tagged 20", in: "d", vlan: 20, want: map[string]int{"f": 20}},
		{name: "trunk untagged", in: "d", vlan: -1, want: map[string]int{"e": -1, "f": -1}},
		{name: "access untagged", in: "a", vlan: -1, want: map[string]int{"b": -1, "d": 10, "f": 10}},
		{name: "access tagged 20", in: "a", vlan: 20, drop: true},
		{name: "access VLAN 0 tagged 10", in: "e", vlan: 10, drop: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := []byte{0x02, 0x97, 0, 0, 0, byte(i + 1)}
			f := make([]byte, 64)
			copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
			copy(f[6:], src)
			et := f[12:]
			if tc.vlan >= 0 {
				copy(f[12:], []byte{0x81, 0, 0, byte(tc.vlan)})
				et = f[16:]
			}
			et[0], et[1] = 0x88, 0xb5
			before := drops()
			_, err := unix.Write(peers[tc.in].fd, f)
			require.NoError(t, err)
			// Everything that comes within a second, and at least 200 ms
			// after the last frame expected.
			got := map[string][]int{}
			var done time.Time
			for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				for name, p := range peers {
					if vids := p.poll(t, src); len(vids) > 0 {
						got[name] = append(got[name], vids...)
					}
				}
				if done.IsZero() && len(got) >= len(tc.want) {
					done = time.Now()
					deadline = done.Add(200 * time.Millisecond)
				}
			}
			want := map[string][]int{}
			for name, vid := range tc.want {
				want[name] = []int{vid}
			}
			require.Equal(t, want, got)
			if tc.drop {
				require.Equal(t, before+1, drops(), "tagged-on-access-port")
			} else {
				require.Equal(t, before, drops())
			}
		})
	}
}

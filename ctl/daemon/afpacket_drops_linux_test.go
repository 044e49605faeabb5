package daemon

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
	"github.com/vecswitch/vecswitch/vswitch"
)

// TestAFPacketKernelDropsShown: frames the kernel dropped at a veth
// port's AF_PACKET socket (its buffer full: here the daemon's workers
// are not started, so nothing reads it) are in show errors
// (port:NAME rx-kernel-drops) and in port/stats' driver counters
// (RxKernelDrops). They were counted nowhere.
func TestAFPacketKernelDropsShown(t *testing.T) {
	nettest.NeedRoot(t)
	d, err := New(Config{StateDir: t.TempDir(), Switch: vswitch.Options{Workers: 1}})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	require.True(t, run(t, d, "add-br", "br0").OK)
	ns := nettest.NewNS(t)
	name := "vk" + nettest.Suffix()
	r := run(t, d, "add-port", "br0", name, "type=veth", "netns="+ns.Path(), "io=afpacket")
	require.True(t, r.OK, "%+v", r.Error)
	p, ok := d.drivers[name].port.(*afpacket.Port)
	require.True(t, ok, "the port is %T", d.drivers[name].port)

	eth0, err := netdev.LinkByName(ns.Path(), "eth0")
	require.NoError(t, err)
	fd, closeFd := netdevtest.Socket(t, ns.Path(), unix.AF_PACKET, unix.SOCK_RAW, 0)
	t.Cleanup(closeFd)
	require.NoError(t, unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: eth0.Index}))
	f := make([]byte, 64)
	copy(f, []byte{0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0x98, 0x88, 0xb5})
	kernelDrops := func() uint64 {
		var es []ctl.ErrorCount
		decode(t, run(t, d, "show-errors"), &es)
		for _, e := range es {
			if e.Node == "port:"+name && e.Reason == "rx-kernel-drops" {
				return e.Packets
			}
		}
		return 0
	}
	for sent := 0; sent < 200000 && kernelDrops() == 0; {
		for range 1000 {
			if _, err := unix.Write(fd, f); err == nil {
				sent++
			}
		}
	}
	shown := kernelDrops()
	require.NotZero(t, shown, "show errors has no kernel drops for %s", name)

	r = run(t, d, "port/stats", name)
	require.True(t, r.OK, "%+v", r.Error)
	var ps []struct {
		Driver json.RawMessage `json:"driver"`
	}
	decode(t, r, &ps)
	require.Len(t, ps, 1)
	var st afpacket.Stats
	require.NoError(t, json.Unmarshal(ps[0].Driver, &st))
	require.GreaterOrEqual(t, st.RxKernelDrops, shown)
	require.GreaterOrEqual(t, p.Stats().RxKernelDrops, st.RxKernelDrops, "every reader sees the whole count")
}

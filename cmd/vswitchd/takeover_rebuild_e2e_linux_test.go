package main_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

// TestTakeoverThenRebuild: a port adopted from the old process is made
// again, after the takeover, as in a daemon started plainly: set-port
// mtu= re-attaches it, and a port whose veth vanished is remade. Both
// once tried to adopt the old process's descriptors a second time
// ("takeover: file N used twice") and left the port down for good.
func TestTakeoverThenRebuild(t *testing.T) {
	for _, kind := range [][]string{{"type=veth"}, {"type=veth", "io=afxdp"}} {
		t.Run(strings.Join(kind, ","), func(t *testing.T) {
			d := newDaemon(t)
			a, b := nettest.NewNS(t), nettest.NewNS(t)
			sfx := nettest.Suffix()
			pa, pb := "ra"+sfx, "rb"+sfx
			d.must("add-br", "br0")
			d.must(append(append([]string{"add-port", "br0", pa}, kind...), "netns="+a.Path(), "ip=10.65.0.1/24")...)
			d.must(append(append([]string{"add-port", "br0", pb}, kind...), "netns="+b.Path(), "ip=10.65.0.2/24")...)
			require.NoError(t, ping(a, "10.65.0.2"))
			d.takeover()
			require.NoError(t, ping(a, "10.65.0.2"), "after the takeover")

			// set-port mtu= detaches the port and makes it again.
			d.must("set-port", pa, "mtu=1400")
			l, err := netlink.LinkByName(pa)
			require.NoError(t, err)
			require.Equal(t, 1400, l.Attrs().MTU)
			require.NoError(t, ping(a, "10.65.0.2"), "after set-port mtu=")
			require.Contains(t, d.must("show"), pa)

			// b's veth vanishes: the daemon makes it again, with the MAC
			// port security bound.
			lb, err := netlink.LinkByName(pb)
			require.NoError(t, err)
			require.NoError(t, netlink.LinkDel(lb))
			var err2 error
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				if err2 = ping(a, "10.65.0.2"); err2 == nil {
					break
				}
			}
			require.NoError(t, err2, "the vanished veth was not remade after the takeover")
			var show ctl.ShowView
			require.NoError(t, d.vsctlJSON(&show, "show"))
			for _, br := range show.Bridges {
				for _, p := range br.Ports {
					require.True(t, p.Attached && p.Up, "port %s: attached %v, up %v, down %q", p.Name, p.Attached, p.Up, p.Down)
				}
			}
		})
	}
}

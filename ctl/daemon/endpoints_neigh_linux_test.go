package daemon

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// TestEndpointFirstPacketRouted: the first packet routed to a container
// that has not sent anything yet is delivered, not lost while its MAC is
// resolved (ip4-glean drops meanwhile, and TCP would wait a second to
// send its SYN again). Two endpoints on two bridges behind two router
// interfaces, each the other's way out; the server has sent nothing when
// the client connects. The switch resolves nothing for that: its
// ip4-glean counts no packet as unresolved.
func TestEndpointFirstPacketRouted(t *testing.T) {
	nettest.NeedRoot(t)
	d := newTestDaemon(t, t.TempDir())
	for _, c := range [][]string{{"add-br", "bra"}, {"add-br", "brb"},
		{"rif/add", "ga", "bridge=bra", "addr=10.78.1.1/24"}, {"rif/add", "gb", "bridge=brb", "addr=10.78.2.1/24"}} {
		r := run(t, d, c[0], c[1:]...)
		require.True(t, r.OK, "%v: %+v", c, r.Error)
	}
	ns := map[string]*nettest.NS{}
	sfx := nettest.Suffix()
	for _, e := range []struct{ name, bridge, addr, gw string }{
		{"srv", "bra", "10.78.1.2/24", "10.78.1.1"}, {"cli", "brb", "10.78.2.2/24", "10.78.2.1"}} {
		ns[e.name] = nettest.NewNS(t)
		b, _ := json.Marshal(ctl.EndpointRequest{Network: "n" + e.name, ContainerID: e.name + sfx, IfName: "eth0", Netns: ns[e.name].Path(),
			Bridge: e.bridge, Addrs: []string{e.addr}, Routes: []ctl.RouteSpec{{Dst: "0.0.0.0/0", Gw: e.gw}}})
		r := run(t, d, "endpoint/add", string(b))
		require.True(t, r.OK, "%+v", r.Error)
		t.Cleanup(func() { run(t, d, "endpoint/del", string(b)) })
	}
	var ln net.Listener
	require.NoError(t, netdev.Do(ns["srv"].Path(), func() error {
		var err error
		ln, err = net.Listen("tcp4", ":80")
		return err
	}))
	t.Cleanup(func() { ln.Close() })
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	var c net.Conn
	require.NoError(t, netdev.Do(ns["cli"].Path(), func() error {
		var err error
		c, err = net.DialTimeout("tcp4", "10.78.1.2:80", 10*time.Second)
		return err
	}))
	c.Close()
	for _, n := range d.sw.Runtime() {
		if n.Name == "ip4-glean" {
			for _, dr := range n.Drops {
				require.Zero(t, dr.Packets, "ip4-glean dropped %s packets: the switch resolved an endpoint it made", dr.Reason)
			}
		}
	}
}

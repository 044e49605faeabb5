package main_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

// TestTakeoverTwoWorkersAfterPortChurn: with two workers, an AF_XDP port
// added after a del-port takes the deleted port's index in the running
// process, while a successor attaches the ports in configuration order
// and so gives them other indexes. The switch places a port's queues by
// its index, and an adopted queue must stay on the worker whose pool is
// its socket's UMEM: the successor places each adopted queue where the
// giver had it. (It placed them by its own indexes, and the takeover
// failed: "its socket's UMEM is arena N, the worker's pool is arena M".)
func TestTakeoverTwoWorkersAfterPortChurn(t *testing.T) {
	nettest.NeedRoot(t)
	for _, fp := range []string{"true", "false"} {
		t.Run("fast-path="+fp, func(t *testing.T) {
			d := newDaemon(t, "--cores", "0,1", "--fast-path="+fp)
			a, b, c := nettest.NewNS(t), nettest.NewNS(t), nettest.NewNS(t)
			sfx := nettest.Suffix()
			d.must("add-br", "br0")
			add := func(name string, ns *nettest.NS, ip string) {
				d.must("add-port", "br0", name, "type=veth", "io=afxdp", "netns="+ns.Path(), "ip="+ip)
			}
			add("wa"+sfx, a, "10.93.0.1/24") // index 1
			add("wb"+sfx, b, "10.93.0.2/24") // 2
			add("wc"+sfx, c, "10.93.0.3/24") // 3
			d.must("del-port", "wa"+sfx)
			add("wd"+sfx, a, "10.93.0.1/24") // 1 again; a successor gives wb 1, wc 2, wd 3
			require.NoError(t, ping(a, "10.93.0.2"))
			require.NoError(t, ping(a, "10.93.0.3"))
			queues := portQueues(t, d)

			d.takeover()
			require.NotContains(t, d.must("show"), " down", "a port is down after the takeover")
			require.Equal(t, queues, portQueues(t, d), "every queue on the worker it had")
			require.NoError(t, ping(a, "10.93.0.2"))
			require.NoError(t, ping(a, "10.93.0.3"))
			require.NoError(t, ping(b, "10.93.0.3"))

			// And once more: the successor hands over what it adopted.
			d.takeover()
			require.NotContains(t, d.must("show"), " down", "a port is down after the second takeover")
			require.NoError(t, ping(a, "10.93.0.2"))
			require.NoError(t, ping(b, "10.93.0.3"))
		})
	}
}

// portQueues is, by port, which worker polls each rx queue.
func portQueues(t *testing.T, d *daemon) map[string][]ctl.QueueInfo {
	t.Helper()
	var show ctl.ShowView
	require.NoError(t, d.vsctlJSON(&show, "show"))
	out := map[string][]ctl.QueueInfo{}
	for _, b := range show.Bridges {
		for _, p := range b.Ports {
			require.True(t, p.Up, "port %s is not up", p.Name)
			out[p.Name] = p.RxQueues
		}
	}
	return out
}

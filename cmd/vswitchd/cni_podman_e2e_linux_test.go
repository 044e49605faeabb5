package main_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/cnitest"
)

// TestCNIWithPodman: Debian's podman, with its CNI backend and a network
// whose only plugin is vecswitch-cni, runs two busybox containers (an
// image imported offline) on a Vecswitch bridge, and they ping each
// other. Removing a container runs CNI DEL: its endpoint goes.
func TestCNIWithPodman(t *testing.T) {
	d, p, img, network := podmanRig(t, "pb")

	run := []string{"run", "-d", "--network", network, "--cap-add", "NET_RAW", img, "sleep", "120"}
	c1 := p.Run(t, run...)
	c2 := p.Run(t, run...)
	ip1, ip2 := p.IP(t, c1, network), p.IP(t, c2, network)
	require.NotEmpty(t, ip1)
	require.NotEmpty(t, ip2)
	require.NotEqual(t, ip1, ip2)
	p.Run(t, "exec", c1, "ping", "-c", "1", "-W", "5", ip2)
	p.Run(t, "exec", c2, "ping", "-c", "1", "-W", "5", ip1)

	e := &cniEnv{t: t, d: d, network: network}
	eps := e.endpoints()
	require.Len(t, eps, 2)
	for _, ep := range eps {
		require.Equal(t, "up", ep.State)
	}
	p.Run(t, "rm", "-f", "-t", "0", c1)
	require.Len(t, e.endpoints(), 1)
	p.Run(t, "rm", "-f", "-t", "0", c2)
	require.Empty(t, e.endpoints())
	requireNoEndpointVeths(t, d)
}

// podmanRig starts vswitchd with a bridge (named from prefix), a private
// podman whose CNI network (network) has vecswitch-cni as its only
// plugin, and a busybox image img in it.
func podmanRig(t *testing.T, prefix string) (d *daemon, p *cnitest.Podman, img, network string) {
	d = newDaemon(t)
	br := cnitest.UniqueName(prefix)
	d.must("add-br", br)
	p = cnitest.NewPodman(t, cnitest.PluginPath(t, bins.cni))
	img = p.ImportBusybox(t)
	network = cnitest.UniqueName("vsp-")
	// Podman 4.3's libcni speaks CNI up to 1.0.0.
	cnitest.WriteConflist(t, p.NetworkDir, network, map[string]any{"type": "vecswitch-cni", "bridge": br, "socket": d.socket,
		"ipam": vecswitchIPAM(cnitest.RandomSubnet4())})
	return d, p, img, network
}

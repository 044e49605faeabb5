package dockernet

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/cnitest"
	"github.com/vecswitch/vecswitch/internal/dockertest"
)

// TestDockerPublish: a real dockerd with this driver. A network created
// with -o masquerade=up0 and a container run with -p 8080:80 (busybox
// httpd): the port map shows in nat/show, the outside namespace behind
// the uplink fetches the page from the uplink address, and docker rm and
// docker network rm remove the map and the masquerade.
func TestDockerPublish(t *testing.T) {
	dockertest.RequireDocker(t)
	r := newRig(t, t.TempDir())
	out := r.outside()
	name := cnitest.UniqueName("vst-")
	dockertest.WritePluginSpec(t, name, r.srv.Path())
	dk := dockertest.Start(t)
	img := dk.ImportBusybox(t)

	network, ctr := cnitest.UniqueName("vsn"), cnitest.UniqueName("c")
	dk.Docker(t, "network", "create", "-d", name, "--ipam-driver", name, "--subnet", "10.87.0.0/24", "-o", "masquerade=up0", network)
	dk.Docker(t, "run", "-d", "--name", ctr, "--network", network, "-p", "8080:80", img,
		"sh", "-c", "echo hello from docker >/tmp/index.html && exec /bin/busybox httpd -f -p 80 -h /tmp")
	ip := dk.IP(t, ctr, network)
	v := natShow(r)
	require.Equal(t, []ctl.NATPortMapView{{Proto: "tcp", HostPort: 8080, Target: ip, TargetPort: 80}}, v.PortMaps)
	require.Len(t, v.Masquerade, 1)
	got, err := fetch(out, "192.0.2.1:8080")
	require.NoError(t, err, got)
	require.Equal(t, "hello from docker\n", got)

	dk.Docker(t, "rm", "-f", ctr)
	require.Empty(t, natShow(r).PortMaps, "docker rm leaves no port map")
	dk.Docker(t, "network", "rm", network)
	v = natShow(r)
	require.Empty(t, v.Masquerade)
	require.False(t, v.Enabled)
}

// TestDockerRouted: a real dockerd on a -o mode=routed network. No bridge
// is made; each container is a routed vswitchd endpoint whose default
// route is 169.254.1.1 (on-link), answered by proxy ARP; two containers
// ping each other through the switch's router, and docker rm and docker
// network rm leave no port, interface or route behind.
func TestDockerRouted(t *testing.T) {
	dockertest.RequireDocker(t)
	r := newRig(t, t.TempDir())
	name := cnitest.UniqueName("vst-")
	dockertest.WritePluginSpec(t, name, r.srv.Path())
	dk := dockertest.Start(t)
	img := dk.ImportBusybox(t)

	network, c1, c2 := cnitest.UniqueName("vsr"), cnitest.UniqueName("c"), cnitest.UniqueName("c")
	dk.Docker(t, "network", "create", "-d", name, "--ipam-driver", name, "--subnet", "10.86.0.0/24", "-o", "mode=routed", network)
	for _, c := range []string{c1, c2} {
		dk.Docker(t, "run", "-d", "--name", c, "--network", network, "--cap-add", "NET_RAW", img, "sleep", "600")
	}
	var brs []string
	require.NoError(t, r.vs("list-br", &brs))
	require.Empty(t, brs, "a routed network makes no bridge")
	var sv ctl.ShowView
	require.NoError(t, r.vs("show", &sv))
	require.Len(t, sv.RoutedPorts, 2)
	routes := dk.Docker(t, "exec", c1, "ip", "route")
	require.Contains(t, routes, "default via 169.254.1.1 dev eth0", "the container's gateway is the link-local one")
	ip2 := dk.IP(t, c2, network)
	out, err := dk.Try("exec", c1, "ping", "-c", "2", "-W", "3", ip2)
	require.NoError(t, err, "c1 -> c2 through the switch's router: %s", out)

	dk.Docker(t, "rm", "-f", c1, c2)
	dk.Docker(t, "network", "rm", network)
	var after ctl.ShowView
	require.NoError(t, r.vs("show", &after))
	require.Empty(t, after.RoutedPorts)
	var ifs []ctl.Interface
	require.NoError(t, r.vs("rif/show", &ifs))
	require.Empty(t, ifs)
}

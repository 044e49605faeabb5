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

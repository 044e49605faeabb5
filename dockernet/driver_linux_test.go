package dockernet

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// dockerID is an ID as Docker makes them (64 hex digits).
func dockerID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func TestActivateAndCapabilities(t *testing.T) {
	r := newRig(t, t.TempDir())
	var act activateResponse
	r.ok("Plugin.Activate", nil, &act)
	require.ElementsMatch(t, []string{"NetworkDriver", "IpamDriver"}, act.Implements)
	var caps capabilitiesResponse
	r.ok("NetworkDriver.GetCapabilities", nil, &caps)
	require.Equal(t, capabilitiesResponse{Scope: "local", ConnectivityScope: "local"}, caps)
	var spaces addressSpacesResponse
	r.ok("IpamDriver.GetDefaultAddressSpaces", nil, &spaces)
	require.Equal(t, LocalAddressSpace, spaces.LocalDefaultAddressSpace)
	r.ok("IpamDriver.GetCapabilities", nil, nil)
	r.ok("NetworkDriver.DiscoverNew", map[string]any{"DiscoveryType": 1, "DiscoveryData": map[string]any{"Address": "10.0.0.1"}}, nil)
	// An unknown method is 404, which libnetwork reads as "not implemented".
	r.fails("NetworkDriver.NoSuchMethod", nil, http.StatusNotFound, "not a method")
}

// dockerNetwork does what dockerd does for `docker network create -d
// vecswitch --ipam-driver vecswitch --subnet SUBNET [-o k=v]`.
func (r *rig) dockerNetwork(subnet string, generic map[string]any) (netID, poolID, gw string) {
	var pool requestPoolResponse
	r.ok("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, Pool: subnet}, &pool)
	var gwr requestAddressResponse
	r.ok("IpamDriver.RequestAddress", requestAddressRequest{PoolID: pool.PoolID, Options: map[string]string{"RequestAddressType": gatewayRequest}}, &gwr)
	netID = dockerID()
	opts := map[string]any{}
	if generic != nil {
		opts[optGeneric] = generic
	}
	r.ok("NetworkDriver.CreateNetwork", createNetworkRequest{NetworkID: netID, Options: opts,
		IPv4Data: []ipamData{{AddressSpace: LocalAddressSpace, Pool: pool.Pool, Gateway: gwr.Address}}}, nil)
	return netID, pool.PoolID, gwr.Address
}

// container is one endpoint joined to a namespace as dockerd would.
type container struct {
	ns     *nettest.NS
	epID   string
	addr   string
	mac    string
	joined joinResponse
}

// dockerRun does what dockerd does for `docker run --network NET`: an
// address, an endpoint, a join, and the move of the interface into the
// sandbox with its address.
func (r *rig) dockerRun(netID, poolID string) *container {
	c := &container{ns: nettest.NewNS(r.t), epID: dockerID()}
	var a requestAddressResponse
	r.ok("IpamDriver.RequestAddress", requestAddressRequest{PoolID: poolID}, &a)
	c.addr = a.Address
	var ce createEndpointResponse
	r.ok("NetworkDriver.CreateEndpoint", createEndpointRequest{NetworkID: netID, EndpointID: c.epID,
		Interface: &endpointInterface{Address: a.Address}}, &ce)
	require.NotNil(r.t, ce.Interface, "the driver chooses the MAC")
	c.mac = ce.Interface.MacAddress
	r.ok("NetworkDriver.Join", joinRequest{NetworkID: netID, EndpointID: c.epID, SandboxKey: c.ns.Path()}, &c.joined)
	l, err := netdev.LinkByName("", c.joined.InterfaceName.SrcName)
	require.NoError(r.t, err)
	require.Equal(r.t, c.mac, l.MAC.String())
	_, err = netdev.MoveLink(l.Index, c.ns.Path())
	require.NoError(r.t, err)
	require.NoError(r.t, netdev.Configure(c.ns.Path(), c.joined.InterfaceName.SrcName, netdev.LinkConfig{
		Name: c.joined.InterfaceName.DstPrefix + "0", Addrs: []netip.Prefix{netip.MustParsePrefix(c.addr)}, Up: true}))
	return c
}

func (c *container) ping(t *testing.T, other *container) error {
	t.Helper()
	out, err := c.ns.Command("ping", "-c", "1", "-W", "3", netip.MustParsePrefix(other.addr).Addr().String()).CombinedOutput()
	if err != nil {
		t.Logf("ping: %s", out)
	}
	return err
}

// dockerRm does what dockerd does for `docker rm -f`.
func (r *rig) dockerRm(netID, poolID string, c *container) {
	r.ok("NetworkDriver.Leave", endpointRequest{NetworkID: netID, EndpointID: c.epID}, nil)
	r.ok("NetworkDriver.DeleteEndpoint", endpointRequest{NetworkID: netID, EndpointID: c.epID}, nil)
	r.ok("IpamDriver.ReleaseAddress", releaseAddressRequest{PoolID: poolID, Address: netip.MustParsePrefix(c.addr).Addr().String()}, nil)
}

// dockerNetworkRm does what dockerd does for `docker network rm`.
func (r *rig) dockerNetworkRm(netID, poolID, gw string) {
	r.ok("NetworkDriver.DeleteNetwork", networkRequest{NetworkID: netID}, nil)
	r.ok("IpamDriver.ReleaseAddress", releaseAddressRequest{PoolID: poolID, Address: netip.MustParsePrefix(gw).Addr().String()}, nil)
	r.ok("IpamDriver.ReleasePool", releasePoolRequest{PoolID: poolID}, nil)
}

// TestDockerFlow: the calls of network create, run, rm and network rm,
// with traffic between two containers, isolation from a third network,
// a vswitchd restart in the middle, and nothing left at the end.
func TestDockerFlow(t *testing.T) {
	r := newRig(t, t.TempDir())
	netA, poolA, gwA := r.dockerNetwork("10.81.0.0/24", map[string]any{"mtu": "1400"})
	require.Equal(t, "10.81.0.1/24", gwA, "the pool's gateway")
	// The second network asks for the same subnet: the same pool (its
	// reference count is 2), so a container there gets an address of the
	// same subnet, and only L2 isolation keeps it apart.
	netB, poolB, gwB := r.dockerNetwork("10.81.0.0/24", nil)
	require.Equal(t, poolA, poolB)
	c1, c2 := r.dockerRun(netA, poolA), r.dockerRun(netA, poolA)
	c3 := r.dockerRun(netB, poolB)
	require.Equal(t, "10.81.0.1", c1.joined.Gateway)
	require.True(t, c1.joined.DisableGatewayService, "no docker_gwbridge")
	require.NotEqual(t, c1.addr, c2.addr)
	require.NoError(t, c1.ping(t, c2))
	require.Error(t, c1.ping(t, c3), "another network is not reachable, even in the same subnet")
	require.Error(t, c3.ping(t, c2))
	l, err := netdev.LinkByName(c1.ns.Path(), "eth0")
	require.NoError(t, err)
	require.Equal(t, 1400, l.MTU, "-o mtu=1400")
	var info operInfoResponse
	r.ok("NetworkDriver.EndpointOperInfo", endpointRequest{NetworkID: netA, EndpointID: c1.epID}, &info)
	require.Equal(t, c1.mac, info.Value["mac"])

	// vswitchd restarts while dockerd keeps running: everything stays.
	r.restart()
	require.NoError(t, c2.ping(t, c1))
	r.ok("NetworkDriver.EndpointOperInfo", endpointRequest{NetworkID: netA, EndpointID: c2.epID}, nil)

	// Publishing a port is refused clearly; exposing none is fine.
	r.fails("NetworkDriver.ProgramExternalConnectivity", connectivityRequest{NetworkID: netA, EndpointID: c1.epID,
		Options: map[string]any{optPortMap: []any{map[string]any{"Proto": 6, "Port": 80, "HostPort": 8080}}}}, http.StatusInternalServerError, "needs NAT")
	r.ok("NetworkDriver.ProgramExternalConnectivity", connectivityRequest{NetworkID: netA, EndpointID: c1.epID}, nil)
	r.ok("NetworkDriver.RevokeExternalConnectivity", endpointRequest{NetworkID: netA, EndpointID: c1.epID}, nil)

	for _, c := range []*container{c1, c2} {
		r.dockerRm(netA, poolA, c)
		require.False(t, linkExists(c.ns.Path(), "eth0"), "the container's interface went with the endpoint")
	}
	r.dockerRm(netB, poolB, c3)
	r.dockerNetworkRm(netA, poolA, gwA)
	r.dockerNetworkRm(netB, poolB, gwB)
	var brs []string
	require.NoError(t, r.vs("list-br", &brs))
	require.Empty(t, brs)
	var eps []ctl.EndpointView
	require.NoError(t, r.vs("endpoint/show", &eps))
	require.Empty(t, eps)
	var pools []ctl.PoolView
	require.NoError(t, r.vs("ipam/show", &pools))
	require.Empty(t, pools, "no pool and no lease left")
	require.Empty(t, r.drv.st.Networks)
	require.Empty(t, r.drv.st.Pools)
}

func linkExists(ns, name string) bool {
	_, err := netdev.LinkByName(ns, name)
	return err == nil
}

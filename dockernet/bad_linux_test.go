package dockernet

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBadRequests: each gets Docker's error format and changes nothing,
// neither in vswitchd nor in the driver's stored state.
func TestBadRequests(t *testing.T) {
	r := newRig(t, t.TempDir())
	// A network whose pool has one free address (a /30: the gateway
	// and one more), with one endpoint.
	netID, poolID, _ := r.dockerNetwork("10.82.0.0/30", nil)
	c := r.dockerRun(netID, poolID)
	unknown := dockerID()
	before := r.snapshot()
	for _, tc := range []struct {
		method string
		body   any
		status int
		want   string
	}{
		{"NetworkDriver.CreateEndpoint", createEndpointRequest{NetworkID: unknown, EndpointID: dockerID()}, 500, "no network"},
		{"NetworkDriver.Join", joinRequest{NetworkID: unknown, EndpointID: c.epID}, 500, "no network"},
		{"NetworkDriver.Join", joinRequest{NetworkID: netID, EndpointID: unknown}, 500, "no endpoint"},
		{"NetworkDriver.Leave", endpointRequest{NetworkID: netID, EndpointID: unknown}, 500, "no endpoint"},
		{"NetworkDriver.DeleteEndpoint", endpointRequest{NetworkID: netID, EndpointID: unknown}, 500, "no endpoint"},
		{"NetworkDriver.EndpointOperInfo", endpointRequest{NetworkID: unknown, EndpointID: c.epID}, 500, "no network"},
		{"NetworkDriver.DeleteNetwork", networkRequest{NetworkID: unknown}, 500, "no network"},
		{"NetworkDriver.CreateEndpoint", createEndpointRequest{NetworkID: netID, EndpointID: c.epID}, 500, "exists"},
		{"NetworkDriver.CreateNetwork", createNetworkRequest{NetworkID: netID}, 500, "exists"},
		{"NetworkDriver.CreateNetwork", createNetworkRequest{NetworkID: dockerID(), Options: map[string]any{optGeneric: map[string]any{"color": "red"}}}, 500, "unknown option"},
		{"NetworkDriver.CreateNetwork", createNetworkRequest{NetworkID: dockerID(), Options: map[string]any{optGeneric: map[string]any{"vlan": "5000"}}}, 500, "vlan=5000"},
		{"NetworkDriver.CreateNetwork", createNetworkRequest{NetworkID: "../../etc"}, 500, "network ID"},
		{"NetworkDriver.CreateEndpoint", createEndpointRequest{NetworkID: netID, EndpointID: dockerID(), Interface: &endpointInterface{Address: "10.82.0.9"}}, 500, "ADDRESS/PREFIX"},
		{"NetworkDriver.CreateEndpoint", `{"NetworkID": `, 400, "malformed"},
		{"NetworkDriver.Join", `[]`, 400, "malformed"},
		{"IpamDriver.RequestAddress", requestAddressRequest{PoolID: poolID}, 500, "no free address"},
		{"IpamDriver.RequestAddress", requestAddressRequest{PoolID: "docker-nope"}, 500, "no pool"},
		{"IpamDriver.RequestAddress", requestAddressRequest{PoolID: poolID, Address: "192.0.2.1"}, 500, "not an address of"},
		// --ip of the gateway: said so, not "outside the range".
		{"IpamDriver.RequestAddress", requestAddressRequest{PoolID: poolID, Address: "10.82.0.1"}, 500, "10.82.0.1 is the network's gateway"},
		{"IpamDriver.ReleasePool", releasePoolRequest{PoolID: "docker-nope"}, 500, "no pool"},
		{"IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, Pool: "10.82.0.1/24"}, 500, "CIDR"},
		{"IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, SubPool: "10.82.0.0/25"}, 500, "needs a pool"},
		{"IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, Pool: "10.83.0.0/24", SubPool: "10.84.0.0/25"}, 500, "inside"},
		{"IpamDriver.RequestPool", `{"Pool": 7}`, 400, "malformed"},
	} {
		r.fails(tc.method, tc.body, tc.status, tc.want)
		require.Equal(t, before, r.snapshot(), "%s %v changed something", tc.method, tc.body)
	}
}

// TestPools: identical requests share a pool (reference counted), a
// network without --subnet gets the first free default /24, a sub-pool is
// the range addresses come from.
func TestPools(t *testing.T) {
	r := newRig(t, t.TempDir())
	var p1, p2, p3 requestPoolResponse
	r.ok("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace}, &p1)
	require.Equal(t, "10.210.0.0/24", p1.Pool)
	r.ok("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace}, &p2)
	require.Equal(t, "10.210.1.0/24", p2.Pool, "the first default /24 is taken")
	var v6 requestPoolResponse
	r.ok("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, V6: true}, &v6)
	require.Equal(t, "fd56:7673::/64", v6.Pool)

	r.ok("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, Pool: "10.85.0.0/16", SubPool: "10.85.7.0/24"}, &p3)
	var again requestPoolResponse
	r.ok("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, Pool: "10.85.0.0/16", SubPool: "10.85.7.0/24"}, &again)
	require.Equal(t, p3.PoolID, again.PoolID, "identical requests, the same pool")
	var a requestAddressResponse
	r.ok("IpamDriver.RequestAddress", requestAddressRequest{PoolID: p3.PoolID}, &a)
	require.Equal(t, "10.85.7.0/16", a.Address, "from the sub-pool")
	r.ok("IpamDriver.RequestAddress", requestAddressRequest{PoolID: p3.PoolID, Address: "10.85.7.9"}, &a)
	require.Equal(t, "10.85.7.9/16", a.Address, "an address asked for (--ip)")
	r.fails("IpamDriver.RequestAddress", requestAddressRequest{PoolID: p3.PoolID, Address: "10.85.7.9"}, 500, "in use")

	// Released once: still there for the other reference.
	r.ok("IpamDriver.ReleasePool", releasePoolRequest{PoolID: p3.PoolID}, nil)
	r.ok("IpamDriver.RequestAddress", requestAddressRequest{PoolID: p3.PoolID}, nil)
	// Released again: gone, with the leases a lost answer left.
	r.ok("IpamDriver.ReleasePool", releasePoolRequest{PoolID: p3.PoolID}, nil)
	r.fails("IpamDriver.RequestAddress", requestAddressRequest{PoolID: p3.PoolID}, 500, "no pool")
}

// TestCrashRetry: a bridge or pool made by a call whose answer was lost
// (vswitchd killed before the driver stored it) is taken over by Docker's
// retry, and a damaged docker.json falls back to its previous copy.
func TestCrashRetry(t *testing.T) {
	dir := t.TempDir()
	r := newRig(t, dir)
	netID := dockerID()
	require.NoError(t, r.vs("add-br", nil, bridgeName(netID)))
	id := poolID(LocalAddressSpace, "10.86.0.0/24", "")
	require.NoError(t, r.vs("ipam/pool-add", nil, id, "subnet=10.86.0.0/24"))
	var p requestPoolResponse
	r.ok("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, Pool: "10.86.0.0/24"}, &p)
	require.Equal(t, id, p.PoolID)
	r.ok("NetworkDriver.CreateNetwork", createNetworkRequest{NetworkID: netID}, nil)
	c := r.dockerRun(netID, p.PoolID)

	var p2 requestPoolResponse
	r.ok("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, Pool: "10.86.0.0/24"}, &p2)
	require.Equal(t, id, p2.PoolID)
	_, err := os.Stat(filepath.Join(dir, StateFile+".journal"))
	require.ErrorIs(t, err, os.ErrNotExist, "the driver's state is saved whole, with no journal beside it")

	// docker.json damaged: the previous copy (the network, the pool with
	// one reference) is used and vswitchd still starts; the endpoint is
	// vswitchd's own and was never in docker.json.
	r.stop()
	require.NoError(t, os.WriteFile(filepath.Join(dir, StateFile), []byte("{not json"), 0o600))
	r.start()
	var j joinResponse
	r.ok("NetworkDriver.Join", joinRequest{NetworkID: netID, EndpointID: c.epID}, &j)
	require.Equal(t, c.joined.InterfaceName, j.InterfaceName)
	require.Equal(t, 1, r.drv.st.Pools[id].Refs, "the copy before the last change")
	r.dockerRm(netID, id, c)
	r.ok("NetworkDriver.DeleteNetwork", networkRequest{NetworkID: netID}, nil)
	r.ok("IpamDriver.ReleasePool", releasePoolRequest{PoolID: id}, nil)
	var pools []any
	require.NoError(t, r.vs("ipam/show", &pools))
	require.Empty(t, pools)
}

package dockernet

import (
	"net/netip"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// lostRm does to a container what libnetwork does on docker rm -f,
// stop or network disconnect when the driver does not answer: it takes
// the interface out of the sandbox, back to vswitchd's namespace under
// the name the driver gave it, and calls nothing that gets through.
func lostRm(t *testing.T, c *container) {
	t.Helper()
	out, err := c.ns.Command("ip", "link", "set", "dev", "eth0", "down", "name", c.joined.InterfaceName.SrcName,
		"netns", strconv.Itoa(os.Getpid())).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// backdateJoins makes every recorded Join older than joinGrace, as after
// an outage longer than that.
func (r *rig) backdateJoins() {
	r.drv.mu.Lock()
	defer r.drv.mu.Unlock()
	for _, n := range r.drv.st.Networks {
		for id := range n.Joined {
			n.Joined[id] = time.Now().Add(-2 * joinGrace)
		}
	}
	require.NoError(r.t, r.drv.save())
}

func (r *rig) leases(poolID string) []string {
	var pools []ctl.PoolView
	require.NoError(r.t, r.vs("ipam/show", &pools, poolID))
	var addrs []string
	for _, l := range pools[0].Leases {
		for _, a := range l.Addrs {
			addrs = append(addrs, leaseAddr(a).String())
		}
	}
	return addrs
}

func (r *rig) hasEndpoint(netID, epID string) bool {
	eps, err := r.drv.endpoints(netID, epID)
	require.NoError(r.t, err)
	return len(eps) > 0
}

// TestReconcileLostCalls: what Docker's calls lost during a vswitchd
// outage left is repaired by the driver: endpoints whose container end
// came back (docker rm -f, disconnect) are collected at start with
// their port maps and leases, and not one joined just now or still in
// its sandbox; a network removed during the outage is named by the
// overlap error a later network gets, and forgotten with its pool once
// its bridge is removed; a pool removed with ipam/pool-del is made
// again for the next network of its subnet.
func TestReconcileLostCalls(t *testing.T) {
	r := newRig(t, t.TempDir())
	r.outside()
	netA, poolA, _ := r.dockerNetwork("10.88.0.0/24", map[string]any{"masquerade": "up0"})
	gone, live := r.dockerRun(netA, poolA), r.dockerRun(netA, poolA)
	r.ok("NetworkDriver.ProgramExternalConnectivity", connectivityRequest{NetworkID: netA, EndpointID: gone.epID,
		Options: map[string]any{optPortMap: []portBinding{{Proto: 6, Port: 80, HostPort: 8080}}}}, nil)
	require.Len(t, natShow(r).PortMaps, 1)
	goneAddr := netip.MustParsePrefix(gone.addr).Addr().String()
	require.Contains(t, r.leases(poolA), goneAddr)

	// vswitchd stops; docker rm -f gone gives up after its retries.
	r.stop()
	lostRm(t, gone)
	r.start()
	r.backdateJoins()
	// A container being started: joined, its end not yet moved.
	starting := dockerID()
	var a requestAddressResponse
	r.ok("IpamDriver.RequestAddress", requestAddressRequest{PoolID: poolA}, &a)
	r.ok("NetworkDriver.CreateEndpoint", createEndpointRequest{NetworkID: netA, EndpointID: starting,
		Interface: &endpointInterface{Address: a.Address}}, nil)
	r.ok("NetworkDriver.Join", joinRequest{NetworkID: netA, EndpointID: starting}, nil)
	r.restart()

	require.False(t, r.hasEndpoint(netA, gone.epID), "the endpoint Docker lost is collected at start")
	require.False(t, linkExists("", gone.joined.InterfaceName.SrcName), "with its veth pair")
	require.Empty(t, natShow(r).PortMaps, "and its port maps")
	require.NotContains(t, r.leases(poolA), goneAddr, "and its lease")
	require.True(t, r.hasEndpoint(netA, live.epID), "a container still in its sandbox keeps its endpoint")
	require.True(t, r.hasEndpoint(netA, starting), "one joined just now keeps its")
	require.NotContains(t, r.drv.st.Networks[netA].Joined, gone.epID)
	// Docker's late DeleteEndpoint (the outage was short after all) is
	// told the endpoint is gone and goes on.
	r.fails("NetworkDriver.DeleteEndpoint", endpointRequest{NetworkID: netA, EndpointID: gone.epID}, 500, "no endpoint")
	r.dockerRm(netA, poolA, live)
	r.ok("NetworkDriver.DeleteEndpoint", endpointRequest{NetworkID: netA, EndpointID: starting}, nil)
	require.False(t, linkExists("", peerName(starting)))

	// docker network rm netB during the outage: nothing got through.
	netB, poolB, _ := r.dockerNetwork("10.89.0.0/24", nil)
	r.restart()
	r.fails("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, Pool: "10.89.0.0/16"}, 500,
		"Docker networks of this driver on 10.89.0.0/16: "+shortID(netB)+" (bridge "+bridgeName(netB)+")")
	require.NoError(t, r.vs("del-br", nil, bridgeName(netB)))
	var p requestPoolResponse
	r.ok("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, Pool: "10.89.0.0/16"}, &p)
	require.NotContains(t, r.drv.st.Networks, netB, "the network whose bridge went is forgotten")
	require.NotContains(t, r.drv.st.Pools, poolB, "with its pool")
	var pools []ctl.PoolView
	require.NoError(t, r.vs("ipam/show", &pools))
	require.False(t, slices.ContainsFunc(pools, func(v ctl.PoolView) bool { return v.Name == poolB }))
	r.ok("IpamDriver.ReleasePool", releasePoolRequest{PoolID: p.PoolID}, nil)

	// A pool removed by hand is made again for the next network of its
	// subnet (it was handed out by ID, and every address request failed).
	netC, poolC, _ := r.dockerNetwork("10.90.0.0/24", map[string]any{"mode": "routed"})
	require.NoError(t, r.vs("ipam/pool-del", nil, poolC))
	var again requestPoolResponse
	r.ok("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, Pool: "10.90.0.0/24"}, &again)
	require.Equal(t, poolC, again.PoolID)
	r.ok("IpamDriver.RequestAddress", requestAddressRequest{PoolID: poolC}, nil)
	require.NotContains(t, r.drv.st.Networks, netC, "the routed network of the removed pool is forgotten")
	require.Equal(t, 1, r.drv.st.Pools[poolC].Refs)
}

// TestJoinRecord: Join records the endpoint, Leave and DeleteEndpoint
// drop it, and a container end still here within joinGrace of its Join
// is left alone.
func TestJoinRecord(t *testing.T) {
	r := newRig(t, t.TempDir())
	netID, poolID, _ := r.dockerNetwork("10.91.0.0/24", nil)
	c := r.dockerRun(netID, poolID)
	require.Contains(t, r.drv.st.Networks[netID].Joined, c.epID)
	lostRm(t, c)
	r.restart()
	require.True(t, r.hasEndpoint(netID, c.epID), "joined within joinGrace: Docker may not have moved it yet")
	r.ok("NetworkDriver.Leave", endpointRequest{NetworkID: netID, EndpointID: c.epID}, nil)
	require.NotContains(t, r.drv.st.Networks[netID].Joined, c.epID)
	r.ok("NetworkDriver.Join", joinRequest{NetworkID: netID, EndpointID: c.epID}, nil)
	r.ok("NetworkDriver.DeleteEndpoint", endpointRequest{NetworkID: netID, EndpointID: c.epID}, nil)
	require.Empty(t, r.drv.st.Networks[netID].Joined)
	_, err := netdev.LinkByName("", c.joined.InterfaceName.SrcName)
	require.Error(t, err)
}

package dockernet

import (
	"bytes"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports/netdev"
)

// TestDamagedStateKeptAndLostNetwork: docker.json damaged while vswitchd
// was stopped. The driver used to fall back to docker.json.prev and let
// the next call overwrite the damaged file, keeping no copy; a network
// created after the previous copy then answered "no network" to Docker
// while its bridge stayed. Now the damaged file is kept aside
// (docker.json.corrupt-TIME), one ERROR line names it and the copy used,
// the network whose record is lost is named at start and in the errors
// of the calls that need its record, and Docker's calls that take it
// down clear what vswitchd has of it.
func TestDamagedStateKeptAndLostNetwork(t *testing.T) {
	dir := t.TempDir()
	r := newRig(t, dir)
	netA, poolA, _ := r.dockerNetwork("10.86.0.0/24", nil)
	// B is stored (CreateNetwork) with docker.json.prev one change
	// behind it (its RequestPool): B is only in docker.json. Its
	// endpoint is in vswitchd only (CreateEndpoint stores nothing).
	netB, poolB, gwB := r.dockerNetwork("10.87.0.0/24", nil)
	var addr requestAddressResponse
	r.ok("IpamDriver.RequestAddress", requestAddressRequest{PoolID: poolB}, &addr)
	epB := dockerID()
	r.ok("NetworkDriver.CreateEndpoint", createEndpointRequest{NetworkID: netB, EndpointID: epB,
		Interface: &endpointInterface{Address: addr.Address}}, nil)
	eps, err := r.drv.endpoints(netB, epB)
	require.NoError(t, err)
	require.Len(t, eps, 1)
	portB := eps[0].Port
	// Should the test fail before DeleteEndpoint, no veth is left on the
	// host (a stopped vswitchd keeps its ports' veths).
	t.Cleanup(func() { exec.Command("ip", "link", "del", portB).Run() })

	r.stop()
	path := filepath.Join(dir, StateFile)
	good, err := os.ReadFile(path)
	require.NoError(t, err)
	torn := good[:len(good)/2]
	require.NoError(t, os.WriteFile(path, torn, 0o600))
	var logBuf bytes.Buffer
	r.log = slog.New(slog.NewTextHandler(&logBuf, nil))
	r.start()

	log := logBuf.String()
	require.Contains(t, log, "level=ERROR msg=\"DOCKER DRIVER STATE DAMAGED")
	require.Contains(t, log, path+".prev")
	asides, _ := filepath.Glob(path + ".corrupt-*")
	require.Len(t, asides, 1, "the damaged file is kept")
	require.Contains(t, log, asides[0])
	b, err := os.ReadFile(asides[0])
	require.NoError(t, err)
	require.Equal(t, torn, b)
	// B's bridge is named at start.
	require.Contains(t, log, bridgeName(netB))

	// Later calls store the state and leave the damaged copy alone.
	var p requestPoolResponse
	r.ok("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, Pool: "10.88.0.0/24"}, &p)
	b, err = os.ReadFile(asides[0])
	require.NoError(t, err)
	require.Equal(t, torn, b)
	_, _, _, err = load(dir)
	require.NoError(t, err, "docker.json is whole again")

	// A is whole; B's record is lost: what needs it says so.
	r.dockerRun(netA, poolA)
	for _, call := range []struct {
		method string
		body   any
	}{
		{"NetworkDriver.CreateEndpoint", createEndpointRequest{NetworkID: netB, EndpointID: dockerID()}},
		{"NetworkDriver.Join", joinRequest{NetworkID: netB, EndpointID: epB}},
		{"NetworkDriver.EndpointOperInfo", endpointRequest{NetworkID: netB, EndpointID: epB}},
	} {
		r.fails(call.method, call.body, 500, "no record of network "+netB+", but its bridge "+bridgeName(netB)+" is still in vswitchd")
	}
	// Docker's way out (disconnect, network rm) leaves nothing behind.
	r.ok("NetworkDriver.Leave", endpointRequest{NetworkID: netB, EndpointID: epB}, nil)
	r.ok("NetworkDriver.RevokeExternalConnectivity", endpointRequest{NetworkID: netB, EndpointID: epB}, nil)
	r.ok("NetworkDriver.DeleteEndpoint", endpointRequest{NetworkID: netB, EndpointID: epB}, nil)
	_, err = netdev.LinkByName("", portB)
	require.Error(t, err, "the endpoint's veth is gone")
	r.ok("IpamDriver.ReleaseAddress", releaseAddressRequest{PoolID: poolB, Address: netip.MustParsePrefix(addr.Address).Addr().String()}, nil)
	r.ok("NetworkDriver.DeleteNetwork", networkRequest{NetworkID: netB}, nil)
	var brs []string
	require.NoError(t, r.vs("list-br", &brs))
	require.NotContains(t, brs, bridgeName(netB))
	require.Contains(t, brs, bridgeName(netA))
	r.ok("IpamDriver.ReleaseAddress", releaseAddressRequest{PoolID: poolB, Address: netip.MustParsePrefix(gwB).Addr().String()}, nil)
	r.ok("IpamDriver.ReleasePool", releasePoolRequest{PoolID: poolB}, nil)
	// Created again, it works.
	netB2, poolB2, _ := r.dockerNetwork("10.87.0.0/24", nil)
	r.dockerRun(netB2, poolB2)
	// An unknown network with nothing in vswitchd is still just unknown.
	r.fails("NetworkDriver.DeleteNetwork", networkRequest{NetworkID: netB}, 500, "no network")
}

// TestLoadBothDamaged: docker.json and its previous copy damaged: no
// record, never a failed start, and both files kept aside.
func TestLoadBothDamaged(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{StateFile, StateFile + ".prev"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("{torn"), 0o600))
	}
	st, used, aside, err := load(dir)
	require.Error(t, err)
	require.Empty(t, used)
	require.Empty(t, st.Networks)
	require.Len(t, aside, 2)
	for _, a := range aside {
		b, rerr := os.ReadFile(a)
		require.NoError(t, rerr)
		require.Equal(t, "{torn", string(b))
	}
}

package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// TestEndpointPortNotDeletedAlone: an endpoint's port is removed with
// the endpoint (endpoint/del), not by del-port or del-br, which once
// stored a configuration whose endpoint had no port: the next start set
// it aside and went back to the previous copy, undoing the delete.
// Refused, nothing changes, and once the endpoint is gone both work.
func TestEndpointPortNotDeletedAlone(t *testing.T) {
	dir := t.TempDir()
	m := startMem(t, dir)
	m.ok(t, nil, "add-br", "br0")
	var ep ctl.EndpointView
	m.ok(t, &ep, "endpoint/add", epReq("net1", "c1"))
	before := m.stateBytes(t)
	m.fails(t, ctl.CodeInvalid, "del-port", ep.Port)
	m.fails(t, ctl.CodeInvalid, "del-br", "br0")
	require.Equal(t, string(before), string(m.stateBytes(t)), "a refused delete changed the stored configuration")
	require.Len(t, m.endpoints(t), 1)

	m.ok(t, nil, "endpoint/del", epReq("net1", "c1"))
	m.ok(t, nil, "del-br", "br0")
}

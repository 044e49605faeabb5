package main_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// TestTakeoverWithBGP: a vswitchd whose BGP speaker listens is taken
// over; the new process's speaker runs (it cannot bind the listener
// while the old one still holds it, so it must start once the old one
// has let go), with the same configuration.
func TestTakeoverWithBGP(t *testing.T) {
	d := newDaemon(t)
	d.must("bgp/set", "as=65010", "router-id=10.190.0.1", "listen-addr=127.0.0.1", "listen-port=17910")
	d.must("bgp/neighbor-add", "127.0.0.2", "as=65011")
	var v ctl.BGPShowView
	require.NoError(t, d.vsctlJSON(&v, "bgp/show"))
	require.True(t, v.Running, "before: %+v", v)

	d.takeover()
	require.Eventually(t, func() bool {
		var v ctl.BGPShowView
		return d.vsctlJSON(&v, "bgp/show") == nil && v.Running && len(v.Neighbors) == 1
	}, 15*time.Second, 50*time.Millisecond, "the speaker does not run after the takeover: %s", tryVsctl(d, "bgp/show"))
}

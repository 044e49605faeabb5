package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/policy/nat"
)

func testServiceConfig(backends ...ServiceBackend) Config {
	c := testNATConfig()
	c.NAT.Services = []Service{{Name: "web", Proto: "tcp", VIP: "10.9.9.9", Port: 80, Backends: backends}}
	return c
}

// TestServiceLB: new connections from the outside to a VIP spread over
// its backends (port a: 10.1.0.2, a2: 10.1.0.3), replies come back from
// the VIP, an established connection keeps its backend when one is
// added, and a removed backend's connections lose their flow.
func TestServiceLB(t *testing.T) {
	r := newNATRig(t)
	require.NoError(t, r.s.Reconfigure(testServiceConfig(ServiceBackend{Addr: "10.1.0.2"}, ServiceBackend{Addr: "10.1.0.3", Weight: 3})))
	got := map[string]int{}
	owner := map[uint16]string{}
	for i := range 400 {
		sp := uint16(20000 + i)
		r.send("b", tcp4(macRB, macB, "10.2.0.2", "10.9.9.9", sp, 80, "S"))
		out := r.recv()
		require.Len(t, out, 1)
		for port, fs := range out {
			_, dst, _, dp := tuple4(t, fs[0])
			require.Equal(t, uint16(80), dp)
			require.Equal(t, map[string]string{"a": "10.1.0.2", "a2": "10.1.0.3"}[port], dst)
			got[port]++
			owner[sp] = port
			// The backend answers: the flow is established.
			r.send(port, tcp4(macRA, map[string]string{"a": macA, "a2": macA2}[port], dst, "10.2.0.2", 80, sp, "SA"))
			src, _, rsp, _ := tuple4(t, only(t, r.recv(), "b", 1)[0])
			require.Equal(t, []any{"10.9.9.9", uint16(80)}, []any{src, rsp}, "a reply comes from the VIP")
		}
	}
	require.InDelta(t, 100, got["a"], 30, "weights 1:3 over 400 flows: %v", got)
	require.InDelta(t, 300, got["a2"], 30, "%v", got)
	// Add a backend: established flows stay where they are.
	require.NoError(t, r.s.Reconfigure(testServiceConfig(ServiceBackend{Addr: "10.1.0.2"}, ServiceBackend{Addr: "10.1.0.3", Weight: 3},
		ServiceBackend{Addr: "10.1.0.4"})))
	for sp, port := range owner {
		r.send("b", tcp4(macRB, macB, "10.2.0.2", "10.9.9.9", sp, 80, "A"))
		out := r.recv()
		require.Len(t, out[port], 1, "flow from %d moved off %s: %v", sp, port, keys(out))
	}
	// Remove 10.1.0.2: its flows are gone (their next segment starts a
	// flow to another backend), the others' stay.
	require.NoError(t, r.s.Reconfigure(testServiceConfig(ServiceBackend{Addr: "10.1.0.3", Weight: 3}, ServiceBackend{Addr: "10.1.0.4"})))
	moved := 0
	for sp, port := range owner {
		r.send("b", tcp4(macRB, macB, "10.2.0.2", "10.9.9.9", sp, 80, "A"))
		out := r.recv()
		if port == "a2" {
			require.Len(t, out["a2"], 1, "a flow of a kept backend moved")
			continue
		}
		for _, f := range out["a"] { // an ARP request for 10.1.0.4 is flooded there
			require.NotEqual(t, []byte{8, 0}, f[12:14], "a removed backend still gets its flows")
		}
		moved++
	}
	require.Equal(t, got["a"], moved)
	var sc []nat.ServiceCounters = r.s.ServiceStats()
	require.Len(t, sc, 1)
}

func TestServiceConfigErrors(t *testing.T) {
	r := newNATRig(t)
	for name, c := range map[string]struct {
		svc  Service
		want error
	}{
		"bad proto":    {Service{Proto: "icmp", VIP: "10.9.9.9", Port: 80}, nat.ErrProto},
		"bad vip":      {Service{Proto: "tcp", VIP: "10.9.9", Port: 80}, nat.ErrAddr},
		"port 0":       {Service{Proto: "tcp", VIP: "10.9.9.9"}, nat.ErrPort},
		"family":       {Service{Proto: "tcp", VIP: "10.9.9.9", Port: 80, Backends: []ServiceBackend{{Addr: "fd01::2"}}}, nat.ErrFamily},
		"duplicate":    {Service{Proto: "tcp", VIP: "10.9.9.9", Port: 80, Backends: []ServiceBackend{{Addr: "10.1.0.2"}, {Addr: "10.1.0.2"}}}, nat.ErrDuplicate},
		"port map":     {Service{Proto: "tcp", VIP: "0.0.0.0", Port: 8080}, nat.ErrOverlap},
		"bad backend":  {Service{Proto: "tcp", VIP: "10.9.9.9", Port: 80, Backends: []ServiceBackend{{Addr: "x"}}}, nat.ErrAddr},
		"multicast be": {Service{Proto: "tcp", VIP: "10.9.9.9", Port: 80, Backends: []ServiceBackend{{Addr: "224.1.1.1"}}}, nat.ErrAddr},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testNATConfig()
			cfg.NAT.Services = []Service{c.svc}
			err := r.s.Reconfigure(cfg)
			require.ErrorIs(t, err, ErrInvalidConfig)
			require.ErrorIs(t, err, c.want)
			require.Empty(t, r.s.Config().NAT.Services)
		})
	}
}

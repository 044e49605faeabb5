package vswitch

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSpoofedSourceIsDestination: a frame whose source is its own
// destination (another container's MAC) is dropped and counted, and the
// victim's MAC stays on the victim's port.
func TestSpoofedSourceIsDestination(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("victim", "bad", "c")
	r.reconf(oneBridge(acc("victim", 0), acc("bad", 0), acc("c", 0)))
	r.send("victim", frame(bcast(), macN(1), -1))
	r.recv()
	r.requireFDB(0, macN(1), "victim", false)

	before := allDrops(r.s)
	r.send("bad", frame(macN(1), macN(1), -1))
	r.s.SyncLearning()
	require.Empty(t, r.recv())
	require.Equal(t, map[string]uint64{nodeL2Input + "/src-mac-is-dst": 1}, dropsSince(r.s, before))
	r.requireFDB(0, macN(1), "victim", false)
	r.send("c", frame(macN(1), macN(3), -1))
	require.Equal(t, []string{"victim"}, r.receivers())
}

// TestZeroSourceMAC: 00:00:00:00:00:00 is never learned; such frames are
// dropped and counted like multicast sources.
func TestZeroSourceMAC(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b")
	r.reconf(oneBridge(acc("a", 0), acc("b", 0)))
	before := allDrops(r.s)
	r.send("a", frame(bcast(), "00:00:00:00:00:00", -1), frame(macN(2), "00:00:00:00:00:00", -1))
	r.s.SyncLearning()
	require.Empty(t, r.recv())
	require.Equal(t, map[string]uint64{nodeL2Input + "/src-mac-zero": 2}, dropsSince(r.s, before))
	r.requireFDB(0, "00:00:00:00:00:00", "", false)
	require.Empty(t, r.s.FDB())
}

// TestStaticMACRefusesGroupAndZero: a static MAC is a unicast, non-zero
// address.
func TestStaticMACRefusesGroupAndZero(t *testing.T) {
	for _, mac := range []string{"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "33:33:00:00:00:01"} {
		cfg := oneBridge(acc("a", 0))
		cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: mac, Port: "a"}}
		err := cfg.Validate()
		require.ErrorIs(t, err, ErrInvalidConfig, mac)
		require.Contains(t, err.Error(), "bridges[br0].static_macs[0].mac", mac)
	}
}

func secured(p Port, macs ...string) Port {
	p.MACs = macs
	return p
}

// TestPortSecurity: a port's bound MAC is a static entry on it from the
// start; the port may send only from it; another port sending from it is
// dropped and does not move it.
func TestPortSecurity(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("victim", "bad", "c")
	r.reconf(oneBridge(secured(acc("victim", 0), macN(1)), acc("bad", 0), acc("c", 0)))
	r.requireFDB(0, macN(1), "victim", true)

	// Traffic to the victim is switched before it ever sent a frame.
	r.send("c", frame(macN(1), macN(3), -1))
	require.Equal(t, []string{"victim"}, r.receivers())

	// The neighbour forges the victim's source: dropped, not moved.
	before := allDrops(r.s)
	r.send("bad", frame(bcast(), macN(1), -1), frame(macN(3), macN(1), -1))
	r.s.SyncLearning()
	require.Empty(t, r.recv())
	require.Equal(t, map[string]uint64{nodeL2Fwd + "/src-mac-bound-elsewhere": 2}, dropsSince(r.s, before))
	r.requireFDB(0, macN(1), "victim", true)
	r.send("c", frame(macN(1), macN(3), -1))
	require.Equal(t, []string{"victim"}, r.receivers())

	// The secured port sends only from its own MAC.
	before = allDrops(r.s)
	r.send("victim", frame(bcast(), macN(9), -1), frame(macN(3), macN(9), -1))
	r.s.SyncLearning()
	require.Empty(t, r.recv())
	require.Equal(t, map[string]uint64{nodeL2Input + "/src-mac-not-allowed": 2}, dropsSince(r.s, before))
	r.requireFDB(0, macN(9), "", false)
	r.send("victim", frame(macN(3), macN(1), -1))
	require.Equal(t, []string{"c"}, r.receivers())

	// A flush keeps bound MACs.
	require.NoError(t, r.s.FlushFDB("br0"))
	r.requireFDB(0, macN(1), "victim", true)
	r.requireFDB(0, macN(3), "", false)
}

// TestPortSecurityOff: PortSecurity false leaves the MACs unbound: the
// port learns any source, as before.
func TestPortSecurityOff(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("a", "b")
	off := false
	p := secured(acc("a", 0), macN(1))
	p.PortSecurity = &off
	r.reconf(oneBridge(p, acc("b", 0)))
	r.requireFDB(0, macN(1), "", false)
	r.send("a", frame(bcast(), macN(9), -1))
	require.Equal(t, []string{"b"}, r.receivers())
	r.requireFDB(0, macN(9), "a", false)

	// Turning it on flushes what the port learned and binds its MAC.
	on := true
	p.PortSecurity = &on
	r.reconf(oneBridge(p, acc("b", 0)))
	r.requireFDB(0, macN(9), "", false)
	r.requireFDB(0, macN(1), "a", true)
	require.Nil(t, r.s.Config().Bridges[0].Ports[0].PortSecurity, "on is the default, stored as nil")
}

// TestPortSecurityTrunk: a trunk's MACs are bound in each VLAN it carries,
// and it may send only from them in any of those VLANs.
func TestPortSecurityTrunk(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("t", "a", "b")
	r.reconf(oneBridge(secured(trunk("t", 0, 10, 20), macN(1), macN(2)), acc("a", 10), acc("b", 20)))
	for _, v := range []uint16{0, 10, 20} {
		r.requireFDB(v, macN(1), "t", true)
		r.requireFDB(v, macN(2), "t", true)
	}
	r.send("t", frame(bcast(), macN(2), 20))
	require.Equal(t, []string{"b"}, r.receivers())
	before := allDrops(r.s)
	r.send("t", frame(bcast(), macN(3), 10))
	require.Empty(t, r.recv())
	require.Equal(t, map[string]uint64{nodeL2Input + "/src-mac-not-allowed": 1}, dropsSince(r.s, before))
	before = allDrops(r.s)
	r.send("a", frame(bcast(), macN(2), -1))
	require.Empty(t, r.recv())
	require.Equal(t, map[string]uint64{nodeL2Fwd + "/src-mac-bound-elsewhere": 1}, dropsSince(r.s, before))
}

func TestPortSecurityConfigErrors(t *testing.T) {
	on := true
	for _, tc := range []struct {
		name string
		mod  func(c *Config)
		path string
	}{
		{"on without MACs", func(c *Config) { c.Bridges[0].Ports[0].PortSecurity = &on }, "bridges[br0].ports[a].port_security"},
		{"bad MAC", func(c *Config) { c.Bridges[0].Ports[0].MACs = []string{"x"} }, "bridges[br0].ports[a].macs[0]"},
		{"zero MAC", func(c *Config) { c.Bridges[0].Ports[0].MACs = []string{"00:00:00:00:00:00"} }, "bridges[br0].ports[a].macs[0]"},
		{"multicast MAC", func(c *Config) { c.Bridges[0].Ports[0].MACs = []string{"01:00:5e:00:00:01"} }, "bridges[br0].ports[a].macs[0]"},
		{"twice", func(c *Config) { c.Bridges[0].Ports[0].MACs = []string{macN(1), "02:00:00:00:00:01"} }, "bridges[br0].ports[a].macs[1]"},
		{"on two ports", func(c *Config) {
			c.Bridges[0].Ports[0].MACs = []string{macN(1)}
			c.Bridges[0].Ports[1].MACs = []string{macN(1)}
		}, "bridges[br0].ports[b].macs[0]"},
		{"static on another port", func(c *Config) {
			c.Bridges[0].Ports[0].MACs = []string{macN(1)}
			c.Bridges[0].StaticMACs = []StaticMAC{{MAC: macN(1), Port: "b"}}
		}, "bridges[br0].static_macs[0].mac"},
		{"too many", func(c *Config) {
			for i := range MaxPortMACs + 1 {
				c.Bridges[0].Ports[0].MACs = append(c.Bridges[0].Ports[0].MACs, macN(i+1))
			}
		}, "bridges[br0].ports[a].macs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := oneBridge(acc("a", 0), acc("b", 0))
			tc.mod(&c)
			err := c.Validate()
			require.ErrorIs(t, err, ErrInvalidConfig)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.path, ce.Path, "%v", err)
		})
	}
	// Off, a MAC may also be another port's (a VM moving between ports).
	off := false
	c := oneBridge(secured(acc("a", 0), macN(1)), secured(acc("b", 0), macN(1)))
	c.Bridges[0].Ports[0].PortSecurity = &off
	require.NoError(t, c.Validate())
}

// TestPortSecurityOldConfig: a stored port without the new fields loads
// with port security off (no MACs), and the new fields round-trip.
func TestPortSecurityOldConfig(t *testing.T) {
	var p Port
	require.NoError(t, json.Unmarshal([]byte(`{"name":"a","mode":"access"}`), &p))
	require.Nil(t, p.boundMACs())
	off := false
	b, err := json.Marshal(Port{Name: "a", MACs: []string{macN(1)}, PortSecurity: &off, MACLimit: 10})
	require.NoError(t, err)
	require.Equal(t, `{"name":"a","macs":["02:00:00:00:00:01"],"port_security":false,"mac_limit":10}`, string(b))
}

// TestPortSecurityAllocations: the port-security checks and drops
// allocate nothing.
func TestPortSecurityAllocations(t *testing.T) {
	r := newL2Rig(t, Options{})
	r.attach("s", "o")
	r.reconf(oneBridge(secured(acc("s", 0), macN(1), macN(2)), acc("o", 0)))
	r.send("o", frame(bcast(), macN(3), -1))
	r.recv()
	w := r.s.Workers()[0]
	for _, tc := range []struct {
		name, in string
		f        []byte
		drop     string
	}{
		{"allowed", "s", frame(macN(3), macN(2), -1), ""},
		{"not allowed", "s", frame(macN(3), macN(4), -1), nodeL2Input + "/src-mac-not-allowed"},
		{"bound elsewhere", "o", frame(macN(3), macN(1), -1), nodeL2Fwd + "/src-mac-bound-elsewhere"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames := repeatFrame(32, tc.f)
			before := allDrops(r.s)
			r.send(tc.in, frames...)
			got := r.recv()
			if tc.drop != "" {
				require.Empty(t, got)
				require.Equal(t, map[string]uint64{tc.drop: 32}, dropsSince(r.s, before))
			} else {
				require.Len(t, got["o"], 32)
			}
			for _, q := range r.ports {
				q.SetSink(true)
			}
			defer func() {
				for _, q := range r.ports {
					q.SetSink(false)
				}
			}()
			p := r.ports[tc.in]
			allocs := testing.AllocsPerRun(100, func() {
				p.Inject(0, frames...)
				w.Poll()
			})
			require.Zero(t, allocs)
			requireNoLeak(t, r.s)
		})
	}
}

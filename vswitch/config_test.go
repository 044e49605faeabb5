package vswitch

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/memport"
)

func TestConfigValidation(t *testing.T) {
	good := func() Config {
		return Config{Bridges: []Bridge{{
			Name:       "br0",
			Ports:      []Port{acc("p1", 10), trunk("p2", 0, 10, 20)},
			StaticMACs: []StaticMAC{{MAC: macN(1), VLAN: 20, Port: "p2"}},
		}}}
	}
	require.NoError(t, (&Config{}).Validate())
	g := good()
	require.NoError(t, g.Validate())
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		path   string
	}{
		{"duplicate bridge", func(c *Config) { c.Bridges = append(c.Bridges, Bridge{Name: "br0"}) }, "bridges[br0]"},
		{"empty bridge name", func(c *Config) { c.Bridges[0].Name = "" }, "bridges[0].name"},
		{"bridge name with slash", func(c *Config) { c.Bridges[0].Name = "a/b" }, "bridges[0].name"},
		{"bridge name too long", func(c *Config) { c.Bridges[0].Name = strings.Repeat("b", 65) }, "bridges[0].name"},
		{"port in two bridges", func(c *Config) {
			c.Bridges = append(c.Bridges, Bridge{Name: "br1", Ports: []Port{acc("p3", 0), acc("p1", 0)}})
		}, "bridges[br1].ports[p1]"},
		{"port twice in a bridge", func(c *Config) { c.Bridges[0].Ports = append(c.Bridges[0].Ports, acc("p1", 10)) }, "bridges[br0].ports[p1]"},
		{"empty port name", func(c *Config) { c.Bridges[0].Ports[1].Name = "" }, "bridges[br0].ports[1].name"},
		{"port name with space", func(c *Config) { c.Bridges[0].Ports[0].Name = "p 1" }, "bridges[br0].ports[0].name"},
		{"access VLAN 4095", func(c *Config) { c.Bridges[0].Ports[0].VLAN = 4095 }, "bridges[br0].ports[p1].vlan"},
		{"native VLAN 4095", func(c *Config) { c.Bridges[0].Ports[1].VLAN = 4095 }, "bridges[br0].ports[p2].vlan"},
		{"access VLAN 65535", func(c *Config) { c.Bridges[0].Ports[0].VLAN = 65535 }, "bridges[br0].ports[p1].vlan"},
		{"unknown mode", func(c *Config) { c.Bridges[0].Ports[0].Mode = "hybrid" }, "bridges[br0].ports[p1].mode"},
		{"mode in capitals", func(c *Config) { c.Bridges[0].Ports[0].Mode = "ACCESS" }, "bridges[br0].ports[p1].mode"},
		{"trunk VLANs on access port", func(c *Config) { c.Bridges[0].Ports[0].Trunks = []uint16{10} }, "bridges[br0].ports[p1].trunks"},
		{"trunk VLAN 0", func(c *Config) { c.Bridges[0].Ports[1].Trunks = []uint16{0, 10} }, "bridges[br0].ports[p2].trunks"},
		{"trunk VLAN 4095", func(c *Config) { c.Bridges[0].Ports[1].Trunks = []uint16{10, 4095} }, "bridges[br0].ports[p2].trunks"},
		{"static multicast", func(c *Config) { c.Bridges[0].StaticMACs[0].MAC = "01:00:5e:00:00:01" }, "bridges[br0].static_macs[0].mac"},
		{"static broadcast", func(c *Config) { c.Bridges[0].StaticMACs[0].MAC = bcast() }, "bridges[br0].static_macs[0].mac"},
		{"static not a MAC", func(c *Config) { c.Bridges[0].StaticMACs[0].MAC = "02:00:00:00:00" }, "bridges[br0].static_macs[0].mac"},
		{"static EUI-64", func(c *Config) { c.Bridges[0].StaticMACs[0].MAC = "02:00:00:00:00:00:00:01" }, "bridges[br0].static_macs[0].mac"},
		{"static on unknown port", func(c *Config) { c.Bridges[0].StaticMACs[0].Port = "p9" }, "bridges[br0].static_macs[0].port"},
		{"static on other bridge's port", func(c *Config) {
			c.Bridges = append(c.Bridges, Bridge{Name: "br1", Ports: []Port{acc("p3", 0)}})
			c.Bridges[1].StaticMACs = []StaticMAC{{MAC: macN(2), Port: "p1"}}
		}, "bridges[br1].static_macs[0].port"},
		{"static VLAN not carried by trunk", func(c *Config) { c.Bridges[0].StaticMACs[0].VLAN = 30 }, "bridges[br0].static_macs[0].vlan"},
		{"static VLAN not the access VLAN", func(c *Config) {
			c.Bridges[0].StaticMACs[0] = StaticMAC{MAC: macN(1), VLAN: 0, Port: "p1"}
		}, "bridges[br0].static_macs[0].vlan"},
		{"static declared twice", func(c *Config) {
			c.Bridges[0].StaticMACs = append(c.Bridges[0].StaticMACs, StaticMAC{MAC: strings.ToUpper(macN(1)), VLAN: 20, Port: "p2"})
		}, "bridges[br0].static_macs[1]"},
		{"negative MAC limit", func(c *Config) { c.Bridges[0].MACLimit = -1 }, "bridges[br0].mac_limit"},
		{"MAC limit too big", func(c *Config) { c.Bridges[0].MACLimit = MaxMACLimit + 1 }, "bridges[br0].mac_limit"},
		{"negative MAC age", func(c *Config) { c.Bridges[0].MACAgeSeconds = -5 }, "bridges[br0].mac_age_seconds"},
		{"MAC age too long", func(c *Config) { c.Bridges[0].MACAgeSeconds = 1<<30 + 1 }, "bridges[br0].mac_age_seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.change(&c)
			err := c.Validate()
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrInvalidConfig), "%v does not wrap ErrInvalidConfig", err)
			var ce *ConfigError
			require.True(t, errors.As(err, &ce), "%v is not a *ConfigError", err)
			require.Equal(t, tc.path, ce.Path)
			require.NotEmpty(t, ce.Msg)
			require.True(t, strings.HasPrefix(err.Error(), tc.path+": "), err.Error())

			// Reconfigure refuses it and keeps what it had.
			s, err := New(Options{PoolFrames: pipeline.VectorSize})
			require.NoError(t, err)
			defer s.Close()
			require.NoError(t, s.Reconfigure(good()))
			applied := s.Config()
			err = s.Reconfigure(c)
			require.ErrorIs(t, err, ErrInvalidConfig)
			require.Equal(t, applied, s.Config())
		})
	}
}

// TestConfigErrorDescribe: Describe tells where a problem is by the
// names of its objects, as a vsctl user knows them, never by Config paths.
func TestConfigErrorDescribe(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"bridges[1].name", `bridge name: m`},
		{"bridges[br0]", `bridge "br0": m`},
		{"bridges[br0].mac_limit", `bridge "br0", mac_limit: m`},
		{"bridges[br0].ports[0].name", `bridge "br0", port name: m`},
		{"bridges[br0].ports[p1].vlan", `bridge "br0", port "p1", vlan: m`},
		{"bridges[br0].ports[eth0.100].macs[1]", `bridge "br0", port "eth0.100", MAC: m`},
		{"bridges[br.x].static_macs[0].vlan", `bridge "br.x", static MAC, vlan: m`},
		{"bridges[br0].vxlan[0].remotes[2]", `bridge "br0", VXLAN, remote VTEP: m`},
		{"interfaces[gw].addrs[0]", `interface "gw", address: m`},
		{"interfaces[3].name", `interface name: m`},
		{"routes[4].via[0]", `route, next hop: m`},
		{"neighbors[2].mac", `neighbor, mac: m`},
		{"vrfs[0]", `VRF: m`},
		{"vtep.addr", `vtep, addr: m`},
		{"dns.interfaces[0]", `dns, interface: m`},
		{"", `: m`},
		{"a[", `a: m`},
		{"x].y[", `x], y: m`}, // malformed paths: no panic
	} {
		got := (&ConfigError{Path: tc.path, Msg: "m"}).Describe()
		require.Equal(t, tc.want, got, tc.path)
		require.NotContains(t, got, "[", tc.path)
	}
	// A real one.
	c := Config{Bridges: []Bridge{{Name: "br0"}, {Name: "bad name"}}}
	var ce *ConfigError
	require.ErrorAs(t, c.Validate(), &ce)
	require.Equal(t, `bridge name: name "bad name" has a space, control character or slash`, ce.Describe())
}

func TestConfigLimitsAccepted(t *testing.T) {
	c := Config{Bridges: []Bridge{{
		Name:          strings.Repeat("b", 64),
		MACLimit:      MaxMACLimit,
		MACAgeSeconds: 1 << 30,
		Ports:         []Port{acc("p1", MaxVLAN), trunk("p2", MaxVLAN, 1, MaxVLAN)},
		StaticMACs:    []StaticMAC{{MAC: macN(1), VLAN: MaxVLAN, Port: "p1"}, {MAC: macN(1), VLAN: 1, Port: "p2"}},
	}}}
	require.NoError(t, c.Validate())
}

func TestConfigDefaults(t *testing.T) {
	r := newL2Rig(t, Options{})
	in := Config{Bridges: []Bridge{{
		Name:       "br0",
		Ports:      []Port{{Name: "a"}, {Name: "t", Mode: Trunk, Trunks: []uint16{30, 10, 30, 20}}},
		StaticMACs: []StaticMAC{{MAC: "02:00:00:00:00:AB", Port: "a"}},
	}}}
	r.reconf(in)
	got := r.s.Config()
	require.Equal(t, Config{Bridges: []Bridge{{
		Name: "br0", MACAgeSeconds: DefaultMACAge, MACLimit: DefaultMACLimit,
		Ports:      []Port{{Name: "a", Mode: Access}, {Name: "t", Mode: Trunk, Trunks: []uint16{10, 20, 30}}},
		StaticMACs: []StaticMAC{{MAC: "02:00:00:00:00:ab", Port: "a"}},
	}}}, got)
	require.Equal(t, VLANSet{30, 10, 30, 20}, in.Bridges[0].Ports[1].Trunks, "the caller's config was changed")
	// Applying the normalized form again changes nothing and flushes nothing.
	r.attach("a", "t")
	r.send("a", frame(bcast(), macN(1), -1))
	r.recv()
	r.reconf(got)
	r.requireFDB(0, macN(1), "a", false)
}

func TestClosedSwitch(t *testing.T) {
	s, err := New(Options{PoolFrames: pipeline.VectorSize})
	require.NoError(t, err)
	p, err := memport.New(memport.Config{Name: "a"})
	require.NoError(t, err)
	require.NoError(t, s.AddPort(p))
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Close(), ErrClosed)
	require.ErrorIs(t, s.Reconfigure(Config{}), ErrClosed)
	require.ErrorIs(t, s.RemovePort("a"), ErrClosed)
	q, err := memport.New(memport.Config{Name: "b"})
	require.NoError(t, err)
	require.ErrorIs(t, s.AddPort(q), ErrClosed)
	require.Error(t, p.Close(), "Close should have closed the port")
}

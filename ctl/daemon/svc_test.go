package daemon

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// l3Frame serializes an Ethernet frame with IPv4 and TCP or UDP.
func l3Frame(t *testing.T, dstMAC, srcMAC, src, dst string, l4 gopacket.SerializableLayer, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	switch l := l4.(type) {
	case *layers.TCP:
		ip.Protocol = layers.IPProtocolTCP
		require.NoError(t, l.SetNetworkLayerForChecksum(ip))
	case *layers.UDP:
		ip.Protocol = layers.IPProtocolUDP
		require.NoError(t, l.SetNetworkLayerForChecksum(ip))
	}
	dm, err := net.ParseMAC(dstMAC)
	require.NoError(t, err)
	sm, err := net.ParseMAC(srcMAC)
	require.NoError(t, err)
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{DstMAC: dm, SrcMAC: sm, EthernetType: layers.EthernetTypeIPv4}, ip, l4, gopacket.Payload(payload)))
	return buf.Bytes()
}

func (m *memDaemon) services(t *testing.T) []ctl.SvcView {
	t.Helper()
	var v []ctl.SvcView
	m.ok(t, &v, "svc/show")
	return v
}

func TestSvcCommands(t *testing.T) {
	dir := t.TempDir()
	m := startMem(t, dir)
	for _, c := range [][]string{
		{"add-br", "ctr"}, {"add-br", "up"},
		{"rif/add", "ra", "bridge=ctr", "addr=10.1.0.1/24", "mac=02:00:00:00:aa:01"},
		{"rif/add", "rb", "bridge=up", "addr=192.0.2.1/24"},
		{"nat/map-add", "proto=tcp", "host=192.0.2.1", "host-port=8080", "target=10.1.0.5"},
		{"svc/add", "web", "proto=TCP", "vip=10.96.0.10", "port=80"},
		{"svc/backend-add", "web", "addr=10.1.0.5", "port=8080"},
		{"svc/backend-add", "web", "addr=10.1.0.6", "port=8080", "weight=2"},
		{"svc/backend-add", "web", "addr=10.1.0.7", "port=8080"},
		{"svc/drain", "web", "addr=10.1.0.7"},
		{"svc/add", "dns", "proto=udp", "vip=10.96.0.53", "port=53"},
		{"svc/backend-add", "dns", "addr=10.1.0.9"},
	} {
		m.ok(t, nil, c[0], c[1:]...)
	}

	// Idempotent: the same again writes nothing.
	before := m.stateBytes(t)
	for _, c := range [][]string{
		{"svc/add", "web", "proto=tcp", "vip=10.96.0.10", "port=80"},
		{"svc/backend-add", "web", "addr=10.1.0.5", "port=8080"},
		{"svc/backend-add", "web", "addr=10.1.0.6", "port=8080", "weight=2"},
		{"svc/backend-add", "dns", "addr=10.1.0.9", "port=53"},
		{"svc/drain", "web", "addr=10.1.0.7", "port=8080", "on"},
		{"svc/drain", "web", "addr=10.1.0.5", "off"},
		{"svc/backend-del", "web", "addr=10.1.0.99"},
		{"svc/backend-del", "web", "addr=10.1.0.5", "port=9999"},
		{"svc/del", "nope"},
	} {
		m.ok(t, nil, c[0], c[1:]...)
	}
	// Bad input: typed errors, nothing changes.
	for _, c := range []struct {
		code ctl.Code
		args []string
	}{
		{ctl.CodeInvalid, []string{"svc/add", "db", "proto=sctp", "vip=10.96.0.11", "port=5432"}},
		{ctl.CodeInvalid, []string{"svc/add", "db", "proto=tcp", "vip=10.96.0.300", "port=5432"}},
		{ctl.CodeInvalid, []string{"svc/add", "db", "proto=tcp", "vip=10.96.0.11", "port=0"}},
		{ctl.CodeInvalid, []string{"svc/add", "db", "proto=tcp", "vip=10.96.0.11", "port=65536"}},
		{ctl.CodeInvalid, []string{"svc/add", "no good", "proto=tcp", "vip=10.96.0.11", "port=5432"}},
		{ctl.CodeUsage, []string{"svc/add", "db", "proto=tcp", "vip=10.96.0.11", "prot=1"}},
		{ctl.CodeUsage, []string{"svc/add", "db", "proto=tcp", "vip=10.96.0.11", "5432"}},
		// Another service by this name, this VIP:port again, a port map's.
		{ctl.CodeExists, []string{"svc/add", "web", "proto=tcp", "vip=10.96.0.10", "port=81"}},
		{ctl.CodeExists, []string{"svc/add", "web2", "proto=tcp", "vip=10.96.0.10", "port=80"}},
		{ctl.CodeExists, []string{"svc/add", "web3", "proto=tcp", "vip=192.0.2.1", "port=8080"}},
		// A backend that is no host: a subnet's network or broadcast
		// address, another service's VIP (services do not chain).
		{ctl.CodeInvalid, []string{"svc/backend-add", "web", "addr=10.1.0.255"}},
		{ctl.CodeInvalid, []string{"svc/backend-add", "web", "addr=10.1.0.0"}},
		{ctl.CodeInvalid, []string{"svc/backend-add", "web", "addr=10.96.0.53"}},
		{ctl.CodeNotFound, []string{"svc/backend-add", "nope", "addr=10.1.0.5"}},
		{ctl.CodeInvalid, []string{"svc/backend-add", "web", "addr=10.1.0"}},
		{ctl.CodeInvalid, []string{"svc/backend-add", "web", "addr=0.0.0.0"}},
		{ctl.CodeInvalid, []string{"svc/backend-add", "web", "addr=fd00::5"}}, // another family
		{ctl.CodeInvalid, []string{"svc/backend-add", "web", "addr=10.1.0.8", "port=0"}},
		{ctl.CodeInvalid, []string{"svc/backend-add", "web", "addr=10.1.0.8", "weight=0"}},
		{ctl.CodeInvalid, []string{"svc/backend-add", "web", "addr=10.1.0.8", "weight=x"}},
		{ctl.CodeUsage, []string{"svc/backend-add", "web", "port=80"}},
		{ctl.CodeUsage, []string{"svc/backend-add", "web", "addr=10.1.0.8", "drained=1"}},
		{ctl.CodeNotFound, []string{"svc/backend-del", "nope", "addr=10.1.0.5"}},
		{ctl.CodeNotFound, []string{"svc/drain", "web", "addr=10.1.0.99"}},
		{ctl.CodeNotFound, []string{"svc/drain", "nope", "addr=10.1.0.5"}},
		{ctl.CodeUsage, []string{"svc/drain", "web", "addr=10.1.0.5", "maybe"}},
		{ctl.CodeNotFound, []string{"svc/show", "nope"}},
	} {
		m.fails(t, c.code, c.args[0], c.args[1:]...)
	}
	// The message names the service holding the VIP, not an index.
	m.failsWith(t, ctl.CodeExists, "service web holds tcp 10.96.0.10 port 80", "svc/add", "web2", "proto=tcp", "vip=10.96.0.10", "port=80")
	require.Equal(t, string(before), string(m.stateBytes(t)), "failed or repeated commands changed the store")

	// The switch's own DNS and a service never share an address's port
	// 53, whichever comes first.
	m.ok(t, nil, "dns/enable", "ra")
	m.failsWith(t, ctl.CodeExists, "the switch answers DNS there", "svc/add", "rdns", "proto=udp", "vip=10.1.0.1", "port=53")
	m.ok(t, nil, "dns/disable", "ra")
	m.ok(t, nil, "svc/add", "rdns", "proto=tcp", "vip=10.1.0.1", "port=53")
	m.failsWith(t, ctl.CodeExists, "service rdns holds tcp 10.1.0.1 port 53", "dns/enable", "ra")
	m.ok(t, nil, "svc/del", "rdns")
	before = m.stateBytes(t)

	v := m.services(t)
	require.Len(t, v, 2)
	web := v[0]
	require.Equal(t, []any{"web", "tcp", "10.96.0.10", uint16(80)}, []any{web.Name, web.Proto, web.VIP, web.Port})
	require.Len(t, web.Backends, 3)
	for i, want := range []ctl.SvcBackendView{{Addr: "10.1.0.5", Port: 8080, Weight: 1}, {Addr: "10.1.0.6", Port: 8080, Weight: 2},
		{Addr: "10.1.0.7", Port: 8080, Weight: 1, Drained: true}} {
		got := web.Backends[i]
		require.Equal(t, []any{want.Addr, want.Port, want.Weight, want.Drained}, []any{got.Addr, got.Port, got.Weight, got.Drained})
	}
	require.InDelta(t, 1.0/3, web.Backends[0].Share, 0.02)
	require.InDelta(t, 2.0/3, web.Backends[1].Share, 0.02)
	require.Zero(t, web.Backends[2].Share, "drained: no slots")
	require.Equal(t, []ctl.SvcBackendView{{Addr: "10.1.0.9", Port: 53, Weight: 1, Share: 1}}, v[1].Backends)

	// A SYN to the VIP goes to a backend (static neighbors and MACs: no
	// ARP), and the backend's counter moves.
	for _, c := range [][]string{{"add-port", "ctr", "cl"}, {"add-port", "ctr", "be"}} {
		m.ok(t, nil, c[0], c[1:]...)
	}
	for i, ip := range []string{"10.1.0.5", "10.1.0.6", "10.1.0.7"} {
		mac := "02:00:00:00:00:0" + string(rune('5'+i))
		m.ok(t, nil, "neigh/add", "ra", ip, mac)
		m.ok(t, nil, "fdb/add", "ctr", mac, "be")
	}
	syn := l3Frame(t, "02:00:00:00:aa:01", "02:00:00:00:00:02", "10.1.0.2", "10.96.0.10",
		&layers.TCP{SrcPort: 40000, DstPort: 80, SYN: true, Window: 1000}, nil)
	require.True(t, m.through(t, "cl", "be", syn), "the SYN reaches a backend")
	v = m.services(t)
	require.Equal(t, uint64(1), v[0].NewFlows)
	require.Equal(t, uint64(1), v[0].Backends[0].NewFlows+v[0].Backends[1].NewFlows)

	// Restart (as after kill -9: the store is all there is).
	m.stop()
	newDaemon := func() *Daemon {
		d := newMemPortDaemon(t, dir, nil)
		return d
	}
	d2 := newDaemon()
	r := run(t, d2, "svc/show")
	require.True(t, r.OK, "%+v", r.Error)
	var v2 []ctl.SvcView
	decode(t, r, &v2)
	require.Len(t, v2, 2)
	require.Equal(t, v[1], v2[1])
	require.Len(t, v2[0].Backends, 3)

	// Removing backends and services; with the port map gone too, no NAT.
	for _, c := range [][]string{
		{"svc/backend-del", "web", "addr=10.1.0.5"}, {"svc/del", "dns"},
		{"nat/map-del", "proto=tcp", "host=192.0.2.1", "host-port=8080"},
	} {
		r := run(t, d2, c[0], c[1:]...)
		require.True(t, r.OK, "%v: %+v", c, r.Error)
	}
	require.Len(t, d2.state.NAT.Services, 1)
	require.Len(t, d2.state.NAT.Services[0].Backends, 2)
	r = run(t, d2, "svc/del", "web")
	require.True(t, r.OK, "%+v", r.Error)
	require.Nil(t, d2.state.NAT, "no entry left: no NAT")
	for _, c := range [][]string{{"svc/add", "web", "proto=tcp", "vip=10.96.0.10", "port=80"}, {"svc/backend-add", "web", "addr=10.1.0.5"}} {
		r := run(t, d2, c[0], c[1:]...)
		require.True(t, r.OK, "%v: %+v", c, r.Error)
	}
	require.NoError(t, d2.Close())

	// A stored service the switch refuses (edited by hand) does not
	// poison the next start: the configuration as stored is used (the
	// copy in the journal).
	raw, err := os.ReadFile(d2.store.Path())
	require.NoError(t, err)
	bad := replaceOnce(string(raw), `"vip": "10.96.0.10"`, `"vip": "fd00::10"`)
	require.NotEqual(t, string(raw), bad)
	require.NoError(t, os.WriteFile(d2.store.Path(), []byte(bad), 0o600))
	d3 := newDaemon()
	defer d3.Close()
	require.Len(t, d3.state.NAT.Services, 1)
	require.Equal(t, "10.96.0.10", d3.state.NAT.Services[0].VIP, "the configuration as stored, not the edit")
	require.Len(t, d3.state.NAT.Services[0].Backends, 1, "the configuration as stored, with its last change")
	aside, _ := filepath.Glob(d3.store.Path() + ".corrupt-*")
	require.Len(t, aside, 1, "the refused file is set aside")
}

// eventually polls f for up to 2 s.
func eventually(f func() bool) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if f() {
			return true
		}
	}
	return false
}

package daemon

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	mdns "github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

func (m *memDaemon) dnsShow(t *testing.T) ctl.DNSShowView {
	t.Helper()
	var v ctl.DNSShowView
	m.ok(t, &v, "dns/show")
	return v
}

// dnsNames is network iface's names as "name kind addr,addr".
func dnsNames(v ctl.DNSShowView, iface string) []string {
	var out []string
	for _, n := range v.Networks {
		if n.Interface == iface {
			for _, nm := range n.Names {
				out = append(out, nm.Name+" "+nm.Kind+" "+nm.Addrs[0])
			}
		}
	}
	return out
}

// ask sends a DNS query from client port cl (10.30.0.99) to the switch's
// address on ra and returns the answer the switch routes back.
func (m *memDaemon) ask(t *testing.T, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	q := new(mdns.Msg)
	q.SetQuestion(name, qtype)
	b, err := q.Pack()
	require.NoError(t, err)
	f := l3Frame(t, "02:00:00:00:aa:01", "02:00:00:00:00:99", "10.30.0.99", "10.30.0.1", &layers.UDP{SrcPort: 33333, DstPort: 53}, b)
	m.port("cl").CollectAll()
	require.Equal(t, 1, m.port("cl").Inject(0, f))
	var resp *mdns.Msg
	require.True(t, eventually(func() bool {
		for _, out := range m.port("cl").CollectAll() {
			p := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.Default)
			if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && u.SrcPort == 53 && u.DstPort == 33333 {
				resp = new(mdns.Msg)
				return resp.Unpack(u.Payload) == nil
			}
		}
		return false
	}), "no answer to %s", name)
	return resp
}

func TestDNSCommands(t *testing.T) {
	dir := t.TempDir()
	m := startMem(t, dir)
	for _, c := range [][]string{
		{"add-br", "br0"}, {"add-br", "br1"},
		{"rif/add", "ra", "bridge=br0", "addr=10.30.0.1/24", "mac=02:00:00:00:aa:01"},
		{"rif/add", "rb", "bridge=br1", "addr=10.40.0.1/24"},
		{"svc/add", "web", "proto=tcp", "vip=10.96.0.10", "port=80"},
		{"dns/enable", "ra"},
		{"dns/enable", "rb", "domain=Corp.Example", "upstream=192.0.2.53,[fd00::53]:5353"},
	} {
		m.ok(t, nil, c[0], c[1:]...)
	}
	var ep1, ep3 ctl.EndpointView
	m.ok(t, &ep1, "endpoint/add", epReq("net1", "c1", func(r *ctl.EndpointRequest) { r.Name = "DB" }))
	m.ok(t, nil, "endpoint/add", epReq("net1", "c2"))
	m.ok(t, &ep3, "endpoint/add", epReq("net2", "c3", func(r *ctl.EndpointRequest) {
		r.Name, r.Bridge, r.Pool, r.PoolDef = "other", "br1", "pods2", &ctl.PoolDef{"subnet": "10.40.0.0/24"}
	}))
	require.Equal(t, "db", ep1.Name)
	a1, a3 := ep1.Addrs[0][:len(ep1.Addrs[0])-3], ep3.Addrs[0][:len(ep3.Addrs[0])-3] // without /24

	v := m.dnsShow(t)
	require.Len(t, v.Networks, 2)
	require.Equal(t, ctl.DNSNetworkView{Interface: "rb", Domain: "corp.example.", Upstreams: []string{"192.0.2.53:53", "[fd00::53]:5353"},
		Names: []ctl.DNSNameView{{Name: "other", Kind: "endpoint", Addrs: []string{a3}}, {Name: "web", Kind: "service", Addrs: []string{"10.96.0.10"}}}}, v.Networks[1])
	require.Equal(t, "ra.vecswitch.", v.Networks[0].Domain)
	require.Equal(t, []string{"db endpoint " + a1, "web service 10.96.0.10"}, dnsNames(v, "ra"), "only the endpoints in ra's subnet")

	// Idempotent: the same again writes nothing; bad input: typed
	// errors, nothing changes.
	before := m.stateBytes(t)
	for _, c := range [][]string{
		{"dns/enable", "ra"}, {"dns/enable", "rb", "domain=corp.example.", "upstream=192.0.2.53:53,[fd00::53]:5353"},
		{"dns/disable", "nope"}, {"endpoint/set", "c1", "name=db"}, {"endpoint/set", ep1.Port, "name=DB"},
	} {
		m.ok(t, nil, c[0], c[1:]...)
	}
	for _, c := range []struct {
		code ctl.Code
		args []string
	}{
		{ctl.CodeNotFound, []string{"dns/enable", "nope"}},
		{ctl.CodeInvalid, []string{"dns/enable", "ra", "upstream=resolver"}},
		{ctl.CodeInvalid, []string{"dns/enable", "ra", "upstream=192.0.2.53:0"}},
		{ctl.CodeInvalid, []string{"dns/enable", "ra", "upstream=0.0.0.0"}},
		{ctl.CodeInvalid, []string{"dns/enable", "ra", "domain=bad..example"}},
		{ctl.CodeInvalid, []string{"dns/enable", "ra", "domain=sp ace"}},
		{ctl.CodeUsage, []string{"dns/enable", "ra", "ttl=5"}},
		{ctl.CodeNotFound, []string{"endpoint/set", "nope", "name=x"}},
		{ctl.CodeExists, []string{"endpoint/set", "c2", "name=web"}},
		{ctl.CodeInvalid, []string{"endpoint/set", "c2", "name=bad!"}},
		{ctl.CodeUsage, []string{"endpoint/set", "c2", "nom=x"}},
		{ctl.CodeExists, []string{"svc/add", "db", "proto=tcp", "vip=10.96.0.11", "port=80"}},
		{ctl.CodeInvalid, []string{"endpoint/add", epReq("net1", "c9", func(r *ctl.EndpointRequest) { r.Name = "-x" })}},
	} {
		m.fails(t, c.code, c.args[0], c.args[1:]...)
	}
	require.Equal(t, string(before), string(m.stateBytes(t)), "failed or repeated commands changed the store")

	// Queries through the switch: a client on br0 asks the switch's
	// address on ra.
	for _, c := range [][]string{{"add-port", "br0", "cl"}, {"neigh/add", "ra", "10.30.0.99", "02:00:00:00:00:99"}, {"fdb/add", "br0", "02:00:00:00:00:99", "cl"}} {
		m.ok(t, nil, c[0], c[1:]...)
	}
	for _, name := range []string{"db.ra.vecswitch.", "DB.", "web."} {
		r := m.ask(t, name, mdns.TypeA)
		require.Equal(t, mdns.RcodeSuccess, r.Rcode, name)
		require.Len(t, r.Answer, 1, name)
		want := a1
		if name == "web." {
			want = "10.96.0.10"
		}
		require.Equal(t, want, r.Answer[0].(*mdns.A).A.String(), name)
	}
	require.Equal(t, mdns.RcodeNameError, m.ask(t, "other.ra.vecswitch.", mdns.TypeA).Rcode, "rb's endpoint is not in ra")
	require.Equal(t, mdns.RcodeRefused, m.ask(t, "example.com.", mdns.TypeA).Rcode, "no upstream: foreign names refused")
	v = m.dnsShow(t)
	require.Equal(t, uint64(3), v.Resolver["answered"])
	require.Equal(t, uint64(1), v.Resolver["refused"])
	require.Equal(t, uint64(5), v.Punt.Punted)
	require.Equal(t, uint64(5), v.Punt.Replies)

	// Names follow endpoints and services.
	m.ok(t, nil, "endpoint/set", "c2", "name=cache")
	m.ok(t, nil, "endpoint/set", ep1.Port, "name=")
	m.ok(t, nil, "svc/del", "web")
	require.Len(t, dnsNames(m.dnsShow(t), "ra"), 1)
	require.Contains(t, dnsNames(m.dnsShow(t), "ra")[0], "cache endpoint ")
	require.Equal(t, []string{"other endpoint " + a3}, dnsNames(m.dnsShow(t), "rb"))
	m.ok(t, nil, "endpoint/del", epReq("net1", "c2"))
	require.Empty(t, dnsNames(m.dnsShow(t), "ra"))

	// Restart: the networks and their names come back, and queries are
	// answered.
	m.stop()
	m = startMem(t, dir)
	v = m.dnsShow(t)
	require.Len(t, v.Networks, 2)
	require.Equal(t, []string{"other endpoint " + a3}, dnsNames(v, "rb"))
	require.Equal(t, mdns.RcodeRefused, m.ask(t, "example.com.", mdns.TypeA).Rcode)
	m.ok(t, nil, "endpoint/set", "c1", "name=db")
	require.Equal(t, a1, m.ask(t, "db.", mdns.TypeA).Answer[0].(*mdns.A).A.String())

	// A removed router interface takes its DNS network along.
	m.ok(t, nil, "rif/del", "rb")
	require.Len(t, m.dnsShow(t).Networks, 1)
	_, ok := m.d.dnsReg.Network("rb")
	require.False(t, ok)
	m.ok(t, nil, "dns/disable", "ra")
	require.Empty(t, m.dnsShow(t).Networks)
	require.Nil(t, m.d.state.DNS)
	m.ok(t, nil, "dns/enable", "ra")
	m.stop()

	// A stored DNS entry the switch refuses (edited by hand) does not
	// poison the next start: the previous good copy is used.
	var st State
	raw, err := os.ReadFile(filepath.Join(dir, StateFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &st))
	st.DNS[0].Interface = "gone"
	bad, err := json.MarshalIndent(&st, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, StateFile), bad, 0o600))
	d := newMemPortDaemon(t, dir, nil)
	defer d.Close()
	require.Len(t, d.state.DNS, 1, "the configuration as stored (the copy in the journal), not the edit")
	require.NotEqual(t, "gone", d.state.DNS[0].Interface)
	aside, _ := filepath.Glob(filepath.Join(dir, StateFile) + ".corrupt-*")
	require.Len(t, aside, 1, "the refused file is set aside")
}

package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The daemon in process, driven through the real control socket by the
// real client, with memory ports instead of devices: every command group
// without root, as vsctl would use it.

// memDaemon is a daemon whose ports are memory ports, and its socket.
type memDaemon struct {
	d    *Daemon
	c    *ctl.Client
	dir  string
	mu   sync.Mutex
	mems map[string]*memport.Port
	stop func() // closes the client, the server and the daemon, once
}

// startMem starts a daemon with memory ports on dir, serves its commands
// on a socket in dir and connects a client; all stop when the test ends.
// Options change the daemon's Config first.
func startMem(t testing.TB, dir string, options ...func(*Config)) *memDaemon {
	t.Helper()
	m := &memDaemon{dir: dir, mems: map[string]*memport.Port{}}
	// Adaptive polling: several test daemons on two cores must not spin.
	cfg := Config{StateDir: dir, Switch: vswitch.Options{Workers: 1, Idle: pipeline.IdleSleep},
		memPorts: func(spec PortSpec) (ports.Port, error) {
			p, err := memport.New(memport.Config{Name: spec.Name, RingSize: 256})
			if err == nil {
				m.mu.Lock()
				m.mems[spec.Name] = p
				m.mu.Unlock()
			}
			return p, err
		}}
	for _, o := range options {
		o(&cfg)
	}
	d, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, d.Start())
	// A group the test's user is in: root, or the user's own group.
	srv, err := ctl.Listen(ctl.ServerConfig{Path: filepath.Join(dir, "ctl.sock"), GID: os.Getgid()}, d.Registry())
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	c, err := ctl.Dial(srv.Addr(), 10*time.Second)
	require.NoError(t, err)
	m.d, m.c = d, c
	m.stop = sync.OnceFunc(func() {
		m.c.Close()
		require.NoError(t, srv.Close())
		require.NoError(t, <-done)
		require.NoError(t, d.Close())
	})
	t.Cleanup(m.stop)
	return m
}

// call runs a command on the test's connection. The server hangs up on
// a connection idle for its read timeout (10 s), and a test that waited
// longer (many parallel commands on a loaded machine) finds it closed:
// then, when the request was never sent, it dials again and sends it.
func (m *memDaemon) call(cmd string, args []string, out any) error {
	err := m.c.Call(cmd, args, out)
	var ce *ctl.Error
	if !errors.As(err, &ce) || ce.Code != ctl.CodeUnavail || !strings.HasPrefix(ce.Message, "send:") {
		return err
	}
	c, derr := ctl.Dial(filepath.Join(m.dir, "ctl.sock"), 10*time.Second)
	if derr != nil {
		return errors.Join(err, derr)
	}
	m.c.Close()
	m.c = c
	return m.c.Call(cmd, args, out)
}

// ok runs a command that must succeed, decoding its result into out.
func (m *memDaemon) ok(t testing.TB, out any, cmd string, args ...string) {
	t.Helper()
	require.NoError(t, m.call(cmd, args, out), "%s %v", cmd, args)
}

// fails runs a command that must fail with code.
func (m *memDaemon) fails(t *testing.T, code ctl.Code, cmd string, args ...string) {
	t.Helper()
	err := m.call(cmd, args, nil)
	var ce *ctl.Error
	require.True(t, errors.As(err, &ce), "%s %v: %v", cmd, args, err)
	require.Equal(t, code, ce.Code, "%s %v: %s", cmd, args, ce.Message)
}

// failsWith runs a command that must fail with code and a message that
// contains want.
func (m *memDaemon) failsWith(t *testing.T, code ctl.Code, want, cmd string, args ...string) {
	t.Helper()
	err := m.call(cmd, args, nil)
	var ce *ctl.Error
	require.True(t, errors.As(err, &ce), "%s %v: %v", cmd, args, err)
	require.Equal(t, code, ce.Code, "%s %v: %s", cmd, args, ce.Message)
	require.Contains(t, ce.Message, want, "%s %v", cmd, args)
}

func (m *memDaemon) port(name string) *memport.Port {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mems[name]
}

// frame is a broadcast frame from src (an IPv4 ethertype, 60 bytes).
func frame(src byte) []byte {
	f := make([]byte, 60)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, src, 0x08, 0x00})
	return f
}

func TestSocketL2Commands(t *testing.T) {
	m := startMem(t, t.TempDir())
	var ver map[string]string
	m.ok(t, &ver, "version")
	require.Equal(t, DaemonVersion, ver["daemon"])

	m.ok(t, nil, "add-br", "br0", "mac_age=60", "mac_limit=100")
	m.ok(t, nil, "add-br", "br0") // the same again: a no-op
	m.fails(t, ctl.CodeExists, "add-br", "br0", "mac_age=61")
	m.fails(t, ctl.CodeUsage, "add-br", "br1", "bogus=1")
	m.fails(t, ctl.CodeUsage, "add-br", "br1", "bare")
	m.fails(t, ctl.CodeInvalid, "add-br", "br1", "mac_age=0")
	m.fails(t, ctl.CodeUsage, "add-br")
	m.fails(t, ctl.CodeUnknown, "no-such-command")
	var brs []string
	m.ok(t, &brs, "list-br")
	require.Equal(t, []string{"br0"}, brs)

	m.ok(t, nil, "set-bridge", "br0", "fast-path=off", "mac_age=30", "mac_limit=200")
	m.ok(t, nil, "set-bridge", "br0", "fast-path=on")
	m.fails(t, ctl.CodeNotFound, "set-bridge", "nobr", "mac_age=3")
	m.fails(t, ctl.CodeInvalid, "set-bridge", "br0", "fast-path=maybe")
	m.fails(t, ctl.CodeUsage, "set-bridge", "br0", "color=red")

	m.ok(t, nil, "add-port", "br0", "p1", "type=tap")
	m.ok(t, nil, "add-port", "br0", "p2", "type=veth", "rxq_affinity=0:0")
	m.ok(t, nil, "add-port", "br0", "p3", "trunks=20-30,40", "port_security=on", "macs=02:00:00:00:00:33", "mac_limit=5")
	m.ok(t, nil, "add-port", "br0", "p1", "type=tap")   // the same again: a no-op
	m.fails(t, ctl.CodeExists, "add-port", "br0", "p1") // an afxdp port, not the tap
	m.fails(t, ctl.CodeNotFound, "add-port", "nobr", "p9")
	m.fails(t, ctl.CodeUsage, "add-port", "br0", "p9", "type=floppy")
	m.fails(t, ctl.CodeUsage, "add-port", "br0", "p9", "type=tap", "dev=x")
	m.fails(t, ctl.CodeInvalid, "add-port", "br0", "p9", "rxq_affinity=zero")
	m.fails(t, ctl.CodeInvalid, "add-port", "br0", "p9", "vlan=5000")
	m.fails(t, ctl.CodeInvalid, "add-port", "br0", "p9", "trunks=1-x")
	m.fails(t, ctl.CodeInvalid, "add-port", "br0", "p9", "mode=hybrid")
	m.fails(t, ctl.CodeInvalid, "add-port", "br0", "p9", "macs=nope")
	m.fails(t, ctl.CodeInvalid, "add-port", "br0", "p9", "port_security=maybe")
	var names []string
	m.ok(t, &names, "list-ports", "br0")
	require.Equal(t, []string{"p1", "p2", "p3"}, names)
	m.fails(t, ctl.CodeNotFound, "list-ports", "nobr")

	m.ok(t, nil, "set-port", "p1", "vlan=0", "port_security=off", "mac_limit=10")
	m.ok(t, nil, "set-port", "p1", "mtu=1400") // a tap is made anew
	m.ok(t, nil, "set-port", "p3", "mode=access")
	m.ok(t, nil, "set-port", "p3", "mode=trunk", "trunks=20-30,40")
	m.fails(t, ctl.CodeNotFound, "set-port", "p9", "vlan=1")
	m.fails(t, ctl.CodeInvalid, "set-port", "p1", "mtu=10")
	m.fails(t, ctl.CodeUsage, "set-port", "p1", "color=red")
	// An access port with trunks is refused as add-port refuses it (it
	// dropped trunks= silently), and macs= naming no MAC as well (it
	// unbound the port's MACs: port security off without saying so).
	m.failsWith(t, ctl.CodeInvalid, "an access port carries no trunk VLANs", "set-port", "p3", "mode=access", "trunks=10")
	m.failsWith(t, ctl.CodeInvalid, "macs= names no MAC", "set-port", "p3", "macs=")
	m.failsWith(t, ctl.CodeInvalid, "macs= names no MAC", "add-port", "br0", "p9", "macs=")

	var sv ctl.ShowView
	m.ok(t, &sv, "show")
	require.Len(t, sv.Bridges, 1)
	b := sv.Bridges[0]
	require.Equal(t, "br0", b.Name)
	require.Equal(t, 30, b.MACAgeSeconds)
	require.True(t, b.FastPath)
	require.Len(t, b.Ports, 3)
	require.Equal(t, "1400", b.Ports[0].Options["mtu"])
	require.True(t, b.Ports[0].Attached)
	require.Equal(t, ctl.Trunk, b.Ports[2].Mode)
	require.Equal(t, "20-30,40", b.Ports[2].Trunks.String())
	require.True(t, b.Ports[2].PortSecurity)
	require.Equal(t, []string{"02:00:00:00:00:33"}, b.Ports[2].MACs)
	require.Len(t, sv.Workers, 1)

	// Traffic: a broadcast from p1 floods to p2 and its MAC is learned.
	var trace any
	m.ok(t, &trace, "trace/add", "p1", "5")
	require.Eventually(t, func() bool {
		m.port("p1").Inject(0, frame(0x11))
		return len(m.port("p2").Collect(0, 0)) > 0
	}, 10*time.Second, 10*time.Millisecond)
	var pg ctl.FDBPage
	require.Eventually(t, func() bool {
		pg = ctl.FDBPage{}
		m.ok(t, &pg, "fdb/show", "br0", "port=p1")
		return pg.Total > 0
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, "02:00:00:00:00:11", pg.Entries[0].MAC)
	m.ok(t, &pg, "fdb/show", "br0", "vlan=0", "mac=02:00:00:00:00:11", "limit=10")
	require.Equal(t, 1, pg.Total)
	m.fails(t, ctl.CodeInvalid, "fdb/show", "br0", "limit=0")
	m.fails(t, ctl.CodeInvalid, "fdb/show", "br0", "vlan=x")
	m.fails(t, ctl.CodeInvalid, "fdb/show", "br0", "mac=x")
	m.fails(t, ctl.CodeNotFound, "fdb/show", "nobr")
	m.ok(t, nil, "fdb/add", "br0", "02:00:00:00:00:99", "p2")
	m.fails(t, ctl.CodeInvalid, "fdb/add", "br0", "01:00:5e:00:00:01", "p2")
	m.ok(t, nil, "fdb/del", "br0", "02:00:00:00:00:99")
	// fdb/show of a port not in the bridge is not "0 entries"; fdb/del of
	// an entry no fdb/add made says what it is.
	m.failsWith(t, ctl.CodeNotFound, "no port nope in bridge br0", "fdb/show", "br0", "port=nope")
	m.failsWith(t, ctl.CodeNotFound, "port security binds it to port p3", "fdb/del", "br0", "02:00:00:00:00:33")
	m.ok(t, nil, "fdb/del", "br0", "02:00:00:00:00:11") // learned: no static MAC, a no-op
	m.ok(t, nil, "fdb/del", "br0", "02:00:00:00:00:98") // none: a no-op
	m.ok(t, nil, "fdb/flush", "br0")
	m.ok(t, nil, "fdb/flush")
	m.fails(t, ctl.CodeNotFound, "fdb/flush", "nobr")

	var traces []ctl.TraceView
	m.ok(t, &traces, "trace/show")
	require.NotEmpty(t, traces)
	require.Equal(t, "p1", traces[0].InPort)
	require.NotEmpty(t, traces[0].Hops)
	require.NotEmpty(t, traces[0].Headers)
	m.ok(t, nil, "trace/clear")
	m.fails(t, ctl.CodeNotFound, "trace/add", "p9", "5")

	var stats []ctl.PortStats
	m.ok(t, &stats, "port/stats")
	require.Len(t, stats, 3)
	m.ok(t, &stats, "port/stats", "p1")
	require.Len(t, stats, 1)
	require.NotZero(t, stats[0].Counters.RxPackets)
	m.fails(t, ctl.CodeNotFound, "port/stats", "p9")
	var nodes []ctl.NodeCounters
	m.ok(t, &nodes, "show-runtime")
	require.NotEmpty(t, nodes)
	var ws []ctl.WorkerInfo
	m.ok(t, &ws, "show-workers")
	require.Len(t, ws, 1)
	var errs []ctl.ErrorCount
	m.ok(t, &errs, "show-errors")

	// Metrics: every family is collected without error.
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(newMetricsCollector(m.d)))
	fams, err := reg.Gather()
	require.NoError(t, err)
	require.NotEmpty(t, fams)

	m.fails(t, ctl.CodeNotFound, "sriov/show", "nosuchpf0")
	m.ok(t, nil, "del-port", "p2")
	m.ok(t, nil, "del-port", "p2") // none: a no-op
	m.ok(t, nil, "del-br", "br0")
	m.ok(t, nil, "del-br", "br0") // none: a no-op
	m.ok(t, &sv, "show")
	require.Empty(t, sv.Bridges)
}

// TestConfigErrorsNameObjects: a change the switch refuses is told by the
// names of the bridge, port or interface, never by a path in the switch's
// Config (bridges[1].name, bridges[br0].ports[p1].macs[0]).
func TestConfigErrorsNameObjects(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-port", "br0", "p1")
	m.ok(t, nil, "add-port", "br0", "p2", "macs=02:00:00:00:00:05")
	for _, c := range []struct {
		want string
		args []string
	}{
		{`bridge name: name "bad name" has a space`, []string{"add-br", "bad name"}},
		{`bridge name: bridge names starting with "port:" are reserved`, []string{"add-br", "port:x"}},
		{`bridge "br0", port "p1", MAC: ff:ff:ff:ff:ff:ff is a multicast address`, []string{"set-port", "p1", "macs=ff:ff:ff:ff:ff:ff"}},
		{`bridge "br0", port "p1", MAC: 02:00:00:00:00:01 listed twice`, []string{"set-port", "p1", "macs=02:00:00:00:00:01,02:00:00:00:00:01"}},
		{`bridge "br0", port "p2", MAC: 02:00:00:00:00:05 is bound to port "p1" already`, []string{"set-port", "p1", "macs=02:00:00:00:00:05"}},
		{`bridge "br0", static MAC, vlan: port "p1" does not carry VLAN 9`, []string{"fdb/add", "br0", "02:00:00:00:00:07", "p1", "vlan=9"}},
		{`bridge "br0", static MAC, mac: 02:00:00:00:00:05 in VLAN 0 is bound to port "p2"`, []string{"fdb/add", "br0", "02:00:00:00:00:05", "p1"}},
	} {
		err := m.call(c.args[0], c.args[1:], nil)
		var ce *ctl.Error
		require.ErrorAs(t, err, &ce, "%v", c.args)
		require.Equal(t, ctl.CodeInvalid, ce.Code, "%v: %s", c.args, ce.Message)
		require.Contains(t, ce.Message, c.want, "%v", c.args)
		require.NotContains(t, ce.Message, "[", "%v: %s", c.args, ce.Message)
	}
}

func TestSocketCapture(t *testing.T) {
	m := startMem(t, t.TempDir())
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-port", "br0", "p1", "type=tap")
	m.ok(t, nil, "add-port", "br0", "p2", "type=tap")
	var cv ctl.CaptureView
	m.ok(t, &cv, "capture/show")
	require.False(t, cv.Running)
	m.fails(t, ctl.CodeInvalid, "capture/start", "p1", "file=../x.pcapng")
	m.fails(t, ctl.CodeNotFound, "capture/start", "p9")
	m.ok(t, nil, "capture/start", "p1", "both", "file=c.pcapng", "max=100", "proto=ipv4")
	m.ok(t, &cv, "capture/show")
	require.True(t, cv.Running)
	require.Equal(t, "p1", cv.Port)
	m.fails(t, ctl.CodeExists, "capture/start", "p2")
	require.Eventually(t, func() bool {
		m.port("p1").Inject(0, frame(0x21))
		m.ok(t, &cv, "capture/show")
		return cv.Packets > 0
	}, 10*time.Second, 10*time.Millisecond)
	m.ok(t, &cv, "capture/stop")
	require.NotZero(t, cv.Packets)
	st, err := os.Stat(cv.File)
	require.NoError(t, err)
	require.NotZero(t, st.Size())
	m.fails(t, ctl.CodeNotFound, "capture/stop")
}

func TestSocketL3AndOverlay(t *testing.T) {
	dir := t.TempDir()
	m := startMem(t, dir)
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-br", "ov")
	m.ok(t, nil, "add-port", "br0", "up0", "type=tap")
	m.ok(t, nil, "vrf/add", "red")
	// A VRF has no settings: adding it again (or "default") is a no-op;
	// the default VRF cannot go.
	m.ok(t, nil, "vrf/add", "red")
	m.ok(t, nil, "vrf/add", "default")
	m.failsWith(t, ctl.CodeInvalid, "the default VRF always exists", "vrf/del", "default")
	m.ok(t, nil, "rif/add", "r1", "bridge=br0", "addr=10.0.0.1/24")
	m.fails(t, ctl.CodeExists, "rif/add", "r1", "bridge=br0")
	m.fails(t, ctl.CodeInvalid, "rif/add", "r2", "bridge=nobr")
	m.failsWith(t, ctl.CodeNotFound, "no VRF nosuch", "rif/add", "r2", "bridge=br0", "vrf=nosuch") // br0 VLAN 0 has r1: the VRF is named first
	m.ok(t, nil, "rif/add", "r2", "bridge=br0", "vlan=7", "vrf=red", "mtu=1400", "addr=10.7.0.1/24,fd00:7::1/64")
	m.ok(t, nil, "addr/add", "r1", "fd00:1::1/64")
	m.fails(t, ctl.CodeInvalid, "addr/add", "r1", "nonsense")
	m.ok(t, nil, "addr/del", "r1", "fd00:1::1/64")
	m.ok(t, nil, "route/add", "10.9.0.0/16", "via=10.0.0.254")
	m.ok(t, nil, "route/add", "10.8.0.0/16", "blackhole")
	m.ok(t, nil, "route/add", "10.6.0.0/16", "dev=r2", "vrf=red")
	m.fails(t, ctl.CodeInvalid, "route/add", "10.5.0.0/16", "via=192.168.1.1")
	// The same route again is a no-op; another one to the prefix is
	// refused; an unknown VRF is not-found, as for rif/add.
	m.ok(t, nil, "route/add", "10.9.0.0/16", "via=10.0.0.254")
	m.ok(t, nil, "route/add", "10.8.0.0/16", "blackhole")
	m.failsWith(t, ctl.CodeExists, "another route 10.9.0.0/16 exists", "route/add", "10.9.0.0/16", "via=10.0.0.253")
	m.failsWith(t, ctl.CodeExists, "another route 10.8.0.0/16 exists", "route/add", "10.8.0.0/16", "via=10.0.0.253")
	m.failsWith(t, ctl.CodeNotFound, "no VRF blue", "route/add", "10.5.0.0/16", "via=10.0.0.254", "vrf=blue")
	var rs []ctl.RouteEntry
	m.ok(t, &rs, "route/show")
	require.NotEmpty(t, rs)
	m.ok(t, &rs, "route/show", "red")
	m.fails(t, ctl.CodeNotFound, "route/show", "blue")
	m.ok(t, nil, "neigh/add", "r1", "10.0.0.254", "02:00:00:00:00:fe")
	var ns []ctl.NeighborEntry
	m.ok(t, &ns, "neigh/show", "r1")
	require.Len(t, ns, 1)
	require.True(t, ns[0].Static)
	m.ok(t, nil, "neigh/del", "r1", "10.0.0.254")
	// No neighbor has the interface's own address or its subnet's
	// broadcast address (both were taken); an address outside its
	// subnets is, as Linux takes it: a dev= route resolves there.
	m.failsWith(t, ctl.CodeInvalid, "10.0.0.1 is interface r1's own address", "neigh/add", "r1", "10.0.0.1", "02:00:00:00:00:fe")
	m.failsWith(t, ctl.CodeInvalid, "10.0.0.255 is the broadcast address of interface r1's subnet 10.0.0.0/24", "neigh/add", "r1", "10.0.0.255", "02:00:00:00:00:fe")
	m.failsWith(t, ctl.CodeInvalid, "fd00:7::1 is interface r2's own address", "neigh/add", "r2", "fd00:7::1", "02:00:00:00:00:fe")
	m.failsWith(t, ctl.CodeInvalid, "10.7.0.255 is the broadcast address", "neigh/add", "r2", "::ffff:10.7.0.255", "02:00:00:00:00:fe")
	m.ok(t, nil, "neigh/add", "r2", "10.6.0.9", "02:00:00:00:00:fe")                    // behind route 10.6.0.0/16 dev=r2
	m.ok(t, nil, "neigh/add", "r2", "fd00:7::ffff:ffff:ffff:ffff", "02:00:00:00:00:fd") // IPv6 has no broadcast
	m.ok(t, nil, "neigh/del", "r2", "10.6.0.9")
	m.ok(t, nil, "neigh/del", "r2", "fd00:7::ffff:ffff:ffff:ffff")
	m.ok(t, nil, "neigh/flush", "r1")
	m.ok(t, nil, "neigh/flush")
	// An unknown interface is not-found for show as for flush (show
	// listed nothing and succeeded).
	m.failsWith(t, ctl.CodeNotFound, "no interface nope", "neigh/show", "nope")
	m.failsWith(t, ctl.CodeNotFound, "no interface nope", "neigh/flush", "nope")
	m.ok(t, &ns, "neigh/show", "r2")
	require.Empty(t, ns)
	var is []ctl.Interface
	m.ok(t, &is, "rif/show")
	require.Len(t, is, 2)

	m.ok(t, nil, "vtep/set", "10.0.0.1", "ttl=32", "df=on")
	m.fails(t, ctl.CodeInvalid, "vtep/set", "10.99.0.1")
	m.ok(t, nil, "vni/add", "ov", "100", "remotes=10.0.0.2")
	m.ok(t, nil, "vni/add-remote", "ov", "100", "10.0.0.3")
	m.failsWith(t, ctl.CodeExists, "VNI 100 is bridge ov's already", "vni/add", "br0", "100")
	m.ok(t, nil, "vni/del-remote", "ov", "100", "10.0.0.2")
	m.ok(t, nil, "add-port", "ov", "c1", "type=veth") // MTU follows the overlay
	var xv ctl.VXLANView
	m.ok(t, &xv, "vni/show")
	require.Equal(t, "10.0.0.1", xv.VTEP.Addr)
	require.Equal(t, []string{"10.0.0.3"}, xv.VNIs[0].Remotes)
	m.fails(t, ctl.CodeNotFound, "vni/del", "ov", "101")

	// A restart replays everything through the store.
	var before ctl.ShowView
	m.ok(t, &before, "show")
	m.stop()
	d2 := newMemPortDaemon(t, dir, nil)
	defer d2.Close()
	after := runShow(t, d2)
	require.Equal(t, len(before.Bridges), len(after.Bridges))
	for i := range before.Bridges {
		require.Len(t, after.Bridges[i].Ports, len(before.Bridges[i].Ports))
	}
	require.Len(t, d2.state.Interfaces, 2)
	require.NotNil(t, d2.state.VTEP)

	// Undo on the new daemon.
	for _, c := range [][]string{{"vni/del", "ov", "100"}, {"vtep/del"}, {"route/del", "10.9.0.0/16"},
		{"rif/del", "r2"}, {"vrf/del", "red"}, {"rif/del", "r1"}} {
		r := run(t, d2, c[0], c[1:]...)
		require.True(t, r.OK, "%v: %+v", c, r.Error)
	}
}

func runShow(t *testing.T, d *Daemon) ctl.ShowView {
	t.Helper()
	var v ctl.ShowView
	r := run(t, d, "show")
	require.True(t, r.OK)
	decode(t, r, &v)
	return v
}

package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/vswitch"
)

// sgFrame is a TCP SYN (or, with ack, an ACK) from 10.0.0.src to
// 10.0.0.dst, MACs 02::src and 02::dst, to port dport.
func sgFrame(src, dst byte, sport, dport uint16, ack bool) []byte {
	f := make([]byte, 14+20+20)
	copy(f, []byte{0x02, 0, 0, 0, 0, dst, 0x02, 0, 0, 0, 0, src, 0x08, 0x00})
	ip := f[14:]
	ip[0], ip[3], ip[8], ip[9] = 0x45, 40, 64, 6
	copy(ip[12:], []byte{10, 0, 0, src, 10, 0, 0, dst})
	tcp := ip[20:]
	tcp[0], tcp[1], tcp[2], tcp[3] = byte(sport>>8), byte(sport), byte(dport>>8), byte(dport)
	tcp[12] = 5 << 4
	tcp[13] = 0x02 // SYN
	if ack {
		tcp[13] = 0x10
	}
	return f
}

// through injects f on port in and reports whether port out sent it.
func (m *memDaemon) through(t *testing.T, in, out string, f []byte) bool {
	t.Helper()
	m.port(out).CollectAll()
	require.Equal(t, 1, m.port(in).Inject(0, f))
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if len(m.port(out).CollectAll()) > 0 {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

func sgRule(v ctl.SGShowView, group, rule string) ctl.SGRuleView {
	for _, g := range v.Groups {
		for _, r := range g.Rules {
			if g.Name == group && r.Name == rule {
				return r
			}
		}
	}
	return ctl.SGRuleView{}
}

func TestSGCommands(t *testing.T) {
	dir := t.TempDir()
	m := startMem(t, dir)
	m.ok(t, nil, "add-br", "br0")
	for _, p := range []string{"p1", "p2"} {
		m.ok(t, nil, "add-port", "br0", p)
	}
	// Teach the MAC table where 02::1 and 02::2 are (broadcasts).
	m.port("p1").Inject(0, frame(1))
	m.port("p2").Inject(0, frame(2))
	require.True(t, m.through(t, "p1", "p2", sgFrame(1, 2, 1000, 22, false)), "no group: everything passes")

	m.ok(t, nil, "sg/add", "web", "addrs=10.9.9.9")
	m.fails(t, ctl.CodeExists, "sg/add", "web")
	m.ok(t, nil, "sg/rule-add", "web", "name=http", "dir=ingress", "proto=tcp", "port=80", "remote=10.0.0.0/24", "action=allow")
	m.ok(t, nil, "sg/rule-add", "web", "name=no-ssh", "dir=ingress", "proto=tcp", "port=22", "prio=10", "action=deny")
	m.ok(t, nil, "sg/rule-add", "web", "name=echo", "dir=ingress", "proto=icmp", "icmp=8", "action=allow")
	// Bad input: typed errors, nothing changes.
	before, err := os.ReadFile(m.d.store.Path())
	require.NoError(t, err)
	m.fails(t, ctl.CodeExists, "sg/rule-add", "web", "name=http", "dir=ingress", "action=allow")
	m.fails(t, ctl.CodeInvalid, "sg/rule-add", "web", "name=x", "dir=sideways", "action=allow")
	m.fails(t, ctl.CodeInvalid, "sg/rule-add", "web", "name=x", "dir=ingress", "action=allow", "port=90-80", "proto=tcp")
	m.fails(t, ctl.CodeInvalid, "sg/rule-add", "web", "name=x", "dir=ingress", "action=allow", "port=80")
	m.fails(t, ctl.CodeInvalid, "sg/rule-add", "web", "name=x", "dir=ingress", "action=allow", "remote=10.0.0.1/8")
	m.fails(t, ctl.CodeInvalid, "sg/rule-add", "web", "name=x", "dir=ingress", "action=allow", "remote=group:nope")
	m.fails(t, ctl.CodeInvalid, "sg/rule-add", "web", "name=x", "dir=ingress", "action=maybe")
	m.fails(t, ctl.CodeInvalid, "sg/rule-add", "web", "name=x", "dir=ingress", "action=allow", "proto=tcpx")
	m.fails(t, ctl.CodeInvalid, "sg/rule-add", "web", "name=x", "dir=ingress", "action=allow", "proto=icmp", "icmp=256")
	m.fails(t, ctl.CodeInvalid, "sg/rule-add", "web", "name=x", "dir=ingress", "action=allow", "proto=tcp", "icmp=8")
	m.fails(t, ctl.CodeInvalid, "sg/rule-add", "web", "name=x", "dir=ingress", "action=allow", "prio=high")
	m.fails(t, ctl.CodeUsage, "sg/rule-add", "web", "name=x", "dir=ingress", "bogus=1")
	m.fails(t, ctl.CodeUsage, "sg/rule-add", "web", "name=x", "dir=ingress", "proto=tcp")
	m.fails(t, ctl.CodeNotFound, "sg/rule-add", "nope", "name=x", "dir=ingress", "action=allow")
	m.fails(t, ctl.CodeNotFound, "sg/bind", "nope", "web")
	m.fails(t, ctl.CodeNotFound, "sg/bind", "p2", "nope")
	m.fails(t, ctl.CodeNotFound, "sg/rule-del", "web", "nope")
	m.fails(t, ctl.CodeInvalid, "sg/add", "bad/name")
	after, err := os.ReadFile(m.d.store.Path())
	require.NoError(t, err)
	require.Equal(t, string(before), string(after), "failed commands changed the store")

	m.ok(t, nil, "sg/bind", "p2", "web")
	require.True(t, m.through(t, "p1", "p2", sgFrame(1, 2, 1001, 80, false)), "http allowed")
	require.False(t, m.through(t, "p1", "p2", sgFrame(1, 2, 1002, 22, false)), "ssh denied")
	require.False(t, m.through(t, "p1", "p2", sgFrame(1, 2, 1003, 23, false)), "default deny")

	var v ctl.SGShowView
	m.ok(t, &v, "sg/show")
	require.Len(t, v.Groups, 1)
	require.Equal(t, []string{"p2"}, v.Groups[0].Ports)
	require.Equal(t, []string{"10.9.9.9"}, v.Groups[0].MemberAddrs)
	require.EqualValues(t, 1, sgRule(v, "web", "http").Packets)
	require.EqualValues(t, 1, sgRule(v, "web", "no-ssh").Packets)
	require.Equal(t, 1, v.Flows)
	require.NotEmpty(t, v.DefaultDenies)
	m.fails(t, ctl.CodeNotFound, "sg/show", "nope")

	// A group another rule names cannot go.
	m.ok(t, nil, "sg/add", "clients")
	m.ok(t, nil, "sg/rule-add", "web", "name=from-clients", "dir=ingress", "remote=group:clients", "action=allow")
	m.failsWith(t, ctl.CodeInvalid, "group web's rule from-clients names it", "sg/del", "clients")

	// Restart (a clean stop, then as after kill -9: the store is all there is).
	m.stop()
	d2 := newMemPortDaemon(t, dir, nil)
	require.Len(t, d2.state.SecurityGroups, 2)
	r := run(t, d2, "sg/show", "web")
	require.True(t, r.OK, "%+v", r.Error)
	var v2 ctl.SGShowView
	decode(t, r, &v2)
	require.Len(t, v2.Groups[0].Rules, 4)
	require.Equal(t, "8", v2.Groups[0].Rules[2].ICMP, "the icmp type survives a restart")
	require.Equal(t, []string{"p2"}, v2.Groups[0].Ports)

	// Deleting the port unbinds it; rule and group deletion.
	for _, c := range [][]string{{"sg/rule-del", "web", "from-clients"}, {"sg/del", "clients"}, {"del-port", "p2"}, {"sg/rule-del", "web", "http"}} {
		r := run(t, d2, c[0], c[1:]...)
		require.True(t, r.OK, "%v: %+v", c, r.Error)
	}
	require.Empty(t, d2.state.sg("web").Ports)
	require.NoError(t, d2.Close())

	// A stored configuration the switch refuses (a rule edited by hand)
	// does not poison the next start: the previous good copy is used.
	raw, err := os.ReadFile(d2.store.Path())
	require.NoError(t, err)
	bad := []byte(string(raw[:len(raw)-1]))
	bad = []byte(replaceOnce(string(bad), `"action": "deny"`, `"action": "reject"`))
	require.NotEqual(t, string(raw[:len(raw)-1]), string(bad))
	require.NoError(t, os.WriteFile(d2.store.Path(), bad, 0o600))
	d3 := newMemPortDaemon(t, dir, nil)
	defer d3.Close()
	require.NotNil(t, d3.state.sg("web"))
	aside, _ := filepath.Glob(d3.store.Path() + ".corrupt-*")
	require.Len(t, aside, 1, "the refused file is set aside")
}

func replaceOnce(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	return s
}

// TestSGShowCapacityBeforeTracker: sg/show's flow capacity is the
// tracker's even before the switch makes it (when a group first has an
// attached port): it said "0 of 0" with no port bound, and after a
// restart whose bound port stayed down ("0 of 262144" before it).
func TestSGShowCapacityBeforeTracker(t *testing.T) {
	dir := t.TempDir()
	m := startMem(t, dir)
	capacity := func() int {
		var v ctl.SGShowView
		m.ok(t, &v, "sg/show")
		return v.FlowCapacity
	}
	m.ok(t, nil, "add-br", "br0")
	m.ok(t, nil, "add-port", "br0", "p1")
	m.ok(t, nil, "sg/add", "web")
	require.Equal(t, vswitch.DefaultConntrackCapacity, capacity(), "no port bound")
	m.ok(t, nil, "sg/bind", "p1", "web")
	require.Equal(t, vswitch.DefaultConntrackCapacity, capacity())
	m.stop()

	// p1 cannot be made at the restart: down, the tracker not made.
	m = startMem(t, dir, func(c *Config) {
		c.memPorts = func(spec PortSpec) (ports.Port, error) { return nil, errors.New("no device p1") }
	})
	var sv ctl.ShowView
	m.ok(t, &sv, "show")
	require.NotEmpty(t, sv.Bridges[0].Ports[0].Down)
	require.Equal(t, vswitch.DefaultConntrackCapacity, capacity(), "bound port down")
}

package vswitch

import (
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
)

// ctrFastPath is recFastPath with per-port counters that live in a slot as
// the kernel's do: a port that leaves (DelPort) and comes back starts at
// zero, and so does an entry's slot.
type ctrFastPath struct {
	*recFastPath
	ctr map[int]ports.FastPathCounters // by ifindex
}

func newCtrFastPath() *ctrFastPath {
	return &ctrFastPath{recFastPath: newRecFastPath(), ctr: map[int]ports.FastPathCounters{}}
}

func (f *ctrFastPath) DelPort(ifindex int) error {
	delete(f.ctr, ifindex)
	return f.recFastPath.DelPort(ifindex)
}

func (f *ctrFastPath) PortCounters(ifindex int) (ports.FastPathCounters, error) {
	c := f.ctr[ifindex]
	c.Misses = maps.Clone(c.Misses)
	return c, nil
}

// fpRig is a switch with the recording fast path and member ports a
// (ifindex 100), b (101) and c (102) in br0.
func fpRig(t *testing.T, fp ports.FastPath) *rig {
	t.Helper()
	r := newRig(t, Options{FastPath: fp})
	for i, n := range []string{"a", "b", "c"} {
		p, err := memport.New(memport.Config{Name: n, TxQueues: 1, RxQueues: 1})
		require.NoError(t, err)
		require.NoError(t, r.s.AddPort(memberPort{p, 100 + i}))
		r.ports[n] = p
	}
	return r
}

func fpBridge() Config {
	return Config{Bridges: []Bridge{{Name: "br0", MACAgeSeconds: 60, Ports: []Port{{Name: "a"}, {Name: "b"}, {Name: "c"}}}}}
}

// fpState is port name's fast-path state as Ports reports it.
func fpState(s *Switch, name string) *FastPathPort {
	for _, p := range s.Ports() {
		if p.Name == name {
			return p.FastPath
		}
	}
	return nil
}

// TestFastPathSecurityGroup: a port in a security group is in the slow
// path, both directions, from the Reconfigure that binds it — the XDP
// program has no policy, so sg-policy must see its every packet — and
// back in the fast path once unbound; ports outside groups are not
// touched.
func TestFastPathSecurityGroup(t *testing.T) {
	fp := newRecFastPath()
	r := fpRig(t, fp)
	cfg := fpBridge()
	r.reconf(cfg)
	require.False(t, fp.ports[100].SlowPath)
	require.False(t, fp.ports[101].SlowPath)

	// A group with its first port.
	web := SecurityGroup{Name: "web", Ports: []string{"b"}, Rules: []SGRule{
		{Name: "http", Direction: "ingress", Proto: "tcp", Ports: "80", Action: "allow"},
		{Name: "out", Direction: "egress", Proto: "any", Action: "allow"},
	}}
	cfg.SecurityGroups = []SecurityGroup{web}
	r.reconf(cfg)
	require.True(t, fp.ports[101].SlowPath, "a port in a group takes the pipeline")
	require.False(t, fp.ports[100].SlowPath)
	require.False(t, fp.ports[102].SlowPath)
	st := fpState(r.s, "b")
	require.Equal(t, "slow-path", st.State)
	require.Equal(t, "in security group web", st.Reason)

	// wantFastPath itself, for the configuration as it is.
	r.s.mu.Lock()
	want := r.s.wantFastPath(r.s.tables.Load(), &r.s.cfg, r.s.lrn.guards.Load())
	r.s.mu.Unlock()
	require.True(t, want[r.s.attached["b"].idx].cfg.SlowPath)
	require.False(t, want[r.s.attached["a"].idx].cfg.SlowPath)

	// A trace on the port and its end leave it in the slow path.
	require.NoError(t, r.s.TraceAdd("b", 1, nil))
	r.s.TraceClear()
	require.True(t, fp.ports[101].SlowPath)

	// Unbound: back in the fast path.
	cfg.SecurityGroups = []SecurityGroup{{Name: "web", Rules: web.Rules}}
	r.reconf(cfg)
	require.False(t, fp.ports[101].SlowPath)
	require.Equal(t, "on", fpState(r.s, "b").State)
}

// TestFastPathPortSecurityEntries: on a port with port security only its
// bound MACs are mirrored: another MAC pinned there (fdb/add) would pass
// the program's source check, and its frames would be switched in the
// kernel although l2-input drops them (src-mac-not-allowed).
func TestFastPathPortSecurityEntries(t *testing.T) {
	fp := newRecFastPath()
	r := fpRig(t, fp)
	cfg := fpBridge()
	cfg.Bridges[0].Ports[2].MACs = []string{macN(3)}
	cfg.Bridges[0].StaticMACs = []StaticMAC{{MAC: macN(55), Port: "c"}, {MAC: macN(56), Port: "a"}}
	r.reconf(cfg)
	dom := r.s.domIDs.ids[domKey{"br0", 0}]
	_, ok := fp.entry(dom, macN(3))
	require.True(t, ok, "the bound MAC is offloaded")
	_, ok = fp.entry(dom, macN(55))
	require.False(t, ok, "a static MAC on a secured port that is not one of its MACs is offloaded")
	e, ok := fp.entry(dom, macN(56))
	require.True(t, ok, "a static MAC on a port without port security")
	require.Equal(t, 100, e.ifindex)
	require.Contains(t, fdbMACs(r.s), macN(55), "the pipeline keeps the entry")

	// Its frames take the pipeline, which drops them.
	r.send("c", frame(macN(56), macN(55), -1))
	require.Empty(t, r.recv())

	// Bound: offloaded. Port security off: every entry.
	statics := cfg.Bridges[0].StaticMACs
	cfg.Bridges[0].Ports[2].MACs = []string{macN(3), macN(55)}
	cfg.Bridges[0].StaticMACs = statics[1:]
	r.reconf(cfg)
	_, ok = fp.entry(dom, macN(55))
	require.True(t, ok)
	cfg.Bridges[0].Ports[2].MACs = []string{macN(3)}
	cfg.Bridges[0].StaticMACs = statics
	r.reconf(cfg)
	_, ok = fp.entry(dom, macN(55))
	require.False(t, ok, "unbound again")
	off := false
	cfg.Bridges[0].Ports[2].PortSecurity = &off
	r.reconf(cfg)
	_, ok = fp.entry(dom, macN(55))
	require.True(t, ok)
}

// TestFastPathCountersSurvive: a port's fast-path counters, and its
// entries' hits, do not go back when the port is taken out of the kernel
// and put back (its slots freed and taken anew: here fast-path=off and
// on, and a change of port security); a new port at the index of a
// removed one starts at zero.
func TestFastPathCountersSurvive(t *testing.T) {
	fp := newCtrFastPath()
	r := fpRig(t, fp)
	cfg := fpBridge()
	r.reconf(cfg)
	dom := r.s.domIDs.ids[domKey{"br0", 0}]
	r.send("a", frame(bcast(), macN(1), -1))
	e, ok := fp.entry(dom, macN(1))
	require.True(t, ok)
	fp.srcHits[e.slot] = 7
	fp.ctr[100] = ports.FastPathCounters{RxPackets: 10, RxBytes: 600, TxPackets: 4, Misses: map[string]uint64{"group-dst": 2}}

	hits := func() uint64 {
		for _, e := range r.s.FDB() {
			if e.MAC == macN(1) && e.FastPath != nil {
				return e.FastPath.SrcHits
			}
		}
		return 0
	}
	require.EqualValues(t, 7, hits())
	require.EqualValues(t, 10, fpState(r.s, "a").Counters.RxPackets)

	// Off: the port reports what it counted; on: counting goes on from
	// there in a new slot.
	off := false
	cfg.Bridges[0].Ports[0].FastPath = &off
	r.reconf(cfg)
	st := fpState(r.s, "a")
	require.Equal(t, "off", st.State)
	require.Equal(t, &ports.FastPathCounters{RxPackets: 10, RxBytes: 600, TxPackets: 4, Misses: map[string]uint64{"group-dst": 2}}, st.Counters)
	cfg.Bridges[0].Ports[0].FastPath = nil
	r.reconf(cfg)
	require.Zero(t, fp.ctr[100].RxPackets, "the fake's slot starts at zero")
	fp.ctr[100] = ports.FastPathCounters{RxPackets: 3, RxBytes: 180, Misses: map[string]uint64{"group-dst": 1, "src-unknown": 1}}
	require.Equal(t, &ports.FastPathCounters{RxPackets: 13, RxBytes: 780, TxPackets: 4, Misses: map[string]uint64{"group-dst": 3, "src-unknown": 1}},
		fpState(r.s, "a").Counters)
	e2, ok := fp.entry(dom, macN(1))
	require.True(t, ok, "the entry is back")
	require.NotEqual(t, e.slot, e2.slot)
	require.EqualValues(t, 7, hits(), "the entry's hits")
	// What came back is no activity for the ager.
	r.clock.advance(61 * time.Second)
	r.s.Age()
	require.NotContains(t, fdbMACs(r.s), macN(1), "idle since: aged")

	// A port security change reclassifies too.
	cfg.Bridges[0].Ports[0].MACs = []string{macN(9)}
	r.reconf(cfg)
	require.EqualValues(t, 13, fpState(r.s, "a").Counters.RxPackets)

	// A new port at a removed port's index starts at zero.
	idx := r.s.attached["a"].idx
	require.NoError(t, r.s.RemovePort("a"))
	p, err := memport.New(memport.Config{Name: "d", TxQueues: 1, RxQueues: 1})
	require.NoError(t, err)
	require.NoError(t, r.s.AddPort(memberPort{p, 100}))
	require.Equal(t, idx, r.s.attached["d"].idx, "the index is reused")
	cfg.Bridges[0].Ports[0] = Port{Name: "d"}
	r.reconf(cfg)
	require.Zero(t, fpState(r.s, "d").Counters.RxPackets)
}

// TestFastPathTraceEndReturns: a trace that has taken its count gives its
// port back to the fast path at once, not at the learner's next periodic
// look (which this rig never makes: the switch is not started).
func TestFastPathTraceEndReturns(t *testing.T) {
	fp := newRecFastPath()
	r := fpRig(t, fp)
	r.reconf(fpBridge())
	require.NoError(t, r.s.TraceAdd("a", 2, nil))
	require.Equal(t, "slow-path", fpState(r.s, "a").State)
	r.send("a", frame(bcast(), macN(1), -1))
	require.Equal(t, "slow-path", fpState(r.s, "a").State, "one packet of two")
	r.send("a", frame(bcast(), macN(1), -1))
	require.Eventually(t, func() bool { return fpState(r.s, "a").State == "on" }, 10*time.Second, time.Millisecond)
	require.Len(t, r.s.Traces(), 2)

	// A trace replaced or cleared before its count stops its watch.
	require.NoError(t, r.s.TraceAdd("a", 5, nil))
	require.NoError(t, r.s.TraceAdd("b", 5, nil))
	require.Equal(t, "on", fpState(r.s, "a").State)
	require.Equal(t, "slow-path", fpState(r.s, "b").State)
	r.s.TraceClear()
	require.Equal(t, "on", fpState(r.s, "b").State)
}

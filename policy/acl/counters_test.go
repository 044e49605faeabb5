package acl

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// count returns the snapshot's packets and bytes for group/rule (and, for
// a default deny, its direction).
func count(s []RuleCount, group, rule string, dir Direction) (uint64, uint64) {
	for _, r := range s {
		if r.Group == group && r.Rule == rule && (!r.Default || r.Direction == dir) {
			return r.Packets, r.Bytes
		}
	}
	return 0, 0
}

func TestCounters(t *testing.T) {
	c, err := Compile(testModel())
	require.NoError(t, err)
	w1, w2 := c.NewCounters(nil), c.NewCounters(nil)
	http := tcp("8.8.8.8", "10.0.0.1", 40000, 80)
	telnet := tcp("8.8.8.8", "10.0.0.1", 40000, 23)
	other := tcp("8.8.8.8", "10.0.0.1", 40000, 99)
	charge := func(w *Counters, k Key, port uint16, n int) {
		for range n {
			_, idx := c.Lookup(Ingress, port, &k)
			w.Count(idx, 100)
		}
	}
	charge(w1, http, 1, 3)
	charge(w2, http, 2, 4)
	charge(w1, telnet, 1, 2)
	charge(w2, other, 1, 5)
	charge(w2, other, 9, 5) // unfiltered: not counted anywhere
	s := c.Snapshot(w1, w2)
	p, _ := count(s, "web", "http", Ingress)
	require.Zero(t, p, "nothing published yet")

	w1.Publish()
	w2.Publish()
	s = c.Snapshot(w1, w2)
	require.Len(t, s, c.Rules())
	var total uint64
	for _, r := range s {
		total += r.Packets
	}
	require.EqualValues(t, 14, total)
	p, b := count(s, "web", "http", Ingress)
	require.EqualValues(t, 7, p)
	require.EqualValues(t, 700, b)
	p, _ = count(s, "web", "no-telnet", Ingress)
	require.EqualValues(t, 2, p, "denied packets counted under the rule's name")
	p, _ = count(s, "web", DefaultDenyName, Ingress)
	require.EqualValues(t, 5, p)

	// Reconfigure: drop https, add a rule before http (its index moves).
	m2 := testModel()
	web := &m2.Groups[0]
	web.Rules = append([]Rule{{Name: "new", Proto: ProtoUDP}}, web.Rules[0])
	web.Rules = append(web.Rules, testModel().Groups[0].Rules[2:]...)
	c2, err := Compile(m2)
	require.NoError(t, err)
	n1 := c2.NewCounters(w1)
	charge(w1, http, 1, 1) // the worker has not switched yet
	n1.Adopt()
	_, idx := c2.Lookup(Ingress, 1, &http)
	n1.Count(idx, 100)
	n1.Publish()
	s2 := c2.Snapshot(n1, w2) // w2 belongs to c: ignored
	p, b = count(s2, "web", "http", Ingress)
	require.EqualValues(t, 5, p, "3 before, 1 before the switch, 1 after")
	require.EqualValues(t, 500, b)
	p, _ = count(s2, "web", "no-telnet", Ingress)
	require.EqualValues(t, 2, p)

	// A worker that skips a generation still carries its counts.
	c3, err := Compile(testModel())
	require.NoError(t, err)
	skipped := c2.NewCounters(w2)
	n2 := c3.NewCounters(skipped)
	n2.Adopt()
	p, _ = count(c3.Snapshot(n2), "web", "http", Ingress)
	require.EqualValues(t, 4, p)
	p, _ = count(c3.Snapshot(n2), "web", DefaultDenyName, Ingress)
	require.EqualValues(t, 5, p)
}

// TestCountersConcurrent runs a worker counting and publishing beside a
// control plane taking snapshots; the race detector checks the contract.
func TestCountersConcurrent(t *testing.T) {
	c, err := Compile(testModel())
	require.NoError(t, err)
	w := c.NewCounters(nil)
	k := tcp("8.8.8.8", "10.0.0.1", 40000, 80)
	const n = 20000
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for i := range n {
			_, idx := c.Lookup(Ingress, 1, &k)
			w.Count(idx, 1)
			if i%256 == 0 {
				w.Publish()
			}
		}
		w.Publish()
	})
	var last uint64
	for {
		finished := false
		select {
		case <-done: // everything published: this snapshot is the last word
			finished = true
		default:
		}
		p, _ := count(c.Snapshot(w), "web", "http", Ingress)
		require.GreaterOrEqual(t, p, last)
		last = p
		if p == n {
			break
		}
		require.False(t, finished, "the lookups ended with %d of %d counted to http", p, n)
	}
	wg.Wait()
}

func TestCountersPublishIndex(t *testing.T) {
	c, err := Compile(testModel())
	require.NoError(t, err)
	w := c.NewCounters(nil)
	http := tcp("8.8.8.8", "10.0.0.1", 40000, 80)
	telnet := tcp("8.8.8.8", "10.0.0.1", 40000, 23)
	_, hi := c.Lookup(Ingress, 1, &http)
	_, ti := c.Lookup(Ingress, 1, &telnet)
	require.NotEqual(t, hi, ti)
	w.Count(hi, 60)
	w.Count(hi, 40)
	w.Count(ti, 10)
	w.PublishIndex(hi)
	w.PublishIndex(NoRule)           // ignored
	w.PublishIndex(int32(c.Rules())) // out of range: ignored
	s := c.Snapshot(w)
	p, b := count(s, "web", "http", Ingress)
	require.EqualValues(t, 2, p)
	require.EqualValues(t, 100, b)
	p, _ = count(s, "web", "no-telnet", Ingress)
	require.Zero(t, p, "only the published index is visible")
	w.PublishIndex(ti)
	p, b = count(c.Snapshot(w), "web", "no-telnet", Ingress)
	require.EqualValues(t, 1, p)
	require.EqualValues(t, 10, b)
}

// TestCountersBeforeAdopt: a snapshot taken after a reconfiguration but
// before the worker switched (an idle worker may not for long) still shows
// the totals of the rules the new classifier keeps; after the switch they
// are counted once, not twice.
func TestCountersBeforeAdopt(t *testing.T) {
	c, err := Compile(testModel())
	require.NoError(t, err)
	w := c.NewCounters(nil)
	http := tcp("8.8.8.8", "10.0.0.1", 40000, 80)
	_, idx := c.Lookup(Ingress, 1, &http)
	for range 3 {
		w.Count(idx, 100)
	}
	w.Publish()

	m2 := testModel()
	m2.Groups[0].Rules = append(m2.Groups[0].Rules, Rule{Name: "unrelated", Proto: ProtoUDP, Ports: PortRange{10, 10}})
	c2, err := Compile(m2)
	require.NoError(t, err)
	n := c2.NewCounters(w)
	p, b := count(c2.Snapshot(n), "web", "http", Ingress)
	require.EqualValues(t, 3, p, "an unrelated rule added: http's count before the worker adopts")
	require.EqualValues(t, 300, b)

	// Two generations the worker has not adopted.
	c3, err := Compile(testModel())
	require.NoError(t, err)
	n3 := c3.NewCounters(n)
	p, _ = count(c3.Snapshot(n3), "web", "http", Ingress)
	require.EqualValues(t, 3, p)

	n3.Adopt()
	_, idx3 := c3.Lookup(Ingress, 1, &http)
	n3.Count(idx3, 100)
	n3.Publish()
	p, b = count(c3.Snapshot(n3), "web", "http", Ingress)
	require.EqualValues(t, 4, p, "adopted: counted once")
	require.EqualValues(t, 400, b)
}

// TestCountersAdoptConcurrent: snapshots beside a worker that adopts never
// count the carried totals twice or lose them.
func TestCountersAdoptConcurrent(t *testing.T) {
	c, err := Compile(testModel())
	require.NoError(t, err)
	http := tcp("8.8.8.8", "10.0.0.1", 40000, 80)
	for range 200 {
		w := c.NewCounters(nil)
		_, idx := c.Lookup(Ingress, 1, &http)
		w.Count(idx, 1)
		w.Publish()
		n := c.NewCounters(w)
		var wg sync.WaitGroup
		wg.Go(n.Adopt)
		for range 20 {
			p, _ := count(c.Snapshot(n), "web", "http", Ingress)
			require.EqualValues(t, 1, p)
		}
		wg.Wait()
	}
}

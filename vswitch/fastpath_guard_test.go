package vswitch

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
)

// guardFP is recFastPath that also records, for each SetPort and DelPort
// of a port, the port's guard the pipeline had published at that moment:
// whether the kernel's sources changed before or after the pipeline's.
type guardFP struct {
	*recFastPath
	s     *Switch
	calls []guardCall
}

type guardCall struct {
	op      string // "set" or "del"
	ifindex int
	cfg     ports.FastPathPort
	guard   *portGuard // published for the port at the call
}

func (f *guardFP) published(ifindex int) *portGuard {
	if f.s == nil {
		return nil
	}
	return f.s.lrn.guards.Load().port(uint16(ifindex - 100 + 1))
}

func (f *guardFP) SetPort(ifindex int, c ports.FastPathPort) error {
	f.calls = append(f.calls, guardCall{"set", ifindex, c, f.published(ifindex)})
	return f.recFastPath.SetPort(ifindex, c)
}

func (f *guardFP) DelPort(ifindex int) error {
	f.calls = append(f.calls, guardCall{"del", ifindex, ports.FastPathPort{}, f.published(ifindex)})
	return f.recFastPath.DelPort(ifindex)
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// TestFastPathGuardSources: a port with port security is in the kernel
// fast path Secured, with exactly the sources its guard allows (its
// addresses and allowed IPs and the guard's always-allowed ones, or every
// source when the guard checks none); a port without is not. A narrowed
// source set reaches the kernel in place, before the pipeline's guard is
// published; port security off and on reclassifies the port. A trace on
// another port, which recomputes the fast path outside Reconfigure,
// leaves the secured port Secured (before, it put the port back in the
// kernel unguarded).
func TestFastPathGuardSources(t *testing.T) {
	fp := &guardFP{recFastPath: newRecFastPath()}
	r := newRig(t, Options{FastPath: fp})
	fp.s = r.s
	for i, n := range []string{"c", "t", "o", "n"} {
		p, err := memport.New(memport.Config{Name: n, TxQueues: 1, RxQueues: 1})
		require.NoError(t, err)
		require.NoError(t, r.s.AddPort(memberPort{p, 100 + i}))
		r.ports[n] = p
		require.Equal(t, uint16(i+1), r.s.attached[n].idx, "guardFP.published's index")
	}
	c := guardedPort("c", "10.0.0.1/24", "2001:db8::1")
	c.AllowedIPs = []string{"10.9.0.0/16"}
	ct := secured(trunk("t", 0, 10), macN(2))
	ct.IPs = []string{"10.0.0.2"}
	n := secured(acc("n", 0), macN(4)) // port security, no address
	require.NoError(t, r.s.Reconfigure(oneBridge(c, ct, acc("o", 0), n)))
	dom := r.s.domIDs.ids[domKey{"br0", 0}]
	require.Equal(t, ports.FastPathPort{Domain: dom, Secured: true,
		Sources: prefixes("10.0.0.1/32", "10.9.0.0/16", "0.0.0.0/32", "2001:db8::1/128", "::/128", "fe80::/10")}, fp.ports[100])
	require.True(t, fp.ports[101].Secured)
	require.NotEmpty(t, fp.ports[101].VLANs, "a secured trunk keeps its VLANs")
	require.Equal(t, prefixes("10.0.0.2/32", "0.0.0.0/32", "::/128", "fe80::/10"), fp.ports[101].Sources)
	require.Equal(t, ports.FastPathPort{Domain: dom}, fp.ports[102])
	require.Equal(t, ports.FastPathPort{Domain: dom, Secured: true, Sources: prefixes("0.0.0.0/0", "::/0")}, fp.ports[103],
		"a guard with no address checks no source")
	e, ok := fp.entry(dom, macN(1))
	require.True(t, ok, "the bound MAC is a fast-path source and destination")
	require.Equal(t, 100, e.ifindex)

	// Narrowed: in place (no DelPort: counters and entries stay), before
	// the guard that drops 10.9.0.0/16 is published.
	old := r.s.lrn.guards.Load().port(1)
	fp.calls = nil
	c.AllowedIPs = nil
	require.NoError(t, r.s.Reconfigure(oneBridge(c, ct, acc("o", 0), n)))
	require.Len(t, fp.calls, 1, "%+v", fp.calls)
	call := fp.calls[0]
	require.Equal(t, "set", call.op)
	require.Equal(t, 100, call.ifindex)
	require.Equal(t, prefixes("10.0.0.1/32", "0.0.0.0/32", "2001:db8::1/128", "::/128", "fe80::/10"), call.cfg.Sources)
	require.Same(t, old, call.guard, "the kernel narrowed after the pipeline")
	require.NotSame(t, old, r.s.lrn.guards.Load().port(1))
	_, ok = fp.entry(dom, macN(1))
	require.True(t, ok)

	// A trace on another port, started and ended: c stays Secured.
	require.NoError(t, r.s.TraceAdd("o", 1, nil))
	require.True(t, fp.ports[102].SlowPath)
	r.s.TraceClear()
	require.False(t, fp.ports[102].SlowPath)
	require.True(t, fp.ports[100].Secured, "a trace put the secured port in the kernel unguarded")
	require.Equal(t, call.cfg.Sources, fp.ports[100].Sources)

	// Port security off: back unsecured (a reclassification); on again:
	// Secured before any frame of it is switched unguarded.
	off := false
	c.PortSecurity = &off
	require.NoError(t, r.s.Reconfigure(oneBridge(c, ct, acc("o", 0), n)))
	require.Equal(t, ports.FastPathPort{Domain: dom}, fp.ports[100])
	c.PortSecurity = nil
	fp.calls = nil
	require.NoError(t, r.s.Reconfigure(oneBridge(c, ct, acc("o", 0), n)))
	require.Len(t, fp.calls, 2, "%+v", fp.calls)
	require.Equal(t, "del", fp.calls[0].op, "the unsecured port leaves the kernel")
	require.Nil(t, fp.calls[0].guard, "...before the pipeline's guard is published")
	require.Equal(t, "set", fp.calls[1].op)
	require.True(t, fp.calls[1].cfg.Secured)
}

package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/pipeline"
)

func hopPath(tr Trace) []string {
	var p []string
	for _, h := range tr.Hops {
		p = append(p, h.Node)
	}
	return p
}

// TestTraceL2AndL3: traces show the node path and decisions of a switched
// packet, a flooded one, a routed one and a dropped one (with its reason),
// and only as many packets as asked, filtered.
func TestTraceL2AndL3(t *testing.T) {
	r := newL3Rig(t, testL3Config())
	filter, err := ParseFilter(map[string]string{"proto": "udp"})
	require.NoError(t, err)
	require.NoError(t, r.s.TraceAdd("a", 3, filter))
	r.send("a", serializeARPRequest("10.1.0.9", "10.1.0.1")) // not UDP: not traced
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1, 18, false))
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 1, 1, 18, false))
	r.send("a", frame(bcast(), macA, -1))
	r.send("a", frame(macB, macA, -1)) // beyond the count
	r.recv()
	trs := r.s.Traces()
	require.Len(t, trs, 3)
	for _, tr := range trs {
		require.Equal(t, "a", tr.InPort)
	}
	require.Equal(t, []string{nodeL2Input, nodeL2Fwd, nodeIP4Forward, nodeL2Output, pipeline.TxNodeName}, hopPath(trs[0]))
	require.Contains(t, trs[0].Hops[1].Detail, "router interface ra")
	require.Contains(t, trs[0].Hops[2].Detail, "out rb")
	require.Contains(t, trs[0].Hops[2].Detail, "ttl now 63")
	require.Equal(t, "b", trs[0].Hops[4].TxPort)

	require.Equal(t, []string{nodeL2Input, nodeL2Fwd, nodeIP4Forward, nodeIP4Error, nodeIP4Forward, nodeL2Output, pipeline.TxNodeName}, hopPath(trs[1]))
	require.Contains(t, trs[1].Hops[2].Detail, "ttl-expired")
	require.Contains(t, trs[1].Hops[3].Detail, "ICMP type 11")

	// The broadcast: bra has a, and the router (which takes only ARP and
	// IPv6): dropped in l2-flood for having nowhere to go.
	last := trs[2].Hops[len(trs[2].Hops)-1]
	require.Equal(t, nodeL2Flood, last.Node)
	require.Equal(t, "drop", last.Next)
	require.Equal(t, "no-flood-port", last.Drop)

	r.s.TraceClear()
	require.Empty(t, r.s.Traces())
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1, 18, false))
	require.Empty(t, r.s.Traces(), "cleared: nothing traced")
	requireNoLeak(t, r.s)
}

// TestCapture: rx, tx and drops of one port are copied with their
// direction, cut to the snap length, and drops carry their reason.
func TestCapture(t *testing.T) {
	r := newL3Rig(t, testL3Config())
	require.NoError(t, r.s.CaptureStart(CaptureConfig{Port: "a", Rx: true, Tx: true, Drops: true, Snaplen: 40}))
	r.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1, 18, false)) // rx on a
	r.send("b", pkt4(macRB, macB, "10.2.0.2", "10.1.0.2", 64, 1, 18, false)) // tx on a
	r.send("a", frame(macA, "02:00:00:00:99:99", -1))                        // dropped: dst on ingress port
	r.recv()
	var got []string
	r.s.CaptureDrain(func(p *pipeline.CapturedPacket) {
		require.LessOrEqual(t, len(p.Data), 40)
		require.Equal(t, 60, p.OrigLen)
		got = append(got, map[int]string{pipeline.CaptureRx: "rx", pipeline.CaptureTx: "tx", pipeline.CaptureDrop: "drop"}[p.Dir]+" "+p.Reason)
	})
	require.Equal(t, []string{"rx ", "tx ", "rx ", "drop l2-fwd/dst-on-ingress-port"}, got)
	r.s.CaptureStop()
	r.send("a", frame(macB, macA, -1))
	n := 0
	r.s.CaptureDrain(func(*pipeline.CapturedPacket) { n++ })
	require.Zero(t, n)
	requireNoLeak(t, r.s)
}

func TestParseFilter(t *testing.T) {
	udp := pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1234, 18, false)
	for _, tc := range []struct {
		opts map[string]string
		want bool
	}{
		{map[string]string{"proto": "udp"}, true},
		{map[string]string{"proto": "tcp"}, false},
		{map[string]string{"proto": "ipv4", "ip": "10.2.0.2"}, true},
		{map[string]string{"ip": "10.9.9.9"}, false},
		{map[string]string{"port": "1234"}, true},
		{map[string]string{"port": "9", "mac": macA}, true},
		{map[string]string{"mac": macB}, false},
	} {
		f, err := ParseFilter(tc.opts)
		require.NoError(t, err)
		require.Equal(t, tc.want, f(udp), "%v", tc.opts)
	}
	for _, bad := range []map[string]string{{"mac": "x"}, {"ip": "1.2.3"}, {"proto": "sctpx"}, {"port": "70000"}, {"colour": "red"}} {
		_, err := ParseFilter(bad)
		require.Error(t, err, "%v", bad)
	}
	f, err := ParseFilter(nil)
	require.NoError(t, err)
	require.Nil(t, f)
}

// FuzzFilter: the filter reads any bytes without panicking.
func FuzzFilter(f *testing.F) {
	f.Add(pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1234, 18, false))
	f.Add(pkt6(macRA, macA, "fd01::2", "fd02::2", 64, 1, 18))
	f.Add(serializeARPRequest("10.1.0.9", "10.1.0.1"))
	filters := []map[string]string{{"proto": "udp", "port": "1234"}, {"ip": "fd02::2"}, {"proto": "arp", "ip": "10.1.0.1"}, {"mac": macA}}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, o := range filters {
			fn, err := ParseFilter(o)
			require.NoError(t, err)
			fn(b[:len(b):len(b)])
		}
	})
}

func TestTraceOffCostsNothing(t *testing.T) {
	// With an observer installed but nothing traced or captured, the L2
	// path still allocates nothing and forwards as before.
	r := newL3Rig(t, testL3Config())
	require.NoError(t, r.s.TraceAdd("a", 1, nil))
	r.s.TraceClear()
	for _, q := range r.ports {
		q.SetSink(true)
	}
	frames := repeatFrame(64, pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1, 18, false))
	w := r.s.Workers()[0]
	allocs := testing.AllocsPerRun(50, func() {
		r.ports["a"].Inject(0, frames...)
		w.Poll()
	})
	require.Zero(t, allocs)
	requireNoLeak(t, r.s)
}

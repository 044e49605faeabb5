package vswitch

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/ports/memport"
)

// TestSGPathAllocations: sg-policy allocates nothing per packet on any of
// its paths: established flows, new flows committed, denied packets,
// replies, and the routed path.
func TestSGPathAllocations(t *testing.T) {
	r := newSGRig(t, Options{}, webGroup())
	w := r.s.Workers()[0]
	const perRun, runs = 32, 101
	newFlows := make([][]byte, perRun*runs)
	for i := range newFlows {
		newFlows[i] = udpFrame(macWeb, macCli, ipCli, ipWeb, uint16(1000+i), 53)
	}
	est := make([][]byte, 256)
	for i := range est {
		est[i] = udpFrame(macWeb, macCli, ipCli, ipWeb, uint16(20000+i), 53)
	}
	replies := make([][]byte, 256)
	for i := range replies {
		replies[i] = udpFrame(macCli, macWeb, ipWeb, ipCli, 53, uint16(20000+i))
	}
	r.send("cli", est...) // commit them
	require.Len(t, r.recv()["web"], 256)
	denied := repeatFrame(64, sgTCP(macWeb, macCli, ipCli, ipWeb, 1, 22, "S"))
	for _, q := range r.ports {
		q.SetSink(true)
	}
	measure := func(name, in string, frames func() [][]byte, want string) {
		t.Run(name, func(t *testing.T) {
			before := allDrops(r.s)
			var sunk uint64
			if want != "" {
				sunk = r.ports[want].Sunk()
			}
			allocs := testing.AllocsPerRun(runs-1, func() {
				r.ports[in].Inject(0, frames()...)
				w.Poll()
			})
			require.Zero(t, allocs, "allocations per poll")
			if want == "" {
				require.NotEmpty(t, dropsSince(r.s, before))
			} else {
				require.Empty(t, dropsSince(r.s, before))
				require.Greater(t, r.ports[want].Sunk(), sunk)
			}
		})
	}
	measure("established", "cli", func() [][]byte { return est }, "web")
	measure("replies", "web", func() [][]byte { return replies }, "cli")
	next := 0
	measure("new flows", "cli", func() [][]byte { next += perRun; return newFlows[next-perRun : next] }, "web")
	measure("denied", "cli", func() [][]byte { return denied }, "")
	requireNoLeak(t, r.s)
}

// benchSG measures a full vector of 256 UDP packets of established flows
// from cli to web through the switch (memory ports, one worker), with or
// without security groups: ns per packet. With groups, web is in one
// group of 10 rules among 100 groups of 10 rules (1,000 rules), and cli in
// another; flows is the number of distinct flows the vector cycles
// through (all committed first).
func benchSG(b *testing.B, groups bool, flows int) { benchSGWays(b, groups, flows, false) }

// benchSGWays is benchSG with, if twoWay, web answering every flow too
// (its replies set as web's source once the flows are committed): each
// poll takes a vector from each port.
func benchSGWays(b *testing.B, groups bool, flows int, twoWay bool) {
	benchSGRun(b, groups, flows, false, twoWay, false)
}

// benchSGPool is benchSG on shared (memfd) worker pools if shared: the
// price of vswitchd --shared-pools where the host gives shared memory no
// huge pages.
func benchSGPool(b *testing.B, groups bool, flows int, shared bool) {
	benchSGRun(b, groups, flows, shared, false, false)
}

// With newFlows, the flows are not committed first, and the flow table is
// emptied (outside the timer) before each pass over them, so every packet
// measured starts a flow: tracked, missed, classified against both
// groups, committed.
func benchSGRun(b *testing.B, groups bool, flows int, shared, twoWay, newFlows bool) {
	s, err := New(Options{PoolFrames: 4096, ConntrackCapacity: max(1<<16, 2*flows), SharedPools: shared})
	must(err)
	defer s.Close()
	r := &rig{s: s, ports: map[string]*memport.Port{}}
	for _, n := range []string{"web", "cli", "other"} {
		p, err := memport.New(memport.Config{Name: n})
		must(err)
		must(s.AddPort(p))
		r.ports[n] = p
	}
	must(r.s.Reconfigure(sgBridge()))
	for _, p := range []struct{ port, mac string }{{"web", macWeb}, {"cli", macCli}} {
		r.ports[p.port].Inject(0, arpFrame(p.mac))
		r.s.Poll()
	}
	r.recv()
	cfg := sgBridge()
	if groups {
		for g := range 100 {
			sg := SecurityGroup{Name: fmt.Sprintf("g%d", g)}
			for i := range 10 {
				sg.Rules = append(sg.Rules, SGRule{Name: fmt.Sprintf("r%d", i), Direction: []string{"ingress", "egress"}[i%2], Proto: "udp",
					Ports: fmt.Sprintf("%d-%d", 1000+100*i, 1050+100*i), Remote: fmt.Sprintf("10.%d.%d.0/24", g, i), Action: "allow"})
			}
			switch g {
			case 7:
				sg.Ports = []string{"web"}
				sg.Rules[9] = SGRule{Name: "dns", Direction: "ingress", Proto: "udp", Ports: "53", Remote: "10.0.0.0/16", Action: "allow"}
			case 8:
				sg.Ports = []string{"cli"}
				sg.Rules[9] = SGRule{Name: "out", Direction: "egress", Action: "allow"}
			}
			cfg.SecurityGroups = append(cfg.SecurityGroups, sg)
		}
	}
	must(r.s.Reconfigure(cfg))
	frames, replies := make([][]byte, flows), [][]byte(nil)
	for i := range frames {
		cli := ipCli
		if i >= 60000 { // more flows: vary the source address too
			cli = fmt.Sprintf("10.0.%d.%d", 1+i/60000/250, 1+i/60000%250)
		}
		frames[i] = udpFrame(macWeb, macCli, cli, ipWeb, uint16(1024+i%60000), 53)
		if twoWay {
			replies = append(replies, udpFrame(macCli, macWeb, ipWeb, cli, 53, uint16(1024+i%60000)))
		}
	}
	must(r.ports["cli"].SetSource(frames))
	for _, p := range r.ports {
		p.SetSink(true)
	}
	w := r.s.Workers()[0]
	vectors := (flows + 255) / 256
	if !newFlows {
		for range vectors { // commit every flow
			w.Poll()
		}
		if groups && r.s.SGStats().Flows < flows*9/10 {
			b.Fatalf("%d flows committed of %d", r.s.SGStats().Flows, flows)
		}
	}
	if twoWay {
		must(r.ports["web"].SetSource(replies))
	}
	sunk := r.ports["web"].Sunk() + r.ports["cli"].Sunk()
	runtime.GC() // the set-up's garbage (a million frames) is not the loop's
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	n, v, created := 0, 0, 0
	for b.Loop() {
		if newFlows && v == vectors {
			b.StopTimer()
			c := processCPU()
			created += r.s.FlushFlows()
			cpu += processCPU() - c
			b.StartTimer()
			v = 0
		}
		n += w.Poll()
		v++
	}
	b.StopTimer()
	cpu = processCPU() - cpu
	if got := r.ports["web"].Sunk() + r.ports["cli"].Sunk() - sunk; got != uint64(n) {
		b.Fatalf("%d packets in, %d out", n, got)
	}
	if newFlows {
		if created += r.s.FlushFlows(); created != n {
			b.Fatalf("%d packets, %d new flows", n, created)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds()/1e6, "Mflows/s")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/pkt")
	if cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/pkt") // the worker's CPU time: the process runs one goroutine here
	}
}

func BenchmarkSGPlainL2(b *testing.B)           { benchSG(b, false, 1000) }
func BenchmarkSGPlainL2SharedPool(b *testing.B) { benchSGPool(b, false, 1000, true) }
func BenchmarkSGEstablished1k(b *testing.B)     { benchSG(b, true, 1000) }
func BenchmarkSGEstablished100k(b *testing.B)   { benchSG(b, true, 100000) }
func BenchmarkSGPlainL2Flows100k(b *testing.B)  { benchSG(b, false, 100000) }
func BenchmarkSGEstablished1M(b *testing.B)     { benchSG(b, true, 1<<20) }
func BenchmarkSGPlainL2Flows1M(b *testing.B)    { benchSG(b, false, 1<<20) }

// Both directions: half the packets are replies (web to cli), which on a
// flow without translation read one entry line (conntrack's stPlain).
// BenchmarkSGNewFlows: every packet starts a flow through 1,000 rules
// (64k flows per pass, the table emptied between passes).
func BenchmarkSGNewFlows(b *testing.B) { benchSGRun(b, true, 1<<16, false, false, true) }

// BenchmarkSGNewFlows1M is BenchmarkSGNewFlows with 1M flows per pass
// (a table of 2M: its buckets and entries are far larger than the cache).
func BenchmarkSGNewFlows1M(b *testing.B) { benchSGRun(b, true, 1<<20, false, false, true) }

func BenchmarkSGTwoWay1M(b *testing.B)        { benchSGWays(b, true, 1<<20, true) }
func BenchmarkSGPlainL2TwoWay1M(b *testing.B) { benchSGWays(b, false, 1<<20, true) }

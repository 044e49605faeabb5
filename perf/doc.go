// Package perf holds Vecswitch's traffic scenarios and benchmarks. A
// Scenario is a switch with memory ports set up as a traffic generator
// (memport source mode, like testpmd txonly) on the ingress ports and
// sinks on the others, with every MAC already learned; Poll then runs one
// worker iteration on the calling goroutine, so a benchmark measures one
// core doing everything: rx copy, the L2 graph, tx.
//
// Run the benchmarks with
//
//	go test ./perf -run '^$' -bench . -benchtime 2s
//
// and the demo (cmd/vsdemo) to see the same scenarios with runtime
// counters.
//
// The end-to-end suites (RunE2E, RunTCPBench, RunSGBench, RunLBBench;
// run by cmd/vsbench and by the scripts e2e.sh, tcp.sh, sg.sh and lb.sh,
// which source lib.sh for what they share) measure real traffic between
// network namespaces, each path on a topology of its own. What they share
// is written once: the configuration checks (suite.go); the loop over the
// paths, with the checks before it, and the measurement steps more than
// one suite takes, a short-connection window and an iperf3 run, each with
// the host's CPU over it (suite_linux.go); the topologies
// (e2e_topo_linux.go, and nsbridge_linux.go for a Linux bridge in a
// namespace of its own); the Vecswitch rigs (e2e_vswitch_linux.go); the
// short-connection exchange (conn_linux.go) and its servers'
// listening threads (connserver_linux.go).
package perf

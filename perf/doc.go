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
package perf

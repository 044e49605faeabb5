package pipeline

// Runtime returns the worker's node counters: every graph node in
// declaration order, then the rx and tx pseudo-nodes. Safe to call while the
// worker runs.
func (w *Worker) Runtime() []NodeCounters {
	out := make([]NodeCounters, 0, len(w.nodes)+2)
	for i, n := range w.nodes {
		out = append(out, n.stats.snapshot(w.g.specs[i].Name, n.reasons))
	}
	out = append(out, w.rx.snapshot(RxNodeName, []string{DropRxError}))
	out = append(out, w.tx.snapshot(TxNodeName, []string{DropTxNoQueue, DropTxNotSent, DropTxBadPort}))
	return out
}

// PortCounters returns the worker's counters for a port index. Safe to call
// while the worker runs.
func (w *Worker) PortCounters(port uint16) PortCounters {
	if int(port) >= MaxPorts {
		return PortCounters{}
	}
	p := &w.ports[port]
	return PortCounters{p.rxPackets.get(), p.rxBytes.get(), p.txPackets.get(), p.txBytes.get(), p.txDrops.get()}
}

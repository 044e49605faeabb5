package vswitch

import "github.com/vecswitch/vecswitch/pipeline"

// Runtime returns the node counters summed over all workers (VPP's
// "show runtime"). Safe while the switch runs.
func (s *Switch) Runtime() []pipeline.NodeCounters {
	per := make([][]pipeline.NodeCounters, len(s.workers))
	for i, w := range s.workers {
		per[i] = w.Runtime()
	}
	return pipeline.SumCounters(per...)
}

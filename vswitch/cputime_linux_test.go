package vswitch

import "syscall"

// processCPU is the process's user plus system CPU time in nanoseconds
// (getrusage), for benchmarks that report CPU time per packet beside
// wall time: on a machine shared with other jobs, time the worker spends
// descheduled inflates the wall clock, not this.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

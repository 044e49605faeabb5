package perf

import (
	"fmt"
	"slices"
	"time"
)

// The checks the suites' configurations (E2EConfig, TCPBenchConfig,
// SGBenchConfig, LBBenchConfig) share in normalize: each fills a
// default where the field is zero and says what is out of range. The
// checks are independent of each other, so a normalize may run them all
// and return the first error in its order (cmp.Or).

// normPaths defaults *paths to def and checks that each is one of known;
// what names them in the error ("TCP path").
func normPaths(paths *[]string, def, known []string, what string) error {
	if len(*paths) == 0 {
		*paths = def
	}
	for _, p := range *paths {
		if !slices.Contains(known, p) {
			return fmt.Errorf("perf: unknown %s %q (want %v)", what, p, known)
		}
	}
	return nil
}

// normStreams defaults *streams to def and checks each count is 1 to
// most; what names them in the error ("iperf3").
func normStreams(streams *[]int, def []int, most int, what string) error {
	if len(*streams) == 0 {
		*streams = def
	}
	for _, n := range *streams {
		if n < 1 || n > most {
			return fmt.Errorf("perf: %d %s streams (want 1 to %d)", n, what, most)
		}
	}
	return nil
}

// normWindow defaults *d to def and checks it is at least least; the
// error calls it what and least leastText ("a second").
func normWindow(d *time.Duration, def, least time.Duration, what, leastText string) error {
	if *d == 0 {
		*d = def
	}
	if *d < least {
		return fmt.Errorf("perf: %s %v is shorter than %s", what, *d, leastText)
	}
	return nil
}

// normConns checks a short-connection run's settings: the window
// (default 5 s, at least 100 ms) and the client loops (default 4, 1 to
// most).
func normConns(window *time.Duration, loops *int, most int) error {
	if err := normWindow(window, 5*time.Second, 100*time.Millisecond, "connection window", "100ms"); err != nil {
		return err
	}
	if *loops == 0 {
		*loops = 4
	}
	if *loops < 1 || *loops > most {
		return fmt.Errorf("perf: %d connection loops (want 1 to %d)", *loops, most)
	}
	return nil
}

// checkCPUs checks that the switch's and the generator's CPUs are on this
// machine (ncpu CPUs).
func checkCPUs(cpuSwitch, cpuGen, ncpu int) error {
	if cpuSwitch < 0 || cpuSwitch >= ncpu || cpuGen < 0 || cpuGen >= ncpu {
		return fmt.Errorf("perf: CPUs %d and %d: this machine has %d", cpuSwitch, cpuGen, ncpu)
	}
	return nil
}

// orNop is log, or a log that drops everything if log is nil.
func orNop(log func(format string, a ...any)) func(format string, a ...any) {
	if log == nil {
		return func(string, ...any) {}
	}
	return log
}

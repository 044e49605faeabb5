package perf

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// cpuTimes is one CPU's line of /proc/stat: time spent in each state since
// boot, in USER_HZ ticks (1/100 s on common kernels). Guest time is already
// part of User and Nice, so it is not kept apart.
type cpuTimes struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal uint64
}

// busy is every state but idle and iowait; steal (the hypervisor running
// something else while this virtual CPU wanted to run) counts as busy.
func (c cpuTimes) busy() uint64 {
	return c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ + c.Steal
}

func (c cpuTimes) total() uint64 { return c.busy() + c.Idle + c.IOWait }

// cpuShares is how one CPU spent a window, as shares of the window's ticks
// (0 to 1): busy is everything but idle and iowait (user, nice, system,
// irq, softirq, steal); softIRQ and steal are parts of it.
type cpuShares struct {
	busy, softIRQ, steal float64
}

// sharesOf is how a CPU spent the time between two readings. A counter
// that went backwards (CPU hotplug) or a window without a tick gives zeros.
func sharesOf(before, after cpuTimes) cpuShares {
	tot := sub(after.total(), before.total())
	if tot == 0 {
		return cpuShares{}
	}
	share := func(a, b uint64) float64 { return min(1, float64(sub(a, b))/float64(tot)) }
	return cpuShares{
		busy:    share(after.busy(), before.busy()),
		softIRQ: share(after.SoftIRQ, before.SoftIRQ),
		steal:   share(after.Steal, before.Steal),
	}
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// parseProcStat reads the per-CPU lines ("cpu0 ...", "cpu1 ...") of
// /proc/stat into a map by CPU number; the total line ("cpu ...") and
// every other line are skipped. Kernels older than 2.6.11 have fewer
// columns: the missing ones read as 0. A per-CPU line with fewer than four
// columns or a column that is not a number is an error.
func parseProcStat(b []byte) (map[int]cpuTimes, error) {
	out := make(map[int]cpuTimes)
	for ln := 1; len(b) > 0; ln++ {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		f := strings.Fields(string(line))
		if len(f) == 0 || !isCPUName(f[0]) {
			continue
		}
		cpu, err := strconv.Atoi(f[0][3:])
		if err != nil {
			return nil, fmt.Errorf("perf: /proc/stat line %d: bad CPU %q", ln, f[0])
		}
		if _, dup := out[cpu]; dup {
			return nil, fmt.Errorf("perf: /proc/stat line %d: CPU %d twice", ln, cpu)
		}
		if len(f) < 5 {
			return nil, fmt.Errorf("perf: /proc/stat line %d: %d columns for %s, want at least 4", ln, len(f)-1, f[0])
		}
		var v [8]uint64
		for i := range min(len(v), len(f)-1) {
			if v[i], err = strconv.ParseUint(f[i+1], 10, 64); err != nil {
				return nil, fmt.Errorf("perf: /proc/stat line %d, %s column %d: %w", ln, f[0], i+1, err)
			}
		}
		out[cpu] = cpuTimes{User: v[0], Nice: v[1], System: v[2], Idle: v[3], IOWait: v[4], IRQ: v[5], SoftIRQ: v[6], Steal: v[7]}
	}
	return out, nil
}

// isCPUName reports whether s is "cpu" followed by decimal digits.
func isCPUName(s string) bool {
	if len(s) < 4 || s[:3] != "cpu" {
		return false
	}
	for _, c := range []byte(s[3:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// readProcStat reads and parses /proc/stat.
func readProcStat() (map[int]cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, fmt.Errorf("perf: %w", err)
	}
	return parseProcStat(b)
}

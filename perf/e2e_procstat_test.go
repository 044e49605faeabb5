package perf

import (
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

const procStatSample = `cpu  1103889 0 287102 1628286 13923 0 56597 103883 0 0
cpu0 544111 0 144840 821853 4684 0 29695 51113 0 0
cpu1 559778 7 142262 806433 9238 3 26901 52769 11 0
intr 39995112 0 0 0 0
ctxt 96594578
btime 1732240000
processes 123456
procs_running 2
procs_blocked 0
softirq 1 2 3 4 5 6 7 8 9 10 11
`

func TestParseProcStat(t *testing.T) {
	m, err := parseProcStat([]byte(procStatSample))
	require.NoError(t, err)
	require.Equal(t, map[int]cpuTimes{
		0: {User: 544111, System: 144840, Idle: 821853, IOWait: 4684, SoftIRQ: 29695, Steal: 51113},
		1: {User: 559778, Nice: 7, System: 142262, Idle: 806433, IOWait: 9238, IRQ: 3, SoftIRQ: 26901, Steal: 52769},
	}, m)

	// Old kernels: four columns; the rest read as 0.
	m, err = parseProcStat([]byte("cpu 1 2 3 4\ncpu3 10 20 30 40"))
	require.NoError(t, err)
	require.Equal(t, map[int]cpuTimes{3: {User: 10, Nice: 20, System: 30, Idle: 40}}, m)

	for _, bad := range []string{
		"cpu0 1 2 3\n",                 // too few columns
		"cpu0 1 2 x 4\n",               // not a number
		"cpu0 1 2 -3 4\n",              // negative
		"cpu0 1 2 3 4\ncpu0 1 2 3 4\n", // twice
		"cpu99999999999999999999 1 2 3 4\n",
	} {
		_, err := parseProcStat([]byte(bad))
		require.Error(t, err, "%q", bad)
	}
	// Lines that only look like CPUs are not ours.
	m, err = parseProcStat([]byte("cpufreq 1\ncpu+1 1 2 3 4\ncpu 1\n"))
	require.NoError(t, err)
	require.Empty(t, m)
}

func TestCPUUse(t *testing.T) {
	a := cpuTimes{User: 100, System: 50, Idle: 800, IOWait: 10, SoftIRQ: 20, Steal: 20}
	b := a
	b.User += 30
	b.SoftIRQ += 20
	b.Steal += 10
	b.Idle += 35
	b.IOWait += 5
	u := sharesOf(a, b) // 100 ticks: 60 busy, 20 softirq, 10 steal
	require.InDelta(t, 0.6, u.busy, 1e-9)
	require.InDelta(t, 0.2, u.softIRQ, 1e-9)
	require.InDelta(t, 0.1, u.steal, 1e-9)
	require.Equal(t, cpuShares{}, sharesOf(a, a), "no tick")
	require.Equal(t, cpuShares{}, sharesOf(b, a), "counters going backwards")
}

// TestReadProcStat reads this machine's /proc/stat: one entry per CPU.
func TestReadProcStat(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc/stat")
	}
	m, err := readProcStat()
	require.NoError(t, err)
	require.NotEmpty(t, m)
	for cpu, c := range m {
		require.GreaterOrEqual(t, cpu, 0)
		require.Positive(t, c.total())
	}
}

// FuzzProcStat: the parser never panics, and whatever it accepts gives
// shares between 0 and 1.
func FuzzProcStat(f *testing.F) {
	f.Add([]byte(procStatSample))
	f.Add([]byte("cpu0 1 2 3 4\n"))
	f.Add([]byte("cpu0 18446744073709551615 18446744073709551615 18446744073709551615 18446744073709551615 1 1 1 1\n"))
	f.Add([]byte("cpu"))
	f.Add([]byte("cpu00 1 2 3 4\r\ncpu1\t5 6 7 8"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseProcStat(b)
		if err != nil {
			return
		}
		var zero cpuTimes
		for cpu, c := range m {
			if cpu < 0 {
				t.Fatalf("negative CPU %d", cpu)
			}
			for _, u := range []cpuShares{sharesOf(zero, c), sharesOf(c, zero), sharesOf(c, c)} {
				for _, v := range []float64{u.busy, u.softIRQ, u.steal} {
					if math.IsNaN(v) || v < 0 || v > 1 {
						t.Fatalf("share %v from %+v", v, c)
					}
				}
			}
		}
	})
}

package fib

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

func heapBytes() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestControlRecordBytes checks the per-prefix estimates of the control
// record used by MemoryBytes against what the maps really take.
func TestControlRecordBytes(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("measures the heap")
	}
	const n = 200_000
	rng := rand.New(rand.NewPCG(1, 1))
	before := heapBytes()
	m4 := make(map[uint64]uint32)
	for i := range n {
		m4[rng.Uint64()] = uint32(i)
	}
	got4 := float64(heapBytes()-before) / n
	before = heapBytes()
	m6 := make(map[key6]uint32)
	for i := range n {
		m6[key6{rng.Uint64(), rng.Uint64(), uint8(i)}] = uint32(i)
	}
	got6 := float64(heapBytes()-before) / n
	t.Logf("control record: %.1f B/prefix (IPv4), %.1f B/prefix (IPv6)", got4, got6)
	if got4 > ctlBytesPerRoute4*1.5 || got4 < ctlBytesPerRoute4/2 || got6 > ctlBytesPerRoute6*1.5 || got6 < ctlBytesPerRoute6/2 {
		t.Errorf("estimates %d and %d B/prefix are off", ctlBytesPerRoute4, ctlBytesPerRoute6)
	}
	runtime.KeepAlive(m4)
	runtime.KeepAlive(m6)
}

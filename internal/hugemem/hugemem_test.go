package hugemem

import (
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

type line struct {
	a atomic.Uint64
	b [7]uint64
}

func TestAlloc(t *testing.T) {
	s, free := Alloc[line](1 << 16) // 4 MiB
	defer free()
	require.Len(t, s, 1<<16)
	if len(s) > 0 && uintptr(unsafe.Pointer(&s[0]))%hugePage != 0 {
		t.Logf("heap fallback (mapping refused?)")
	}
	for i := range s {
		require.Zero(t, s[i].a.Load())
		s[i].a.Store(uint64(i))
		s[i].b[6] = uint64(i)
	}
	for i := range s {
		require.EqualValues(t, i, s[i].a.Load())
	}
	free()
	free() // twice is harmless
}

func TestAllocAligned(t *testing.T) {
	if _, err := os.Stat("/proc/self/smaps"); err != nil {
		t.Skip("no /proc/self/smaps to read the mapping from")
	}
	s, free := Alloc[line](1 << 16)
	defer free()
	require.Zero(t, uintptr(unsafe.Pointer(&s[0]))%hugePage, "not from a huge-page-aligned mapping")
	smaps, err := os.ReadFile("/proc/self/smaps")
	require.NoError(t, err)
	require.True(t, strings.Contains(string(smaps), "hg"), "no mapping advised for huge pages (VmFlags hg)")
}

func TestSmallAndPointers(t *testing.T) {
	s, free := Alloc[uint64](8)
	free()
	require.Len(t, s, 8)
	require.Panics(t, func() { Alloc[*int](1 << 20) })
	require.Panics(t, func() { Alloc[struct{ s []byte }](1 << 20) })
}

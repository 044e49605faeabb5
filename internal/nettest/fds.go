//go:build linux

package nettest

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// DupFDs duplicates descriptors (close-on-exec), as SCM_RIGHTS does for
// another process: what a handover test gives the adopting side.
func DupFDs(t testing.TB, fds []int) []int {
	t.Helper()
	var out []int
	for _, fd := range fds {
		d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		require.NoError(t, err)
		out = append(out, d)
	}
	return out
}

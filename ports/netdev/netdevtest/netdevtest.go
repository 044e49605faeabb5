// Package netdevtest helps tests that need real kernel network objects:
// they skip unless run as root, and every namespace they make has a unique
// name and is removed by t.Cleanup, even when the test fails.
package netdevtest

import (
	"os"
	"testing"

	"github.com/vecswitch/vecswitch/ports/netdev"
)

// RequireRoot skips the test unless it runs as root, saying why.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (creates network namespaces and interfaces)")
	}
}

// Name returns a unique interface or namespace name starting with prefix.
func Name(prefix string) string { return netdev.RandomName(prefix) }

package cnitest

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRequireToolMissing: a missing tool skips the test, naming the
// package to install, and fails it when VECSWITCH_CI=1. The case runs in
// a child test process, whose outcome is what is checked.
func TestRequireToolMissing(t *testing.T) {
	if name := os.Getenv("CNITEST_CHILD_TOOL"); name != "" {
		RequireTool(t, name)
		t.Log("found", name)
		return
	}
	child := func(ci, tool string) string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRequireToolMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "CNITEST_CHILD_TOOL="+tool, CIEnv+"="+ci)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	out := child("", "host-local-vst-missing")
	require.Contains(t, out, "--- SKIP: TestRequireToolMissing", out)
	require.Contains(t, out, "apt-get install", out)
	out = child("1", "host-local-vst-missing")
	require.Contains(t, out, "--- FAIL: TestRequireToolMissing", out)
	require.True(t, strings.Contains(out, CIEnv+"=1"), out)
	out = child("1", "sh") // present: neither skip nor fail
	require.Contains(t, out, "--- PASS: TestRequireToolMissing", out)
}

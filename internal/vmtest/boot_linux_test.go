package vmtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// need skips the test (or, under CI, fails it) when QEMU or a kernel is
// missing.
func need(t *testing.T) Kernel {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the kernel image in /boot is readable by root only")
	}
	_, err := QEMU()
	if err == nil {
		var k Kernel
		if k, err = FindKernel("/boot", "/lib/modules"); err == nil {
			return k
		}
	}
	if os.Getenv("VECSWITCH_CI") != "" {
		t.Fatal(err)
	}
	t.Skip(err)
	return Kernel{}
}

// TestBoot boots the installed kernel with an initramfs that loads the
// virtio-net driver and prints what it sees, and checks the guest ran
// its script and powered off.
func TestBoot(t *testing.T) {
	k := need(t)
	initrd := filepath.Join(t.TempDir(), "initrd")
	err := k.BuildInitramfs(initrd, Initramfs{
		Modules: []string{"virtio_net", "virtio_pci"},
		Init:    "echo VMTEST uname $(uname -r)\necho VMTEST modules $(cut -d' ' -f1 /proc/modules | sort | tr '\\n' ' ')\n",
	})
	if errors.Is(err, ErrNotStatic) || errors.Is(err, os.ErrNotExist) {
		t.Skip(err)
	}
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	vm, err := Start(ctx, t, Config{Kernel: k, Initrd: initrd, Append: "quiet"})
	require.NoError(t, err)
	rel, i, err := vm.WaitLine(0, "VMTEST uname", 60*time.Second)
	require.NoError(t, err)
	require.Equal(t, k.Release, rel)
	t.Logf("guest up after %v", vm.Since())
	mods, _, err := vm.WaitLine(i, "VMTEST modules", 10*time.Second)
	require.NoError(t, err)
	for _, m := range []string{"virtio_net", "virtio_pci", "failover"} {
		require.Contains(t, strings.Fields(mods), m)
	}
	require.NoError(t, vm.Wait(20*time.Second))
	require.Contains(t, vm.Console(), "vmtest: init done")
	t.Logf("guest powered off after %v", vm.Since())
}

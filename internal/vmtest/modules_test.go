package vmtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestModules(t *testing.T) {
	dir := t.TempDir()
	dep := `kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci.ko.xz: kernel/drivers/virtio/virtio_pci-legacy_dev.ko.xz kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci-legacy_dev.ko.xz:
kernel/a.ko: kernel/b.ko
kernel/b.ko: kernel/a.ko
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/drivers/block/loop.ko\n"), 0o644))

	got, err := Modules(dir, "virtio_net", "virtio-pci", "loop", "failover")
	require.NoError(t, err)
	pos := map[string]int{}
	for i, f := range got {
		pos[f] = i
	}
	require.Len(t, got, 7, "%v", got)
	before := func(a, b string) {
		t.Helper()
		require.Less(t, pos["kernel/"+a], pos["kernel/"+b], "%v", got)
	}
	before("drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko")
	before("net/core/failover.ko", "drivers/net/net_failover.ko")
	before("drivers/net/net_failover.ko", "drivers/net/virtio_net.ko")
	before("drivers/virtio/virtio.ko", "drivers/net/virtio_net.ko")
	before("drivers/virtio/virtio_pci-legacy_dev.ko.xz", "drivers/virtio/virtio_pci.ko.xz")

	_, err = Modules(dir, "nosuch")
	require.ErrorIs(t, err, ErrNoModule)
	_, err = Modules(dir, "a")
	require.ErrorContains(t, err, "loop")
	_, err = Modules(t.TempDir(), "virtio_net")
	require.Error(t, err)
}

func TestVersionLess(t *testing.T) {
	require.True(t, versionLess("6.1.0-9-amd64", "6.1.0-57-amd64"))
	require.False(t, versionLess("6.1.0-57-amd64", "6.1.0-9-amd64"))
	require.True(t, versionLess("5.10.0-30-amd64", "6.1.0-1-amd64"))
	require.True(t, versionLess("6.1.0-57-amd64", "6.12.0-1-amd64"))
	require.False(t, versionLess("6.1.0-57-amd64", "6.1.0-57-amd64"))
}

func TestFindKernel(t *testing.T) {
	boot, mods := t.TempDir(), t.TempDir()
	_, err := FindKernel(boot, mods)
	require.ErrorIs(t, err, ErrNoKernel)
	for _, rel := range []string{"6.1.0-9-amd64", "6.1.0-57-amd64", "6.2.0-1-amd64"} {
		require.NoError(t, os.WriteFile(filepath.Join(boot, "vmlinuz-"+rel), nil, 0o600))
	}
	for _, rel := range []string{"6.1.0-9-amd64", "6.1.0-57-amd64"} { // 6.2 has no modules
		require.NoError(t, os.MkdirAll(filepath.Join(mods, rel), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(mods, rel, "modules.dep"), nil, 0o644))
	}
	k, err := FindKernel(boot, mods)
	require.NoError(t, err)
	require.Equal(t, "6.1.0-57-amd64", k.Release)
	require.Equal(t, filepath.Join(boot, "vmlinuz-6.1.0-57-amd64"), k.Image)
	require.Equal(t, filepath.Join(mods, "6.1.0-57-amd64"), k.ModDir)
}

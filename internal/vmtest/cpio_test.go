package vmtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCPIOLayout checks the bytes of a small archive against the newc
// format: header fields, name and data padding, the trailer.
func TestCPIOLayout(t *testing.T) {
	var buf bytes.Buffer
	c := NewCPIO(&buf)
	require.NoError(t, c.Dir("/bin", 0o755))
	require.NoError(t, c.File("bin/x", 0o644, []byte("hello")))
	require.NoError(t, c.Close())
	b := buf.String()
	// 110-byte header, "bin\0" (4) -> 114, padded to 116; no data.
	require.Equal(t, "070701"+"00000001"+"000041ed"+"00000000"+"00000000"+"00000002"+"00000000"+"00000000", b[:62])
	require.Equal(t, "00000004", b[94:102], "namesize counts the NUL")
	require.Equal(t, "bin\x00\x00\x00", b[110:116])
	// Second entry at 116: "bin/x\0" (6) -> 232, padded to 232; 5 bytes
	// of data padded to 8.
	e := b[116:]
	require.Equal(t, "070701", e[:6])
	require.Equal(t, "000081a4", e[14:22])
	require.Equal(t, "00000005", e[54:62], "filesize")
	require.Equal(t, "bin/x\x00", e[110:116])
	require.Equal(t, "hello\x00\x00\x00", e[116:124])
	tr := e[124:]
	require.True(t, strings.HasPrefix(tr, "070701"))
	require.Equal(t, "TRAILER!!!\x00", tr[110:121])
	require.Zero(t, buf.Len()%4)
}

// TestCPIOExtract has another implementation, busybox's cpio, unpack an
// archive with every kind of entry, and compares.
func TestCPIOExtract(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not installed: it unpacks the archive to check it")
	}
	var buf bytes.Buffer
	c := NewCPIO(&buf)
	require.NoError(t, c.Dir("d", 0o750))
	require.NoError(t, c.Dir("d/e", 0o755))
	data := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	require.NoError(t, c.File("d/e/big", 0o600, data[:15999]))
	require.NoError(t, c.File("d/empty", 0o644, nil))
	require.NoError(t, c.Symlink("d/link", "e/big"))
	require.NoError(t, c.Close())
	dir := t.TempDir()
	cmd := exec.Command(bb, "cpio", "-i", "-d", "-m")
	cmd.Dir = dir
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	got, err := os.ReadFile(filepath.Join(dir, "d/link"))
	require.NoError(t, err)
	require.Equal(t, data[:15999], got)
	fi, err := os.Stat(filepath.Join(dir, "d/e/big"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	fi, err = os.Stat(filepath.Join(dir, "d/empty"))
	require.NoError(t, err)
	require.Zero(t, fi.Size())
	target, err := os.Readlink(filepath.Join(dir, "d/link"))
	require.NoError(t, err)
	require.Equal(t, "e/big", target)
}

func TestCPIOBadName(t *testing.T) {
	c := NewCPIO(new(bytes.Buffer))
	require.Error(t, c.File("/", 0o644, nil))
	require.Error(t, c.File("a\x00b", 0o644, nil))
}

package vhostuser

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSocketFile(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	dir := t.TempDir()

	// Kata's layout: the directory is created; the mode is applied.
	sock := filepath.Join(dir, "vhostuser_10.0.0.5", "vhu.sock")
	p, err := New(Config{Name: "a", Socket: sock, SocketMode: 0o660, Logger: quiet})
	require.NoError(t, err)
	fi, err := os.Stat(sock)
	require.NoError(t, err)
	require.Equal(t, os.ModeSocket|0o660, fi.Mode()&(os.ModeType|os.ModePerm))
	require.Equal(t, sock, p.Socket())

	// A live socket is not taken over.
	_, err = New(Config{Name: "b", Socket: sock, Logger: quiet})
	require.ErrorIs(t, err, ErrSocketInUse)
	require.NoError(t, p.Close())
	_, err = os.Lstat(sock)
	require.ErrorIs(t, err, os.ErrNotExist)

	// A stale one (its owner died without removing it) is.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	require.NoError(t, err)
	ln.SetUnlinkOnClose(false)
	ln.Close()
	p, err = New(Config{Name: "c", Socket: sock, Logger: quiet})
	require.NoError(t, err)
	require.NoError(t, p.Close())

	// Anything else at the path is left alone.
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("keep"), 0o600))
	_, err = New(Config{Name: "d", Socket: file, Logger: quiet})
	require.Error(t, err)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, "keep", string(b))
	_, err = New(Config{Name: "e", Socket: filepath.Join(file, "x.sock"), Logger: quiet})
	require.Error(t, err, "the directory is a file")

	// A directory others could write to, or another user's, is refused.
	open := filepath.Join(dir, "open")
	require.NoError(t, os.Mkdir(open, 0o777))
	require.NoError(t, os.Chmod(open, 0o777))
	_, err = New(Config{Name: "f", Socket: filepath.Join(open, "x.sock"), Logger: quiet})
	require.ErrorContains(t, err, "writable by others")
	require.NoError(t, os.Chmod(open, 0o777|os.ModeSticky))
	p, err = New(Config{Name: "g", Socket: filepath.Join(open, "x.sock"), Logger: quiet})
	require.NoError(t, err, "sticky, as /tmp")
	require.NoError(t, p.Close())
	if os.Geteuid() == 0 {
		theirs := filepath.Join(dir, "theirs")
		require.NoError(t, os.Mkdir(theirs, 0o755))
		require.NoError(t, os.Chown(theirs, 4242, 4242))
		_, err = New(Config{Name: "h", Socket: filepath.Join(theirs, "x.sock"), Logger: quiet})
		require.ErrorContains(t, err, "belongs to uid 4242")
	}
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(open, link))
	_, err = New(Config{Name: "i", Socket: filepath.Join(link, "x.sock"), Logger: quiet})
	require.Error(t, err, "a link")
}

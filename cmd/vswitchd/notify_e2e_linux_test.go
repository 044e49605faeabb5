package main_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
)

// notice is one datagram a process sent to the notify socket.
type notice struct {
	pid   int
	state string
}

// notifySocket is a stand-in for systemd's notify socket (this machine's
// PID 1 is not systemd): a unixgram socket that reads each datagram with
// its sender's credentials, as systemd does.
func notifySocket(t *testing.T) (path string, got <-chan notice) {
	path = filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	raw, err := c.SyscallConn()
	require.NoError(t, err)
	require.NoError(t, raw.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) }))
	require.NoError(t, err)
	ch := make(chan notice, 64)
	go func() {
		buf, oob := make([]byte, 4096), make([]byte, 256)
		for {
			n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			nt := notice{state: string(buf[:n])}
			if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) > 0 {
				if cred, err := unix.ParseUnixCredentials(&msgs[0]); err == nil {
					nt.pid = int(cred.Pid)
				}
			}
			ch <- nt
		}
	}()
	return path, ch
}

// next returns the next notice, failing after 10 s.
func next(t *testing.T, got <-chan notice) notice {
	t.Helper()
	select {
	case n := <-got:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
	}
	return notice{}
}

// TestSystemdNotifyTakeover: under a service manager (NOTIFY_SOCKET),
// vswitchd says READY=1 once it runs; `vswitchd --takeover --detach` (the
// unit's ExecReload) exits 0 once its child forwards, and that child makes
// itself the unit's main process (MAINPID=) before the old one may exit,
// then says READY=1; the old one, handed over, says nothing (STOPPING=1
// from it would end the unit); the new one says STOPPING=1 when stopped.
func TestSystemdNotifyTakeover(t *testing.T) {
	path, got := notifySocket(t)
	t.Setenv("NOTIFY_SOCKET", path)
	d := newDaemon(t)
	oldPID := d.cmd.Process.Pid
	require.Equal(t, notice{oldPID, "READY=1"}, next(t, got))

	a, b := nettest.NewNS(t), nettest.NewNS(t)
	sfx := nettest.Suffix()
	d.must("add-br", "br0")
	d.must("add-port", "br0", "sa"+sfx, "type=veth", "netns="+a.Path(), "ip=10.66.0.1/24")
	d.must("add-port", "br0", "sb"+sfx, "type=tap", "netns="+b.Path(), "ip=10.66.0.2/24")
	require.NoError(t, ping(a, "10.66.0.2"))

	args := []string{"--socket", d.socket, "--state-dir", filepath.Join(d.dir, "state"), "--takeover", "--detach"}
	reload := exec.Command(bins.daemon, args...)
	reload.Stdout, reload.Stderr = d.log, d.log
	require.NoError(t, reload.Run(), "the reload command failed")
	_, err := d.vsctl("version")
	require.NoError(t, err, "the new vswitchd answers when the reload command returns")
	require.NoError(t, d.cmd.Wait(), "the old vswitchd exits cleanly")
	d.cmd = nil

	main := next(t, got)
	require.True(t, strings.HasPrefix(main.state, "MAINPID="), "first the new process claims the unit: %+v", main)
	newPID, err := strconv.Atoi(strings.TrimPrefix(main.state, "MAINPID="))
	require.NoError(t, err)
	require.Equal(t, newPID, main.pid, "the process that sent MAINPID names itself")
	require.NotEqual(t, oldPID, newPID)
	require.NotEqual(t, reload.Process.Pid, newPID, "the main process is the detached child, not the reload command")
	require.Equal(t, notice{newPID, "READY=1"}, next(t, got))
	require.NoError(t, ping(a, "10.66.0.2"), "traffic through the new vswitchd")

	// Stop the detached one as systemd would, after the ports went.
	d.must("del-port", "sa"+sfx)
	d.must("del-port", "sb"+sfx)
	p, err := os.FindProcess(newPID)
	require.NoError(t, err)
	require.NoError(t, p.Signal(syscall.SIGTERM))
	require.Equal(t, notice{newPID, "STOPPING=1"}, next(t, got))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if p.Signal(syscall.Signal(0)) != nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the new vswitchd did not exit")
	}
	select {
	case n := <-got:
		t.Fatalf("unexpected notification %+v (the old process must not say STOPPING=1)", n)
	default:
	}

	// --detach whose child fails: the error, exit status 1.
	dir := t.TempDir()
	out, err := exec.Command(bins.daemon, "--socket", filepath.Join(dir, "none.sock"), "--state-dir", dir, "--takeover", "--detach").CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "no running vswitchd to take over")
	require.Contains(t, string(out), "did not start")
}

package main_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// daemonsOn returns the PIDs of the vswitchd processes (the test's
// build) whose arguments name socket.
func daemonsOn(socket string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		if args[0] == bins.daemon && slices.Contains(args, socket) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killDaemonsOn kills every vswitchd on socket until none is left (a
// chain of them that still grows included).
func killDaemonsOn(socket string) {
	for quiet, deadline := 0, time.Now().Add(10*time.Second); quiet < 3 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		pids := daemonsOn(socket)
		if len(pids) == 0 {
			quiet++
			continue
		}
		quiet = 0
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// serverPID is the PID of the process that serves the control socket.
func serverPID(t *testing.T, socket string) int {
	t.Helper()
	c, err := net.Dial("unix", socket)
	require.NoError(t, err)
	defer c.Close()
	raw, err := c.(*net.UnixConn).SyscallConn()
	require.NoError(t, err)
	var cred *unix.Ucred
	require.NoError(t, raw.Control(func(fd uintptr) { cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }))
	require.NoError(t, err)
	return int(cred.Pid)
}

// stopPID stops a detached vswitchd with SIGTERM and waits until it is
// gone.
func stopPID(t *testing.T, pid int) {
	t.Helper()
	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "vswitchd %d did not stop", pid)
	}
}

// detachRig is a private socket and state directory for a --detach
// vswitchd, whose processes are all killed at the end whatever happened.
func detachRig(t *testing.T) (socket string, args []string) {
	build(t)
	dir := t.TempDir()
	socket = filepath.Join(dir, "vswitchd.sock")
	t.Cleanup(func() { killDaemonsOn(socket) })
	return socket, []string{"--socket", socket, "--state-dir", filepath.Join(dir, "state")}
}

// TestDetachAnySpelling: --detach=t (or TRUE: every spelling Go's bool
// flags take) used to be passed on to the child, which detached again,
// and so on without end, each process waiting for its child. One
// vswitchd results now, without --detach in its arguments. A second
// generation would show as a third process: then the test kills them all
// and fails at once.
func TestDetachAnySpelling(t *testing.T) {
	for _, spelling := range []string{"--detach=t", "-detach=TRUE"} {
		t.Run(spelling, func(t *testing.T) {
			socket, args := detachRig(t)
			var out bytes.Buffer
			cmd := exec.Command(bins.daemon, append(args, spelling)...)
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				if n := len(daemonsOn(socket)); n > 2 {
					killDaemonsOn(socket)
					t.Fatalf("%s: %d vswitchd processes: the child detached again", spelling, n)
				}
				select {
				case err := <-exited:
					require.NoError(t, err, "%s", out.String())
				default:
					require.True(t, time.Now().Before(deadline), "vswitchd %s did not return", spelling)
					continue
				}
				break
			}
			pids := daemonsOn(socket)
			require.Len(t, pids, 1, "exactly one vswitchd runs")
			require.Equal(t, pids[0], serverPID(t, socket), "and it serves the socket")
			b, err := os.ReadFile("/proc/" + strconv.Itoa(pids[0]) + "/cmdline")
			require.NoError(t, err)
			for _, a := range strings.Split(string(b), "\x00") {
				require.False(t, strings.HasPrefix(strings.TrimLeft(a, "-"), "detach"), "the child's arguments: %q", b)
			}
			stopPID(t, pids[0])
			require.Empty(t, daemonsOn(socket))
		})
	}
}

// TestDetachedChildNeverDetaches: the mark a --detach parent gives its
// child (VSWITCHD_DETACHED) makes it run, whatever its arguments say.
func TestDetachedChildNeverDetaches(t *testing.T) {
	socket, args := detachRig(t)
	cmd := exec.Command(bins.daemon, append(args, "--detach")...)
	cmd.Env = append(os.Environ(), "VSWITCHD_DETACHED=1")
	require.NoError(t, cmd.Start())
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		require.LessOrEqual(t, len(daemonsOn(socket)), 1, "it detached")
		if _, err := os.Stat(socket); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "vswitchd did not come up")
	}
	require.Equal(t, cmd.Process.Pid, serverPID(t, socket), "the process started serves the socket itself")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())
}

// TestDetachLeavesCallersOutput: a detached vswitchd kept the caller's
// stdout and stderr. Behind `| head -2` it died of SIGPIPE at the next
// line it logged (here: a failed takeover attempt; then its stop); in
// `$(...)` the caller waited for it to exit. Now its output moves off
// the caller's once it runs: to --log-file when given.
func TestDetachLeavesCallersOutput(t *testing.T) {
	// `vswitchd --detach 2>&1 | head -2`
	socket, args := detachRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sh := exec.CommandContext(ctx, "sh", append([]string{"-c", `"$0" "$@" --detach 2>&1 | head -2`, bins.daemon}, args...)...)
	sh.WaitDelay = time.Second
	out, err := sh.Output()
	require.NoError(t, err, "%s", out)
	require.Equal(t, 2, strings.Count(string(out), "\n"), "%s", out)
	pid := serverPID(t, socket)
	logSomething(t, socket)
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, syscall.Kill(pid, 0), "vswitchd died when it logged after its caller's pipe closed")
	stopPID(t, pid)
	_, err = os.Stat(socket)
	require.ErrorIs(t, err, os.ErrNotExist, "vswitchd did not stop cleanly (it logs that it stops)")

	// x=$(vswitchd --detach --log-file F)
	socket, args = detachRig(t)
	logFile := filepath.Join(t.TempDir(), "vswitchd.log")
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	cmd := exec.CommandContext(ctx2, bins.daemon, append(args, "--detach", "--log-file", logFile)...)
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	_, err = cmd.Output()
	require.NoError(t, err, "%s", stderr.String())
	require.Less(t, time.Since(start), 15*time.Second)
	require.Contains(t, stderr.String(), "vswitchd running", "the caller sees the log until the daemon runs")
	pid = serverPID(t, socket)
	logSomething(t, socket)
	stopPID(t, pid)
	b, err := os.ReadFile(logFile)
	require.NoError(t, err)
	for _, want := range []string{"vswitchd running", "takeover failed", "msg=stopping"} {
		require.Equal(t, 1, strings.Count(string(b), want), "%q once in the log file:\n%s", want, b)
	}
	require.NotContains(t, stderr.String(), "takeover failed")
}

// logSomething makes the vswitchd on socket log a line: a connection to
// its takeover socket that sends nonsense is a failed takeover.
func logSomething(t *testing.T, socket string) {
	t.Helper()
	c, err := net.Dial("unix", strings.TrimSuffix(socket, ".sock")+".takeover.sock")
	require.NoError(t, err)
	c.Write([]byte("nonsense that is no takeover message\n"))
	c.Close()
	time.Sleep(100 * time.Millisecond)
}

// TestSIGHUPStopsCleanly: SIGHUP (the terminal of a foreground vswitchd
// closing) killed it on the spot, leaving its control and takeover
// sockets; it stops as SIGTERM does.
func TestSIGHUPStopsCleanly(t *testing.T) {
	d := newDaemon(t)
	d.must("add-br", "brh")
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGHUP))
	require.NoError(t, d.cmd.Wait(), "vswitchd exits with status 0")
	d.cmd = nil
	d.log.Close()
	b, err := os.ReadFile(filepath.Join(d.dir, "log"))
	require.NoError(t, err)
	require.Contains(t, string(b), "msg=stopping signal=hangup")
	for _, path := range []string{d.socket, strings.TrimSuffix(d.socket, ".sock") + ".takeover.sock"} {
		_, err := os.Stat(path)
		require.ErrorIs(t, err, os.ErrNotExist, "%s left behind", path)
	}
	d.start() // the configuration stayed
	require.Equal(t, "brh\n", d.must("list-br"))
}

// TestFlagErrorsUpFront: --help prints on stdout with status 0 (it was
// stderr); a bad flag prints the usage on stderr with status 2; --cores
// naming a CPU the host lacks and a --metrics-addr without a port are bad
// flags, refused before the state directory is touched (they failed with
// status 1 after the configuration was replayed).
func TestFlagErrorsUpFront(t *testing.T) {
	build(t)
	cmd := exec.Command(bins.daemon, "--help")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run())
	require.Contains(t, stdout.String(), "usage: vswitchd")
	require.Contains(t, stdout.String(), "-log-file")
	require.Empty(t, stderr.String())

	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	base := []string{"--socket", filepath.Join(dir, "s.sock"), "--state-dir", state}
	code, out := runToExit(t, nil, append(base, "--no-such-flag")...)
	require.Equal(t, 2, code)
	require.Contains(t, out, "usage: vswitchd")

	code, out = runToExit(t, nil, append(base, "--cores", "1,4095")...)
	require.Equal(t, 2, code, "%s", out)
	online, err := os.ReadFile("/sys/devices/system/cpu/online")
	require.NoError(t, err)
	require.Contains(t, out, `cores "1,4095": this host has no CPU 4095 (its CPUs: `+strings.TrimSpace(string(online))+")")

	code, out = runToExit(t, nil, append(base, "--metrics-addr", "127.0.0.1")...)
	require.Equal(t, 2, code, "%s", out)
	require.Contains(t, out, `metrics-addr "127.0.0.1": missing port in address`)
	_, err = os.Stat(state)
	require.ErrorIs(t, err, os.ErrNotExist, "a refused start touched the state directory")
}

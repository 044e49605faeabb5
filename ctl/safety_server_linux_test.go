package ctl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRootAlwaysGetsIn: clients of the control group that take every
// connection once kept root out ("busy: too many clients"). Now each
// non-root user gets at most MaxPerUID connections, all of them together
// at most MaxClients-RootReserve, and root gets in.
func TestRootAlwaysGetsIn(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run clients as other users")
	}
	dir, err := os.MkdirTemp("", "vssafety-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dir) })
	const gid = 4243
	s := startServer(t, ServerConfig{Path: filepath.Join(dir, "ctl.sock"), GID: gid, MaxClients: 8, RootReserve: 2, MaxPerUID: 4})
	self, err := os.ReadFile(os.Args[0])
	require.NoError(t, err)
	bin := filepath.Join(dir, "holder.test")
	require.NoError(t, os.WriteFile(bin, self, 0o755))

	// holder runs a client process as uid that opens n connections and
	// keeps them until the test ends; it reports how many were admitted.
	holder := func(uid uint32, n int) (ok, busy int) {
		cmd := exec.Command(bin, "-test.run", "^TestSafetyClientHolder$", "-test.v")
		cmd.Env = append(os.Environ(), "VS_SAFETY_SOCK="+s.Addr(), fmt.Sprint("VS_SAFETY_N=", n))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			stdin.Close()
			cmd.Wait()
		})
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, err := fmt.Sscanf(sc.Text(), "HOLDER ok=%d busy=%d", &ok, &busy); err == nil {
				go io.Copy(io.Discard, stdout)
				return ok, busy
			}
			t.Log(sc.Text())
		}
		t.Fatalf("holder uid %d: no report", uid)
		return
	}
	ok, busy := holder(65534, 8)
	require.Equal(t, [2]int{4, 4}, [2]int{ok, busy}, "one user's connections are bounded by MaxPerUID")
	ok, busy = holder(65533, 8)
	require.Equal(t, [2]int{2, 6}, [2]int{ok, busy}, "other users share all but RootReserve")

	for i := range 2 {
		c, err := Dial(s.Addr(), 5*time.Second)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Call("echo", []string{"root"}, nil), "root connection %d locked out", i)
	}
	c, err := Dial(s.Addr(), 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	require.True(t, errors.Is(c.Call("echo", []string{"x"}, nil), &Error{Code: CodeBusy}), "MaxClients still bounds everything")
}

// TestSafetyClientHolder is the client side of TestRootAlwaysGetsIn.
func TestSafetyClientHolder(t *testing.T) {
	path := os.Getenv("VS_SAFETY_SOCK")
	if path == "" {
		t.Skip("helper for TestRootAlwaysGetsIn")
	}
	var n, ok, busy int
	fmt.Sscan(os.Getenv("VS_SAFETY_N"), &n)
	for range n {
		c, err := Dial(path, 5*time.Second)
		if err != nil {
			fmt.Println("dial:", err)
			continue
		}
		defer c.Close()
		err = c.Call("echo", []string{"x"}, nil)
		switch {
		case err == nil:
			ok++
		case errors.Is(err, &Error{Code: CodeBusy}):
			busy++
		default:
			fmt.Println("call:", strings.ReplaceAll(err.Error(), "\n", " "))
		}
	}
	fmt.Printf("HOLDER ok=%d busy=%d\n", ok, busy)
	io.Copy(io.Discard, os.Stdin) // hold the connections until the parent says
}

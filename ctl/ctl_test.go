package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testRegistry() *Registry {
	r := NewRegistry()
	r.Register(Command{Name: "echo", Usage: "WORD...", MinArgs: 1, MaxArgs: -1,
		Run: func(_ context.Context, args []string) (any, error) { return args, nil }})
	r.Register(Command{Name: "fail", MaxArgs: 0,
		Run: func(context.Context, []string) (any, error) { return nil, Errorf(CodeNotFound, "no such thing") }})
	r.Register(Command{Name: "crash", MaxArgs: 0,
		Run: func(context.Context, []string) (any, error) { panic("boom") }})
	r.Register(Command{Name: "plain-error", MaxArgs: 0,
		Run: func(context.Context, []string) (any, error) { return nil, errors.New("disk on fire") }})
	return r
}

func startServer(t *testing.T, cfg ServerConfig) *Server {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "ctl.sock")
	}
	if cfg.GID == 0 {
		cfg.GID = -1
	}
	s, err := Listen(cfg, testRegistry())
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		require.NoError(t, <-done)
	})
	return s
}

func dial(t *testing.T, s *Server) *Client {
	t.Helper()
	c, err := Dial(s.Addr(), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCallsAndTypedErrors(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the server admits root only by default; run as root")
	}
	s := startServer(t, ServerConfig{})
	fi, err := os.Stat(s.Addr())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "socket is private")

	c := dial(t, s)
	var out []string
	require.NoError(t, c.Call("echo", []string{"a", "b"}, &out))
	require.Equal(t, []string{"a", "b"}, out)

	cases := []struct {
		cmd  string
		args []string
		code Code
	}{
		{"echo", nil, CodeUsage},
		{"nope", nil, CodeUnknown},
		{"fail", nil, CodeNotFound},
		{"fail", []string{"x"}, CodeUsage},
		{"crash", nil, CodeInternal},
		{"plain-error", nil, CodeInternal},
	}
	for _, tc := range cases {
		err := c.Call(tc.cmd, tc.args, nil)
		var ce *Error
		require.ErrorAs(t, err, &ce, "%s", tc.cmd)
		require.Equal(t, tc.code, ce.Code, "%s: %v", tc.cmd, err)
		require.True(t, errors.Is(err, &Error{Code: tc.code}))
	}
	// The connection survived every error.
	require.NoError(t, c.Call("echo", []string{"still"}, &out))
}

// rawLines sends raw bytes and reads response lines.
func rawExchange(t *testing.T, path string, send string, lines int) []Response {
	t.Helper()
	c, err := net.Dial("unix", path)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte(send))
	require.NoError(t, err)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	var out []Response
	for range lines {
		line, err := r.ReadBytes('\n')
		if err != nil {
			break
		}
		var resp Response
		require.NoError(t, json.Unmarshal(line, &resp), "%s", line)
		out = append(out, resp)
	}
	return out
}

func TestMalformedRequests(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the server admits root only by default; run as root")
	}
	s := startServer(t, ServerConfig{MaxRequest: 256})
	rs := rawExchange(t, s.Addr(), "not json\n{\"v\":1,\"cmd\":\"echo\",\"args\":[\"ok\"]}\n{\"v\":2,\"cmd\":\"echo\",\"args\":[\"x\"]}\n{\"v\":1,\"cmd\":\"echo\",\"bogus\":1}\n", 4)
	require.Len(t, rs, 4)
	require.Equal(t, CodeBadRequest, rs[0].Error.Code)
	require.True(t, rs[1].OK)
	require.Equal(t, CodeVersion, rs[2].Error.Code)
	require.Equal(t, CodeBadRequest, rs[3].Error.Code, "unknown fields are refused")

	big := `{"v":1,"cmd":"echo","args":["` + strings.Repeat("x", 1000) + `"]}` + "\n"
	rs = rawExchange(t, s.Addr(), big, 1)
	require.Len(t, rs, 1)
	require.Equal(t, CodeTooLarge, rs[0].Error.Code)

	// The daemon keeps serving.
	c := dial(t, s)
	require.NoError(t, c.Call("echo", []string{"fine"}, nil))
}

func TestSlowClientTimesOutWithoutBlockingOthers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the server admits root only by default; run as root")
	}
	s := startServer(t, ServerConfig{ReadTimeout: 300 * time.Millisecond})
	slow, err := net.Dial("unix", s.Addr())
	require.NoError(t, err)
	defer slow.Close()
	slow.Write([]byte(`{"v":1,"cmd":"ec`)) // and stall
	c := dial(t, s)
	require.NoError(t, c.Call("echo", []string{"meanwhile"}, nil))
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(slow).ReadBytes('\n')
	require.NoError(t, err)
	var resp Response
	require.NoError(t, json.Unmarshal(line, &resp))
	require.Equal(t, CodeTimeout, resp.Error.Code)
}

func TestConcurrentClients(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the server admits root only by default; run as root")
	}
	s := startServer(t, ServerConfig{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(s.Addr(), 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range 10 {
				var out []string
				w := fmt.Sprint(i, "-", j)
				if err := c.Call("echo", []string{w}, &out); err != nil || out[0] != w {
					errs <- fmt.Errorf("client %d: %v %v", i, err, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestStaleAndLiveSocket(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the server admits root only by default; run as root")
	}
	path := filepath.Join(t.TempDir(), "ctl.sock")
	// A stale socket: bound, then its listener vanished without unlinking.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	ln.SetUnlinkOnClose(false)
	ln.Close()
	_, err = os.Stat(path)
	require.NoError(t, err, "stale socket file is there")
	s := startServer(t, ServerConfig{Path: path})
	// A second daemon on the same path is refused.
	_, err = Listen(ServerConfig{Path: path, GID: -1}, testRegistry())
	require.ErrorIs(t, err, ErrInUse)
	c := dial(t, s)
	require.NoError(t, c.Call("echo", []string{"x"}, nil))

	// Not a socket: refused, left alone.
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	_, err = Listen(ServerConfig{Path: file, GID: -1}, testRegistry())
	require.Error(t, err)
	_, err = os.Stat(file)
	require.NoError(t, err)
}

func TestDialNoDaemon(t *testing.T) {
	_, err := Dial(filepath.Join(t.TempDir(), "none.sock"), time.Second)
	var ce *Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, CodeUnavail, ce.Code)
	require.Contains(t, ce.Message, "not running")
}

// TestNonRootRefused runs this test binary as nobody (uid 65534) as a
// client: the server refuses it with "denied".
func TestNonRootRefused(t *testing.T) {
	if os.Getenv("VS_CTL_CLIENT") != "" {
		return // the child's copy of this test does nothing
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	dir, err := os.MkdirTemp("", "vsctl-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755)) // so nobody can reach the socket file
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := startServer(t, ServerConfig{Path: filepath.Join(dir, "ctl.sock"), GID: 4242})
	fi, err := os.Stat(s.Addr())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o660), fi.Mode().Perm())
	require.Equal(t, uint32(4242), fi.Sys().(*syscall.Stat_t).Gid)
	os.Chmod(s.Addr(), 0o666) // let the OS permission pass, to test the credential check
	// A copy of this test binary that nobody may execute.
	self, err := os.ReadFile(os.Args[0])
	require.NoError(t, err)
	bin := filepath.Join(dir, "client.test")
	require.NoError(t, os.WriteFile(bin, self, 0o755))
	cmd := exec.Command(bin, "-test.run", "^TestClientChild$", "-test.v")
	cmd.Env = append(os.Environ(), "VS_CTL_CLIENT="+s.Addr())
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "CHILD-GOT denied")
}

// TestClientChild is the client side of TestNonRootRefused.
func TestClientChild(t *testing.T) {
	path := os.Getenv("VS_CTL_CLIENT")
	if path == "" {
		t.Skip("helper for TestNonRootRefused")
	}
	c, err := Dial(path, 5*time.Second)
	if err != nil {
		fmt.Println("CHILD-GOT dial-error", err)
		return
	}
	defer c.Close()
	err = c.Call("echo", []string{"x"}, nil)
	var ce *Error
	if errors.As(err, &ce) {
		fmt.Println("CHILD-GOT", ce.Code)
		return
	}
	fmt.Println("CHILD-GOT", err)
}

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions([]string{"a=1", "b="})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a": "1", "b": ""}, o)
	_, err = ParseOptions([]string{"a=1", "b=", "a=3"})
	require.True(t, errors.Is(err, &Error{Code: CodeUsage}))
	require.ErrorContains(t, err, "option a given twice (a=1 and a=3)")
	_, err = ParseOptions([]string{"bare"})
	require.True(t, errors.Is(err, &Error{Code: CodeUsage}))
	_, err = ParseOptions([]string{"=x"})
	require.Error(t, err)
	require.NoError(t, CheckOptions(o, "a", "b"))
	require.ErrorContains(t, CheckOptions(o, "a"), `unknown option "b"`)
}

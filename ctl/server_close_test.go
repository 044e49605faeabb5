package ctl

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Stopping the server while a command runs lets it answer: the client
// learns the command was done (it got EOF, which vsctl took for "no
// daemon"). An idle connection ends at Close, and Close returns once the
// command has answered.
func TestCloseLetsBusyCommandAnswer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the server admits root only by default; run as root")
	}
	started, release := make(chan struct{}), make(chan struct{})
	r := NewRegistry()
	r.Register(Command{Name: "slow", MaxArgs: 0, Run: func(context.Context, []string) (any, error) {
		close(started)
		<-release
		return "done", nil
	}})
	s, err := Listen(ServerConfig{Path: filepath.Join(t.TempDir(), "ctl.sock"), GID: -1}, r)
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()

	idle, err := net.Dial("unix", s.Addr())
	require.NoError(t, err)
	defer idle.Close()
	busy, err := Dial(s.Addr(), time.Minute)
	require.NoError(t, err)
	defer busy.Close()
	answer := make(chan error, 1)
	var out string
	go func() { answer <- busy.Call("slow", nil, &out) }()
	<-started

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// The idle connection ends while the command is still running.
	idle.SetReadDeadline(time.Now().Add(time.Minute))
	_, err = idle.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a command was running", err)
	default:
	}
	close(release)
	require.NoError(t, <-answer)
	require.Equal(t, "done", out)
	require.NoError(t, <-closed)
	require.NoError(t, <-served)
}

// A request sent, then the connection closed without an answer (the
// daemon stopped or died meanwhile) is "no-answer: it may have carried
// out", not "no daemon".
func TestEOFAfterSendIsNoAnswer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "eof.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			c.Read(buf) // the request, then gone
			c.Close()
		}
	}()
	c, err := Dial(sock, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	err = c.Call("add-br", []string{"b1"}, nil)
	var ce *Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, CodeNoAnswer, ce.Code, ce.Message)
	require.Contains(t, ce.Message, "may have carried out add-br")
}

// Running out of descriptors (a flood of connections to the metrics
// listener did it) does not stop the control socket: accept is tried
// again and later clients are served. It used to return the error, and
// vswitchd stopped.
func TestAcceptRetriesOnShortage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the server admits root only by default; run as root")
	}
	s, err := Listen(ServerConfig{Path: filepath.Join(t.TempDir(), "ctl.sock"), GID: -1}, testRegistry())
	require.NoError(t, err)
	var fails atomic.Int32
	real := s.accept
	s.accept = func() (*net.UnixConn, error) {
		if fails.Add(1) <= 3 {
			return nil, &net.OpError{Op: "accept", Net: "unix", Err: fmt.Errorf("accept4: %w", syscall.EMFILE)}
		}
		return real()
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	c, err := Dial(s.Addr(), 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	var out []string
	require.NoError(t, c.Call("echo", []string{"x"}, &out))
	require.Equal(t, []string{"x"}, out)
	require.GreaterOrEqual(t, fails.Load(), int32(4))
	require.NoError(t, s.Close())
	require.NoError(t, <-served)
}

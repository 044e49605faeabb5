package main_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
)

// TestTakeoverNAT: masqueraded TCP connections survive a takeover. Two
// containers behind a masquerade open connections from the same source
// port to a server in an "outside" namespace, so the second is
// translated to another port. After the takeover the second container
// sends first: a successor without the old NAT flows would translate it
// anew, to the free first choice, the first connection's port (the
// server would see it on the wrong connection); with them each segment
// keeps its connection's port and both echo.
func TestTakeoverNAT(t *testing.T) {
	d := newDaemon(t)
	c1, c2, o := nettest.NewNS(t), nettest.NewNS(t), nettest.NewNS(t)
	sfx := nettest.Suffix()
	for _, c := range [][]string{
		{"add-br", "ctr"},
		{"add-port", "ctr", "n1" + sfx, "type=veth", "netns=" + c1.Path(), "ip=10.66.1.2/24", "gw=10.66.1.1"},
		{"add-port", "ctr", "n2" + sfx, "type=veth", "netns=" + c2.Path(), "ip=10.66.1.3/24", "gw=10.66.1.1"},
		{"rif/add", "rc", "bridge=ctr", "addr=10.66.1.1/24"},
		{"add-br", "up"},
		{"add-port", "up", "no" + sfx, "type=veth", "netns=" + o.Path(), "ip=10.66.2.2/24"},
		{"rif/add", "ru", "bridge=up", "addr=10.66.2.1/24"},
		{"nat/masquerade-add", "rc", "external=ru"},
	} {
		d.must(c...)
	}

	// The server: accepts two connections and echoes what they send.
	lfd, lclose := netdevtest.Socket(t, o.Path(), unix.AF_INET, unix.SOCK_STREAM, 0)
	defer lclose()
	require.NoError(t, unix.SetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1))
	require.NoError(t, unix.Bind(lfd, &unix.SockaddrInet4{Port: 5600}))
	require.NoError(t, unix.Listen(lfd, 2))
	go func() {
		for range 2 {
			fd, _, err := unix.Accept(lfd)
			if err != nil {
				return
			}
			go func() {
				defer unix.Close(fd)
				buf := make([]byte, 64)
				for {
					n, err := unix.Read(fd, buf)
					if err != nil || n <= 0 {
						return
					}
					unix.Write(fd, buf[:n])
				}
			}()
		}
	}()
	dial := func(ns *nettest.NS) int {
		fd, cl := netdevtest.Socket(t, ns.Path(), unix.AF_INET, unix.SOCK_STREAM, 0)
		t.Cleanup(cl)
		require.NoError(t, unix.Bind(fd, &unix.SockaddrInet4{Port: 40000}))
		tv := unix.Timeval{Sec: 5}
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		require.NoError(t, unix.Connect(fd, &unix.SockaddrInet4{Port: 5600, Addr: netip4("10.66.2.2")}))
		return fd
	}
	echo := func(fd int, msg string) error {
		if _, err := unix.Write(fd, []byte(msg)); err != nil {
			return err
		}
		buf := make([]byte, 64)
		n, err := unix.Read(fd, buf)
		if err != nil {
			return err
		}
		if string(buf[:max(n, 0)]) != msg {
			return fmt.Errorf("echo %q, want %q", buf[:max(n, 0)], msg)
		}
		return nil
	}
	f1 := dial(c1)
	require.NoError(t, echo(f1, "one-before"))
	f2 := dial(c2)
	require.NoError(t, echo(f2, "two-before"))

	d.takeover()
	require.NoError(t, echo(f2, "two-after"), "the second connection after the takeover")
	require.NoError(t, echo(f1, "one-after"), "the first connection after the takeover")
}

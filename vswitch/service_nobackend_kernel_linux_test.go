package vswitch_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// A service that loses its last backend, through a real kernel. Backend
// b1 (10.98.1.2, fd98:1::2) sits behind router interface ra
// (10.98.1.1/24, fd98:1::1/64) and echoes TCP port 80; client c1
// (10.98.2.2, fd98:2::2) behind rb. Services: TCP 10.98.9.9:80 and
// [fd98:9::9]:80 over b1, UDP 10.98.9.9:53 and [fd98:9::9]:53 with no
// backend.

// nbEcho echoes every TCP connection to port in namespace name (both
// families).
func (r *kernelRig) nbEcho(name string, port int) {
	var ln net.Listener
	require.NoError(r.t, netdev.Do(r.ns[name].Path(), func() error {
		var err error
		ln, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	}))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	r.t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// TestServiceKernelNoBackend: established connections to a service whose
// only backend is drained go on, and new ones are refused at once
// (ECONNREFUSED: the switch answers the SYN with a RST from the VIP);
// when the backend is then removed, its connections end at once with
// ECONNRESET (the client's next segment is answered with a RST from the
// VIP), and a connected UDP socket to a service with no backend gets
// ECONNREFUSED (a port unreachable from the VIP); IPv4 and IPv6. On the
// code before, the switch dropped these packets in silence: the
// connection attempts and the removed backend's connections hung until
// the client's own timeout.
func TestServiceKernelNoBackend(t *testing.T) {
	r := newKernelRig(t, 1)
	r.hpContainer("b1", []string{"10.98.1.2/24", "fd98:1::2/64"}, []string{"10.98.1.1", "fd98:1::1"})
	r.hpContainer("c1", []string{"10.98.2.2/24", "fd98:2::2/64"}, []string{"10.98.2.1", "fd98:2::1"})
	cfg := func(backend []vswitch.ServiceBackend, backend6 []vswitch.ServiceBackend) vswitch.Config {
		return vswitch.Config{
			Bridges: []vswitch.Bridge{
				{Name: "nba", Ports: []vswitch.Port{{Name: "b1"}}},
				{Name: "nbb", Ports: []vswitch.Port{{Name: "c1"}}},
			},
			Interfaces: []vswitch.Interface{
				{Name: "ra", Bridge: "nba", Addrs: []string{"10.98.1.1/24", "fd98:1::1/64"}},
				{Name: "rb", Bridge: "nbb", Addrs: []string{"10.98.2.1/24", "fd98:2::1/64"}},
			},
			NAT: &vswitch.NAT{Services: []vswitch.Service{
				{Name: "web", Proto: "tcp", VIP: "10.98.9.9", Port: 80, Backends: backend},
				{Name: "web6", Proto: "tcp", VIP: "fd98:9::9", Port: 80, Backends: backend6},
				{Name: "dns", Proto: "udp", VIP: "10.98.9.9", Port: 53},
				{Name: "dns6", Proto: "udp", VIP: "fd98:9::9", Port: 53},
			}},
		}
	}
	b := func(a string, drained bool) []vswitch.ServiceBackend {
		return []vswitch.ServiceBackend{{Addr: a, Drained: drained}}
	}
	require.NoError(t, r.s.Reconfigure(cfg(b("10.98.1.2", false), b("fd98:1::2", false))))
	require.NoError(t, r.s.Start())
	r.nbEcho("b1", 80)

	vips := []string{"10.98.9.9:80", "[fd98:9::9]:80"}
	var conns []net.Conn
	for _, v := range vips {
		c, err := r.dialIn("c1", "tcp", v, sgAwait)
		require.NoError(t, err, "connect to %s", v)
		require.NoError(t, echo(c, "hello", sgAwait), v)
		conns = append(conns, c)
	}
	// refused checks that a new connection to each VIP is refused, not
	// left to time out.
	refused := func(what string) {
		t.Helper()
		for _, v := range vips {
			_, err := r.dialIn("c1", "tcp", v, sgAwait)
			require.Error(t, err, "%s: a new connection to %s", what, v)
			require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "%s: a new connection to %s times out instead of being refused: %v", what, v, err)
			require.ErrorIs(t, err, syscall.ECONNREFUSED, "%s: %s", what, v)
		}
	}

	// Drained: the connections go on; new ones are refused.
	require.NoError(t, r.s.Reconfigure(cfg(b("10.98.1.2", true), b("fd98:1::2", true))))
	for i, c := range conns {
		require.NoError(t, echo(c, "drained", sgAwait), vips[i])
	}
	refused("drained")

	// Removed: its connections end with a RST, promptly.
	require.NoError(t, r.s.Reconfigure(cfg(nil, nil)))
	for i, c := range conns {
		start := time.Now()
		err := echo(c, "removed", sgAwait)
		require.Error(t, err, "%s: the connection still reaches the removed backend", vips[i])
		require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "%s: the removed backend's connection hangs instead of being reset: %v", vips[i], err)
		require.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE), "%s: %v", vips[i], err)
		require.Less(t, time.Since(start), 2*time.Second, "%s: reset after %v", vips[i], time.Since(start))
	}
	refused("removed")
	r.requireRefused("c1", "udp4", "10.98.9.9:53")
	r.requireRefused("c1", "udp6", "[fd98:9::9]:53")

	var nb uint64
	for _, sc := range r.s.ServiceStats() {
		nb += sc.NoBackend
	}
	require.GreaterOrEqual(t, nb, uint64(8), "2 SYNs drained, 2 segments and 2 SYNs removed, 2 datagrams")
	require.Zero(t, r.s.NATStats().Refused["ports-exhausted"])
}

package main_test

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// fpsgRefused bounds a TCP exchange the security group must stop; the
// test then checks the switch counted the drop, so a slow machine cannot
// pass it by timing out.
const fpsgRefused = 1500 * time.Millisecond

// echoListen echoes every TCP connection accepted on port in ns, until
// cleanup.
func echoListen(t *testing.T, ns *nettest.NS, port int) {
	var ln net.Listener
	require.NoError(t, netdev.Do(ns.Path(), func() error {
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
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// dialFrom connects from ns to addr within timeout; closed at cleanup.
func dialFrom(t *testing.T, ns *nettest.NS, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := netdev.Do(ns.Path(), func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

// echoOver sends msg on c and reads it back within d.
func echoOver(c net.Conn, msg string, d time.Duration) error {
	c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	_, err := io.ReadFull(c, buf)
	return err
}

// sgDenied is sg-policy's deny count (rules and default).
func sgDenied(t *testing.T, d *daemon) uint64 {
	var ec []ctl.ErrorCount
	require.NoError(t, d.vsctlJSON(&ec, "show", "errors"))
	var n uint64
	for _, e := range ec {
		if e.Node == "sg-policy" && (e.Reason == "sg-default-deny" || e.Reason == "sg-deny") {
			n += e.Packets
		}
	}
	return n
}

// fpState is port's fast-path state in port/stats.
func fpState(t *testing.T, d *daemon, port string) *ctl.FastPathPort {
	var st []ctl.PortStats
	require.NoError(t, d.vsctlJSON(&st, "port/stats", port))
	require.Len(t, st, 1)
	require.NotNil(t, st[0].FastPath)
	return st[0].FastPath
}

// TestFastPathSecurityGroup: a security group bound to a port whose
// traffic the XDP fast path switches applies at once, both ways — a new
// connection to a port the group does not allow fails, and so does one
// made before the bind, counted by sg-policy — and the port comes back to
// the fast path when unbound. (The XDP program has no policy: a port in a
// group must leave the fast path, as with a trace or a capture.)
func TestFastPathSecurityGroup(t *testing.T) {
	d := newDaemon(t)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	pa, pb := "sa"+nettest.Suffix(), "sb"+nettest.Suffix()
	d.must("add-br", "br0")
	d.must("add-port", "br0", pa, "type=veth", "io=afxdp", "netns="+a.Path(), "ip=10.74.0.1/24", "port_security=off")
	d.must("add-port", "br0", pb, "type=veth", "io=afxdp", "netns="+b.Path(), "ip=10.74.0.2/24", "port_security=off")
	echoListen(t, b, 80)
	echoListen(t, b, 2222)
	require.NoError(t, ping(a, "10.74.0.2"))

	// Known unicast between the two is switched in the kernel.
	var show ctl.ShowView
	require.Eventually(t, func() bool { return d.vsctlJSON(&show, "show") == nil && show.FastPath.Entries == 2 },
		10*time.Second, 50*time.Millisecond, "two fast-path entries")
	before := fastRx(d, pa)
	early, err := dialFrom(t, a, "10.74.0.2:2222", 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, echoOver(early, "before the group", 5*time.Second))
	require.Eventually(t, func() bool { return echoOver(early, "x", 5*time.Second) == nil && fastRx(d, pa) > before },
		20*time.Second, time.Millisecond, "no frame switched by the fast path")

	// The group: http in, anything out.
	d.must("sg/add", "web")
	d.must("sg/rule-add", "web", "name=http", "dir=ingress", "action=allow", "proto=tcp", "port=80")
	d.must("sg/rule-add", "web", "name=out", "dir=egress", "action=allow", "proto=any")
	d.must("sg/bind", pb, "web")
	st := fpState(t, d, pb)
	require.Equal(t, "slow-path", st.State)
	require.Contains(t, st.Reason, "security group web")
	require.Equal(t, "on", fpState(t, d, pa).State)

	denied := sgDenied(t, d)
	_, err = dialFrom(t, a, "10.74.0.2:2222", fpsgRefused)
	require.Error(t, err, "a connection to a port the group denies")
	require.Greater(t, sgDenied(t, d), denied, "the SYN was not denied by sg-policy")
	denied = sgDenied(t, d)
	require.Error(t, echoOver(early, "after the group", fpsgRefused), "a connection made before the bind")
	require.Greater(t, sgDenied(t, d), denied, "the established flow was not denied by sg-policy")
	web, err := dialFrom(t, a, "10.74.0.2:80", 5*time.Second)
	require.NoError(t, err, "http is allowed")
	require.NoError(t, echoOver(web, "http", 5*time.Second))

	// Unbound: the fast path again, and nothing denied.
	d.must("sg/bind", pb)
	require.Equal(t, "on", fpState(t, d, pb).State)
	late, err := dialFrom(t, a, "10.74.0.2:2222", 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, echoOver(late, "unbound", 5*time.Second))
}

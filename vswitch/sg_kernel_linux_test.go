package vswitch_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// Security groups through a real kernel: namespaces behind veth pairs
// (made the product's way, netdev.CreateVeth, TX checksum offload off in
// the container, so TCP segments leave with full checksums), AF_XDP ports
// on one bridge, groups on the server's port. Sockets are opened inside a
// namespace (netdev.Do) and used from the test's goroutines: a socket
// stays in the namespace it was made in.
//
// Waits: an allowed exchange gets sgAwait (long, only a bound on a hang);
// a flow the group must stop gets sgRefused, and the test then checks the
// switch's drop counters, so a slow machine cannot pass a test by timing
// out.
const (
	sgAwait   = 5 * time.Second
	sgRefused = 1500 * time.Millisecond
)

// sgContainer is vethContainer with several addresses (IPv4 and IPv6;
// IPv6 without duplicate address detection, usable at once).
func (r *kernelRig) sgContainer(name string, addrs ...string) {
	ns := nettest.NewNS(r.t)
	var pfx []netip.Prefix
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a)
		require.NoError(r.t, err)
		pfx = append(pfx, p)
	}
	v, err := netdev.CreateVeth(netdev.VethOptions{HostName: "vk" + name + nettest.Suffix(), Netns: ns.Path(), Addrs: pfx})
	require.NoError(r.t, err)
	r.t.Cleanup(func() { v.Delete() })
	p, err := afxdp.New(afxdp.Config{Name: name, Ifname: v.HostName, RingSize: 1024})
	require.NoError(r.t, err)
	require.NoError(r.t, r.s.AddPort(p))
	r.ns[name] = ns
}

// echoServer echoes every TCP connection accepted on a listener made in a
// namespace; cleanup closes the listener and the connections and waits
// for its goroutines.
type echoServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

// echoIn listens on every address of namespace name, TCP port port.
func (r *kernelRig) echoIn(name string, port int) {
	t := r.t
	var ln net.Listener
	require.NoError(t, netdev.Do(r.ns[name].Path(), func() error {
		var err error
		ln, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	}), "listen in %s", name)
	e := &echoServer{ln: ln}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.conns = append(e.conns, c)
			e.mu.Unlock()
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		e.mu.Lock()
		for _, c := range e.conns {
			c.Close()
		}
		e.mu.Unlock()
		e.wg.Wait()
	})
}

// dialIn connects from namespace name to addr ("host:port") within
// timeout. The connection is closed at cleanup.
func (r *kernelRig) dialIn(name, network, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := netdev.Do(r.ns[name].Path(), func() error {
		var err error
		c, err = net.DialTimeout(network, addr, timeout)
		return err
	})
	if err != nil {
		return nil, err
	}
	r.t.Cleanup(func() { c.Close() })
	return c, nil
}

// echo sends msg on c and reads it back within d.
func echo(c net.Conn, msg string, d time.Duration) error {
	c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return fmt.Errorf("echoed %q, sent %q", buf, msg)
	}
	return nil
}

// requireConnect dials and exchanges data both ways.
func (r *kernelRig) requireConnect(from, network, addr string) net.Conn {
	r.t.Helper()
	c, err := r.dialIn(from, network, addr, sgAwait)
	require.NoError(r.t, err, "%s: connect to %s", from, addr)
	require.NoError(r.t, echo(c, "hello "+addr, sgAwait), "%s: data to %s and back", from, addr)
	return c
}

// requireNoConnect dials and requires the connection to time out (not be
// refused: the listener is there, the group drops the SYN), and the
// switch to have counted a drop of node sg-policy for reason.
func (r *kernelRig) requireNoConnect(from, network, addr, reason string) {
	r.t.Helper()
	before := kernelDrops(r.s, "sg-policy", reason)
	_, err := r.dialIn(from, network, addr, sgRefused)
	require.Error(r.t, err, "%s: connected to %s through the group", from, addr)
	var ne net.Error
	require.True(r.t, errors.As(err, &ne) && ne.Timeout(), "%s: connect to %s failed other than by timing out: %v", from, addr, err)
	require.Greater(r.t, kernelDrops(r.s, "sg-policy", reason), before, "%s: SYN to %s not counted as %s", from, addr, reason)
}

// requireStopped: data sent on an established connection that the group
// no longer allows does not come back, and sg-policy drops it by policy
// (its flow was deleted; the next segment is picked up as a flow in its
// own direction, conntrack's TCPLoose, and classified: denied).
func (r *kernelRig) requireStopped(c net.Conn, what string) {
	r.t.Helper()
	denied := func() uint64 {
		return kernelDrops(r.s, "sg-policy", "sg-default-deny") + kernelDrops(r.s, "sg-policy", "sg-deny")
	}
	before := denied()
	err := echo(c, "after "+what, sgRefused)
	require.Error(r.t, err, "%s: data still passes", what)
	require.ErrorIs(r.t, err, os.ErrDeadlineExceeded, "%s", what)
	require.Greater(r.t, denied(), before, "%s: segments not dropped by policy", what)
}

// requireRefused sends datagrams from a connected UDP socket in
// namespace from to addr, where nothing listens, until the socket reports
// the port unreachable that the destination's kernel answers (it
// rate-limits them: a few tries get one).
func (r *kernelRig) requireRefused(from, network, addr string) {
	r.t.Helper()
	u, err := r.dialIn(from, network, addr, sgAwait)
	require.NoError(r.t, err)
	for range 5 {
		u.SetDeadline(time.Now().Add(sgRefused))
		if _, err = u.Write([]byte("anyone?")); err == nil {
			_, err = u.Read(make([]byte, 64))
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return
		}
	}
	require.ErrorIs(r.t, err, syscall.ECONNREFUSED, "%s: port unreachable from %s did not come back", from, addr)
}

// sgRule returns the packets counted for a rule of a group (Default: the
// group's default deny in direction dir).
func sgRule(t *testing.T, s *vswitch.Switch, group, rule, dir string) uint64 {
	t.Helper()
	for _, c := range s.SGStats().Rules {
		if c.Group == group && c.Rule == rule && (dir == "" || c.Direction == dir) {
			return c.Packets
		}
	}
	t.Fatalf("no counter for %s/%s (%s) in %+v", group, rule, dir, s.SGStats().Rules)
	return 0
}

// sgRig is a started kernel rig with containers a, b and c on bridge br0
// at prefix.1, .2, .3 (/24) and v6 (if not empty) ::1, ::2, ::3 (/64).
func sgRig(t *testing.T, prefix, v6 string) (*kernelRig, func(groups ...vswitch.SecurityGroup)) {
	r := newKernelRig(t, 1)
	for i, n := range []string{"a", "b", "c"} {
		addrs := []string{fmt.Sprintf("%s.%d/24", prefix, i+1)}
		if v6 != "" {
			addrs = append(addrs, fmt.Sprintf("%s::%d/64", v6, i+1))
		}
		r.sgContainer(n, addrs...)
	}
	apply := func(groups ...vswitch.SecurityGroup) {
		t.Helper()
		require.NoError(t, r.s.Reconfigure(vswitch.Config{
			Bridges:        []vswitch.Bridge{{Name: "br0", Ports: []vswitch.Port{{Name: "a"}, {Name: "b"}, {Name: "c"}}}},
			SecurityGroups: groups,
		}))
	}
	apply()
	require.NoError(t, r.s.Start())
	// Without groups everything passes (and the MACs are learned).
	require.NoError(t, r.ping("a", prefix+".2"))
	require.NoError(t, r.ping("c", prefix+".2"))
	return r, apply
}

// TestSGKernelTCP: group srv on b takes TCP 7000-7100 from a only, never
// 7050 (a deny of higher priority). a connects to 7001 and data goes both
// ways; a's SYN to 7050 is dropped as sg-deny and charged to the deny
// rule; a's SYN to 7200 and c's to 7001 (outside the CIDR) are dropped as
// sg-default-deny, charged to srv's ingress default deny.
func TestSGKernelTCP(t *testing.T) {
	r, apply := sgRig(t, "10.97.1", "")
	for _, p := range []int{7001, 7050, 7200} {
		r.echoIn("b", p)
	}
	// Without groups all three ports answer.
	for _, p := range []int{7001, 7050, 7200} {
		r.requireConnect("a", "tcp4", fmt.Sprintf("10.97.1.2:%d", p))
	}
	apply(vswitch.SecurityGroup{Name: "srv", Ports: []string{"b"}, Rules: []vswitch.SGRule{
		{Name: "tcp-from-a", Direction: "ingress", Proto: "tcp", Ports: "7000-7100", Remote: "10.97.1.1/32", Action: "allow"},
		{Name: "no-7050", Direction: "ingress", Proto: "tcp", Ports: "7050", Priority: 10, Action: "deny"},
	}})
	c := r.requireConnect("a", "tcp4", "10.97.1.2:7001")
	require.NoError(t, echo(c, "second exchange", sgAwait), "replies of the allowed flow pass")
	require.Positive(t, sgRule(t, r.s, "srv", "tcp-from-a", ""))

	r.requireNoConnect("a", "tcp4", "10.97.1.2:7050", "sg-deny")
	require.Positive(t, sgRule(t, r.s, "srv", "no-7050", ""), "the deny rule is charged")

	def := sgRule(t, r.s, "srv", "default-deny", "ingress")
	r.requireNoConnect("a", "tcp4", "10.97.1.2:7200", "sg-default-deny")
	r.requireNoConnect("c", "tcp4", "10.97.1.2:7001", "sg-default-deny")
	require.Greater(t, sgRule(t, r.s, "srv", "default-deny", "ingress"), def, "srv's ingress default deny is charged")
	require.NoError(t, echo(c, "still there", sgAwait), "the allowed connection is unaffected")
	t.Logf("rules: %+v", r.s.SGStats().Rules)
}

// TestSGKernelEstablished: with srv on b taking TCP 7001 from a and
// letting b send anything, a->b:7001 and b->a:7002 connect. Then b's
// egress rule goes: b->a's new connections are dropped (b's egress
// default deny), the established b->a connection is stopped
// (revalidation), a->b's established connection keeps exchanging data
// and a can still open new ones. Then the ingress rule goes too: a->b's
// established connection stops.
func TestSGKernelEstablished(t *testing.T) {
	r, apply := sgRig(t, "10.97.2", "")
	r.echoIn("b", 7001)
	r.echoIn("a", 7002)
	in := vswitch.SGRule{Name: "tcp-from-a", Direction: "ingress", Proto: "tcp", Ports: "7001", Remote: "10.97.2.1/32", Action: "allow"}
	out := vswitch.SGRule{Name: "out", Direction: "egress", Action: "allow"}
	group := func(rules ...vswitch.SGRule) vswitch.SecurityGroup {
		return vswitch.SecurityGroup{Name: "srv", Ports: []string{"b"}, Rules: rules}
	}
	apply(group(in, out))
	ab := r.requireConnect("a", "tcp4", "10.97.2.2:7001")
	ba := r.requireConnect("b", "tcp4", "10.97.2.1:7002")

	apply(group(in))
	r.requireNoConnect("b", "tcp4", "10.97.2.1:7002", "sg-default-deny")
	r.requireStopped(ba, "b->a once b's egress rule is removed")
	require.NoError(t, echo(ab, "established a->b", sgAwait), "a->b established, its replies leave b without an egress rule")
	r.requireConnect("a", "tcp4", "10.97.2.2:7001")

	apply(group())
	r.requireStopped(ab, "a->b once the ingress rule is removed")
	r.requireNoConnect("a", "tcp4", "10.97.2.2:7001", "sg-default-deny")
}

// TestSGKernelICMP: srv on b takes UDP 7300 and ICMP from a, and lets b
// send nothing. a's datagram to 7300, where nothing listens, makes b's
// kernel answer port unreachable, which passes back as related to the
// flow: a's connected socket gets ECONNREFUSED. To 7301 (no rule) the
// datagram is dropped and nothing comes back. a's ping passes, c's is
// dropped.
func TestSGKernelICMP(t *testing.T) {
	r, apply := sgRig(t, "10.97.3", "")
	apply(vswitch.SecurityGroup{Name: "srv", Ports: []string{"b"}, Rules: []vswitch.SGRule{
		{Name: "udp-from-a", Direction: "ingress", Proto: "udp", Ports: "7300", Remote: "10.97.3.1/32", Action: "allow"},
		{Name: "ping-from-a", Direction: "ingress", Proto: "icmp", Remote: "10.97.3.1/32", Action: "allow"},
	}})

	t.Run("udp port unreachable", func(t *testing.T) {
		r.requireRefused("a", "udp4", "10.97.3.2:7300")
		require.Positive(t, sgRule(t, r.s, "srv", "udp-from-a", ""))
	})

	t.Run("udp denied port", func(t *testing.T) {
		before := kernelDrops(r.s, "sg-policy", "sg-default-deny")
		u, err := r.dialIn("a", "udp4", "10.97.3.2:7301", sgAwait)
		require.NoError(t, err)
		for range 2 {
			u.SetDeadline(time.Now().Add(sgRefused))
			_, err := u.Write([]byte("anyone?"))
			if err == nil {
				_, err = u.Read(make([]byte, 64))
			}
			require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the datagram to 7301 reached b")
		}
		require.Greater(t, kernelDrops(r.s, "sg-policy", "sg-default-deny"), before)
	})

	// Datagrams bigger than the MTU, in fragments: the later ones carry no
	// ports (no rule naming ports matched them, and b's replies met its
	// egress default deny) until conntrack gave them their first
	// fragment's flow.
	t.Run("fragments", func(t *testing.T) {
		r.udpEchoIn("b", 7300)
		r.bigUDP("a", "10.97.3.2:7300", 4000)
		out, err := r.ns["a"].Command("ping", "-c", "2", "-i", "0.2", "-W", "2", "-s", "3000", "10.97.3.2").CombinedOutput()
		require.NoError(t, err, "a 3,000-byte ping: %s", out)
	})

	t.Run("ping", func(t *testing.T) {
		require.NoError(t, r.ping("a", "10.97.3.2"))
		require.Positive(t, sgRule(t, r.s, "srv", "ping-from-a", ""))
		before := kernelDrops(r.s, "sg-policy", "sg-default-deny")
		require.Error(t, r.ping("c", "10.97.3.2"), "c's ping passed")
		require.Greater(t, kernelDrops(r.s, "sg-policy", "sg-default-deny"), before)
	})
}

// TestSGKernelIPv6: the TCP, UDP and echo cases over IPv6 (neighbour
// discovery passes untracked): srv on b takes TCP 7001, UDP 7300 and
// ICMPv6 from a's IPv6 address only. a connects to 7001, not to 7200; c
// does not connect; a's IPv4 is not in the rule. b's port unreachable
// reaches a; a's ping passes, c's is dropped (echo is tracked, not
// neighbour discovery).
func TestSGKernelIPv6(t *testing.T) {
	r, apply := sgRig(t, "10.97.4", "fd97:4")
	r.echoIn("b", 7001)
	r.echoIn("b", 7200)
	apply(vswitch.SecurityGroup{Name: "srv", Ports: []string{"b"}, Rules: []vswitch.SGRule{
		{Name: "tcp6-from-a", Direction: "ingress", Proto: "tcp", Ports: "7001", Remote: "fd97:4::1/128", Action: "allow"},
		{Name: "udp6-from-a", Direction: "ingress", Proto: "udp", Ports: "7300", Remote: "fd97:4::1/128", Action: "allow"},
		{Name: "ping6-from-a", Direction: "ingress", Proto: "icmpv6", Remote: "fd97:4::1/128", Action: "allow"},
	}})
	c := r.requireConnect("a", "tcp6", "[fd97:4::2]:7001")
	require.Positive(t, sgRule(t, r.s, "srv", "tcp6-from-a", ""))
	r.requireNoConnect("a", "tcp6", "[fd97:4::2]:7200", "sg-default-deny")
	r.requireNoConnect("c", "tcp6", "[fd97:4::2]:7001", "sg-default-deny")
	r.requireNoConnect("a", "tcp4", "10.97.4.2:7001", "sg-default-deny")
	require.NoError(t, echo(c, "still there", sgAwait))

	r.requireRefused("a", "udp6", "[fd97:4::2]:7300")
	require.Positive(t, sgRule(t, r.s, "srv", "udp6-from-a", ""))

	require.NoError(t, r.ping("a", "fd97:4::2"))
	require.Positive(t, sgRule(t, r.s, "srv", "ping6-from-a", ""))
	before := kernelDrops(r.s, "sg-policy", "sg-default-deny")
	require.Error(t, r.ping("c", "fd97:4::2"), "c's ping passed")
	require.Greater(t, kernelDrops(r.s, "sg-policy", "sg-default-deny"), before)
}

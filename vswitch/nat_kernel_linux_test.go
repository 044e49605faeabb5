package vswitch_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// NAT through a real kernel. Containers c1 (10.96.1.2) and c2 (10.96.1.3)
// sit on bridge bra behind router interface ra (10.96.1.1/24, their
// gateway); namespace out (192.168.96.2) plays the outside world on
// bridge brb behind the uplink interface rb (192.168.96.1/24). out has
// no route to 10.96.1.0/24: whatever it answers reaches a container only
// if the switch translated it. ra's network is masqueraded behind rb;
// TCP 8080 and 5201 on the uplink map to c1's 80 and 5201.
const (
	natC1, natC2, natOut, natUplink = "10.96.1.2", "10.96.1.3", "192.168.96.2", "192.168.96.1"
)

func natKernelRig(t *testing.T) *kernelRig { return natKernelRigWith(t, nil) }

// natKernelRigWith is natKernelRig with its configuration changed by
// tweak (nil: as it is) before it is applied.
func natKernelRigWith(t *testing.T, tweak func(*vswitch.Config)) *kernelRig {
	r := newKernelRig(t, 1)
	r.natContainer("c1", natC1+"/24", "10.96.1.1")
	r.natContainer("c2", natC2+"/24", "10.96.1.1")
	r.natContainer("out", natOut+"/24", "")
	cfg := vswitch.Config{
		Bridges: []vswitch.Bridge{
			{Name: "bra", Ports: []vswitch.Port{{Name: "c1"}, {Name: "c2"}}},
			{Name: "brb", Ports: []vswitch.Port{{Name: "out"}}},
		},
		Interfaces: []vswitch.Interface{
			{Name: "ra", Bridge: "bra", Addrs: []string{"10.96.1.1/24"}},
			{Name: "rb", Bridge: "brb", Addrs: []string{natUplink + "/24"}},
		},
		NAT: &vswitch.NAT{
			Masquerade: []vswitch.Masquerade{{Interface: "ra", External: "rb"}},
			PortMaps: []vswitch.PortMap{
				{Proto: "tcp", HostPort: 8080, Target: natC1, TargetPort: 80},
				{Proto: "tcp", HostPort: 5201, Target: natC1},
			},
		},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	require.NoError(t, r.s.Reconfigure(cfg))
	require.NoError(t, r.s.Start())
	return r
}

// natContainer makes a namespace behind a veth (TX checksum offload off
// in the container, the product's way) with one address and, if gw is
// not empty, a default route through it; the host end becomes AF_XDP
// port name (hpContainer).
func (r *kernelRig) natContainer(name, addr, gw string) {
	var gws []string
	if gw != "" {
		gws = []string{gw}
	}
	r.hpContainer(name, []string{addr}, gws)
}

// whoamiIn serves TCP port port in namespace name: each connection gets
// one line back, the address the server sees it from.
func (r *kernelRig) whoamiIn(name string, port int) {
	r.serveLines(name, "tcp4", port, func(c net.Conn) string { return c.RemoteAddr().String() })
}

// serveLines serves network (tcp, tcp4) port port in namespace name:
// each connection gets the line line(conn) and is closed.
func (r *kernelRig) serveLines(name, network string, port int, line func(net.Conn) string) {
	var ln net.Listener
	require.NoError(r.t, netdev.Do(r.ns[name].Path(), func() error {
		var err error
		ln, err = net.Listen(network, fmt.Sprintf(":%d", port))
		return err
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, line(c))
			c.Close()
		}
	}()
	r.t.Cleanup(func() { ln.Close(); <-done })
}

// whoami connects from namespace from to addr and returns the address
// the server saw.
func (r *kernelRig) whoami(from, addr string) string {
	r.t.Helper()
	c, err := r.dialIn(from, "tcp4", addr, sgAwait)
	require.NoError(r.t, err, "%s: connect to %s", from, addr)
	c.SetDeadline(time.Now().Add(sgAwait))
	line, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(r.t, err, "%s: read from %s", from, addr)
	return strings.TrimSpace(line)
}

func hostOf(t *testing.T, addrPort string) string {
	t.Helper()
	h, _, err := net.SplitHostPort(addrPort)
	require.NoError(t, err)
	return h
}

// TestNATKernelMasquerade: c1's TCP and ping reach out, which sees the
// uplink address; two containers using the same source port get
// different translated ones; a UDP datagram to a closed port of out
// brings the port unreachable back to c1 (the ICMP error and the packet
// it quotes translated back); iperf3 from c1 to out runs through the
// masquerade.
func TestNATKernelMasquerade(t *testing.T) {
	r := natKernelRig(t)
	r.whoamiIn("out", 9000)
	require.Equal(t, natUplink, hostOf(t, r.whoami("c1", natOut+":9000")), "the outside saw the container's own address")
	require.NoError(t, r.ping("c1", natOut), "ping through the masquerade")
	require.NoError(t, r.ping("c2", natOut))

	// The same source port from both containers: two flows, two ports.
	seen := map[string]bool{}
	for _, c := range []string{"c1", "c2"} {
		var got string
		require.NoError(t, netdev.Do(r.ns[c].Path(), func() error {
			d := net.Dialer{Timeout: sgAwait, LocalAddr: &net.TCPAddr{Port: 40001}}
			conn, err := d.Dial("tcp4", natOut+":9000")
			if err != nil {
				return err
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(sgAwait))
			got, err = bufio.NewReader(conn).ReadString('\n')
			return err
		}), c)
		got = strings.TrimSpace(got)
		require.Equal(t, natUplink, hostOf(t, got))
		require.False(t, seen[got], "two containers' flows share the translated %s", got)
		seen[got] = true
	}

	r.requireRefused("c1", "udp4", natOut+":9999")
	r.transfer("c1", "out", natOut, false)
	st := r.s.NATStats()
	require.Positive(t, st.SNAT)
	require.Positive(t, st.Translated)
	require.Empty(t, st.Refused)
}

// TestNATKernelPortMap: out reaches c1's port 80 at the uplink's mapped
// port 8080 and c1 sees out's own address; c2 reaches it at the same
// uplink address and port (hairpin) and c1 sees the gateway; iperf3
// from out to c1 through a mapped port.
func TestNATKernelPortMap(t *testing.T) {
	r := natKernelRig(t)
	r.whoamiIn("c1", 80)
	require.Equal(t, natOut, hostOf(t, r.whoami("out", natUplink+":8080")), "the client's address is kept")
	require.Equal(t, "10.96.1.1", hostOf(t, r.whoami("c2", natUplink+":8080")), "hairpin: the target sees the gateway")
	// An unmapped port of the uplink is not a way in.
	_, err := r.dialIn("out", "tcp4", natUplink+":80", sgRefused)
	require.Error(t, err)

	srv := r.ns["c1"].Command("iperf3", "-s", "-1", "-p", "5201")
	require.NoError(t, srv.Start())
	defer srv.Process.Kill()
	var out []byte
	for range 20 { // until the server listens (iperf3 -J exits 0 then too)
		out, err = r.ns["out"].Command("iperf3", "-c", natUplink, "-p", "5201", "-t", "1", "-J").CombinedOutput()
		if !strings.Contains(string(out), "Connection refused") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err, "iperf3 through the port map: %s", out)
	var res struct {
		End struct {
			SumReceived struct {
				Bytes float64 `json:"bytes"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	require.NoError(t, json.Unmarshal(out, &res), "%s", out)
	require.Positive(t, res.End.SumReceived.Bytes, "%s", out)
	srv.Wait()
	st := r.s.NATStats()
	require.GreaterOrEqual(t, st.DNAT, uint64(3))
	require.EqualValues(t, 1, st.Hairpin)
	require.Empty(t, st.Refused)
}

// TestNATKernelSwitchErrors: the router cuts datagrams too big for an
// MTU into fragments, and the ICMP errors the switch's router builds
// about translated packets reach the sender quoting what it sent, as
// Linux's NAT translates the errors its router sends
// (nf_nat_icmp_reply_translation). The router translates before it
// routes, so the packet an error is about is already translated: without
// this, an error about a masqueraded packet went to the external address
// (the switch's own) instead of the container, and one about a mapped
// port's packet quoted the container's address, which the client's
// kernel does not match to its socket. ra's MTU is 1400, rb's 1300 (the
// namespaces' own are 1500).
//
//   - TTL: c1's ping with TTL 1 to out gets "time exceeded" from its
//     gateway (traceroute's first hop through the masquerade);
//   - c1's ping too big for rb, DF set, gets "fragmentation needed" with
//     rb's MTU (path MTU discovery of a masqueraded flow);
//   - out uploads 1 MiB through the port map to c1, whose network's MTU
//     is smaller than out's: only the "fragmentation needed" the switch
//     sends about out's full-size segments, quoting them as out sent
//     them (to the uplink's mapped port), lets out's TCP lower its
//     segment size; without it the upload stalls (a path MTU black hole).
func TestNATKernelSwitchErrors(t *testing.T) {
	r := natKernelRigWith(t, func(c *vswitch.Config) {
		c.Interfaces[0].MTU, c.Interfaces[1].MTU = 1400, 1300
	})
	// Prime the neighbour tables: a first ping through each way.
	require.NoError(t, r.ping("c1", natOut))

	// First, before any error teaches a path MTU: a 4,000-byte UDP echo.
	// c1's kernel sends it in 1,500-byte fragments without DF, too big
	// for rb (1300); the router cuts them again (node_ip4frag.go), and
	// out's 1,500-byte answer pieces again for ra (1400), through the
	// masquerade both ways (the NAT's tracker matches every piece).
	r.udpEchoIn("out", 9001)
	r.bigUDP("c1", natOut+":9001", 4000)
	require.Zero(t, kernelDrops(r.s, "ip4-forward", "mtu-exceeded"))

	out, _ := r.ns["c1"].Command("ping", "-c", "1", "-t", "1", "-W", "3", natOut).CombinedOutput()
	require.Contains(t, string(out), "From 10.96.1.1 icmp_seq=1 Time to live exceeded", "%s", out)

	out, _ = r.ns["c1"].Command("ping", "-c", "1", "-M", "do", "-s", "1350", "-W", "3", natOut).CombinedOutput()
	require.Contains(t, string(out), "Frag needed and DF set (mtu = 1300)", "%s", out)

	// A sink on c1's port 80 answers with the number of bytes it read.
	var ln net.Listener
	require.NoError(t, netdev.Do(r.ns["c1"].Path(), func() error {
		var err error
		ln, err = net.Listen("tcp4", ":80")
		return err
	}))
	accepted := make(chan net.Conn, 1)
	go func() {
		defer close(accepted)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		accepted <- c
		n, _ := io.Copy(io.Discard, c)
		fmt.Fprintln(c, n)
	}()
	t.Cleanup(func() {
		ln.Close()
		if c, ok := <-accepted; ok { // a stalled upload must not hold the test
			c.Close()
		}
	})
	c, err := r.dialIn("out", "tcp4", natUplink+":8080", sgAwait)
	require.NoError(t, err)
	const size = 1 << 20
	c.SetDeadline(time.Now().Add(20 * time.Second))
	_, err = c.Write(make([]byte, size))
	require.NoError(t, err, "upload through the port map into the smaller MTU")
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	line, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err, "the sink's count")
	require.Equal(t, fmt.Sprint(size), strings.TrimSpace(line))
	require.Positive(t, kernelDrops(r.s, "ip4-icmp-error", "too-big"), "no error about a too-big packet was sent")
}

// udpEchoIn echoes every UDP datagram that reaches port in namespace name.
func (r *kernelRig) udpEchoIn(name string, port int) {
	var pc net.PacketConn
	require.NoError(r.t, netdev.Do(r.ns[name].Path(), func() error {
		var err error
		pc, err = net.ListenPacket("udp4", fmt.Sprintf(":%d", port))
		return err
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	r.t.Cleanup(func() { pc.Close(); <-done })
}

// bigUDP sends a datagram of size bytes (more than one frame: the sender's
// kernel fragments it) from namespace from to addr and requires it back
// whole from an echo server (udpEchoIn), within three tries.
func (r *kernelRig) bigUDP(from, addr string, size int) {
	r.t.Helper()
	u, err := r.dialIn(from, "udp4", addr, sgAwait)
	require.NoError(r.t, err)
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	got := make([]byte, size+1)
	for try := 0; ; try++ {
		u.SetDeadline(time.Now().Add(2 * time.Second))
		_, err = u.Write(msg)
		var n int
		if err == nil {
			n, err = u.Read(got)
		}
		if err == nil {
			require.Equal(r.t, msg, got[:n], "the echo of %d bytes from %s", size, addr)
			return
		}
		require.Less(r.t, try, 2, "a %d-byte datagram from %s to %s and back: %v", size, from, addr, err)
	}
}

// TestNATKernelFragments: datagrams bigger than the MTU, which the
// sender's kernel sends in fragments, through the masquerade both ways:
// a 4,000-byte UDP echo and a 3,000-byte ping. The fragments after the
// first carry no ports; the NAT dropped them (nat-fragment) until its
// tracker gave them their first fragment's flow (conntrack's fragment
// table), and now translates their addresses.
func TestNATKernelFragments(t *testing.T) {
	r := natKernelRig(t)
	r.udpEchoIn("out", 9001)
	require.NoError(t, r.ping("c1", natOut))
	r.bigUDP("c1", natOut+":9001", 4000)
	out, err := r.ns["c1"].Command("ping", "-c", "2", "-i", "0.2", "-W", "2", "-s", "3000", natOut).CombinedOutput()
	require.NoError(t, err, "a 3,000-byte ping through the masquerade: %s", out)
	require.Zero(t, kernelDrops(r.s, "nat", "nat-fragment"))
}

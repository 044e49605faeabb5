//go:build linux

// Package nettest builds throwaway network namespaces and veth pairs for
// tests that need a real kernel. Everything it makes has a unique name and
// is removed by t.Cleanup, even when the test fails. Traffic in such tests
// only ever flows between namespaces and links the test made.
package nettest

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/vecswitch/vecswitch/internal/nettest/netnsdir"
)

// NeedRoot skips the test unless it runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, veth pairs and AF_XDP sockets")
	}
}

// Suffix is a short random hex string for unique names.
func Suffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// NS is a named network namespace made for one test.
type NS struct {
	Name   string
	Handle netns.NsHandle
}

// Path is the namespace's bind mount, usable as a netns path.
func (n *NS) Path() string { return "/var/run/netns/" + n.Name }

// NewNS creates a namespace with lo up. It is deleted at cleanup, which
// also runs when the test fails or one of its subtests panics; a failed
// delete fails the test, so nothing is left behind unnoticed.
func NewNS(t testing.TB) *NS {
	t.Helper()
	require.NoError(t, netnsdir.Prepare())
	name := "vst-" + Suffix()
	h, err := newNamed(name)
	require.NoError(t, err)
	t.Cleanup(func() {
		h.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("nettest: delete netns %s: %v", name, err)
		}
	})
	n := &NS{Name: name, Handle: h}
	nh := n.Netlink(t)
	if lo, err := nh.LinkByName("lo"); err == nil {
		nh.LinkSetUp(lo)
	}
	return n
}

// newNamed makes the namespace (see netnsdir.NewNamed).
func newNamed(name string) (netns.NsHandle, error) { return netnsdir.NewNamed(name) }

// Netlink returns a netlink handle in the namespace, closed at cleanup.
func (n *NS) Netlink(t testing.TB) *netlink.Handle {
	t.Helper()
	nh, err := netlink.NewHandleAt(n.Handle)
	require.NoError(t, err)
	t.Cleanup(nh.Close)
	return nh
}

// Command returns a command that runs inside the namespace.
func (n *NS) Command(args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name}, args...)...)
}

// Veth makes a veth pair whose end `host` stays in the test's namespace
// (up, no address) and whose peer moves into ns as eth0, up, with address
// addr (CIDR) and TX checksum offload as the kernel sets it. It returns the
// peer's MAC.
func Veth(t testing.TB, host string, ns *NS, addr string, queues int) net.HardwareAddr {
	t.Helper()
	peer := host + "p"
	la := netlink.NewLinkAttrs()
	la.Name = host
	la.NumTxQueues, la.NumRxQueues = queues, queues
	v := &netlink.Veth{LinkAttrs: la, PeerName: peer, PeerNumTxQueues: uint32(queues), PeerNumRxQueues: uint32(queues)}
	require.NoError(t, netlink.LinkAdd(v))
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(host); err == nil {
			netlink.LinkDel(l)
		}
	})
	pl, err := netlink.LinkByName(peer)
	require.NoError(t, err)
	require.NoError(t, netlink.LinkSetNsFd(pl, int(ns.Handle)))
	nh := ns.Netlink(t)
	pl, err = nh.LinkByName(peer)
	require.NoError(t, err)
	require.NoError(t, nh.LinkSetName(pl, "eth0"))
	a, err := netlink.ParseAddr(addr)
	require.NoError(t, err)
	require.NoError(t, nh.AddrAdd(pl, a))
	require.NoError(t, nh.LinkSetUp(pl))
	hl, err := netlink.LinkByName(host)
	require.NoError(t, err)
	require.NoError(t, netlink.LinkSetUp(hl))
	pl, err = nh.LinkByName("eth0")
	require.NoError(t, err)
	return pl.Attrs().HardwareAddr
}

package afxdp

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// needRoot skips tests that need to create namespaces and links.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, veth pairs and AF_XDP sockets")
	}
}

func suffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// testNS is a named network namespace made for one test.
type testNS struct {
	name string
	h    netns.NsHandle
}

func newNS(t *testing.T) *testNS {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	require.NoError(t, err)
	defer orig.Close()
	name := "vst-" + suffix()
	h, err := netns.NewNamed(name) // switches this thread into it
	require.NoError(t, netns.Set(orig))
	require.NoError(t, err)
	t.Cleanup(func() {
		h.Close()
		netns.DeleteNamed(name)
	})
	return &testNS{name: name, h: h}
}

// exec runs a command inside the namespace.
func (n *testNS) exec(args ...string) ([]byte, error) {
	return exec.Command("ip", append([]string{"netns", "exec", n.name}, args...)...).CombinedOutput()
}

// vethInto makes a veth pair with host end `host` left in this namespace,
// and its peer moved into ns as eth0 with address addr, up. It returns the
// peer's MAC.
func vethInto(t *testing.T, host string, ns *testNS, addr string, queues int) net.HardwareAddr {
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
	require.NoError(t, netlink.LinkSetNsFd(pl, int(ns.h)))
	nh, err := netlink.NewHandleAt(ns.h)
	require.NoError(t, err)
	defer nh.Close()
	pl, err = nh.LinkByName(peer)
	require.NoError(t, err)
	require.NoError(t, nh.LinkSetName(pl, "eth0"))
	a, err := netlink.ParseAddr(addr)
	require.NoError(t, err)
	require.NoError(t, nh.AddrAdd(pl, a))
	require.NoError(t, nh.LinkSetUp(pl))
	if lo, err := nh.LinkByName("lo"); err == nil {
		nh.LinkSetUp(lo)
	}
	hl, err := netlink.LinkByName(host)
	require.NoError(t, err)
	require.NoError(t, netlink.LinkSetUp(hl))
	pl, err = nh.LinkByName("eth0")
	require.NoError(t, err)
	return pl.Attrs().HardwareAddr
}

package daemon

import (
	"crypto/rand"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/internal/nettest"
)

// needBIRD skips unless BIRD 2 is installed.
func needBIRD(tb testing.TB) {
	tb.Helper()
	for _, bin := range []string{"bird", "birdc"} {
		if _, err := exec.LookPath(bin); err != nil {
			tb.Skipf("needs BIRD 2 (%s not found; Debian package bird2)", bin)
		}
	}
}

// peerNS makes a namespace for a BGP peer joined to the host by a veth
// whose host end (prefix and a unique suffix) carries 10.second.N.1/24 and
// whose namespace end 10.second.N.2/24, N picked at random (so that tests
// running at once do not meet). It returns the two addresses.
func peerNS(tb testing.TB, second byte, prefix string) (ns *nettest.NS, host, peer netip.Addr) {
	tb.Helper()
	var rb [1]byte
	rand.Read(rb[:])
	n := rb[0]%250 + 2
	host, peer = netip.AddrFrom4([4]byte{10, second, n, 1}), netip.AddrFrom4([4]byte{10, second, n, 2})
	ns = nettest.NewNS(tb)
	hname := prefix + nettest.Suffix()
	nettest.Veth(tb, hname, ns, peer.String()+"/24", 1)
	hl, err := netlink.LinkByName(hname)
	require.NoError(tb, err)
	ha, err := netlink.ParseAddr(host.String() + "/24")
	require.NoError(tb, err)
	require.NoError(tb, netlink.AddrAdd(hl, ha))
	return ns, host, peer
}

// startBIRD runs BIRD 2 in ns with configuration conf (its output in the
// test's directory), waits for its control socket and returns a birdc
// that fails the test on error. BIRD is killed at cleanup.
func startBIRD(tb testing.TB, ns *nettest.NS, conf string) (birdc func(args ...string) string) {
	tb.Helper()
	dir := tb.TempDir()
	sock, cf := filepath.Join(dir, "bird.ctl"), filepath.Join(dir, "bird.conf")
	require.NoError(tb, os.WriteFile(cf, []byte(conf), 0o600))
	cmd := ns.Command("bird", "-f", "-c", cf, "-s", sock)
	out, err := os.Create(filepath.Join(dir, "bird.out"))
	require.NoError(tb, err)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		out.Close()
	})
	require.Eventually(tb, func() bool { return ns.Command("birdc", "-s", sock, "show", "status").Run() == nil },
		10*time.Second, 50*time.Millisecond, "bird's control socket never came up")
	return func(args ...string) string {
		o, err := ns.Command(append([]string{"birdc", "-s", sock}, args...)...).CombinedOutput()
		require.NoError(tb, err, "%s", o)
		return string(o)
	}
}

package main_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/dpdktest"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

// TestTakeoverVhostUser: a VM-side vhost-user peer (DPDK's testpmd with a
// virtio_user port: a real virtio-net driver, answering ARP and pings in
// icmpecho mode) and a container on a veth port exchange `ping -i 0.001`
// while vswitchd is taken over ten times: no ping is lost, and testpmd
// never sees its link go down (the connection, the guest memory, the
// eventfds and the rings' positions moved; nothing reconnected).
func TestTakeoverVhostUser(t *testing.T) {
	dpdktest.Need(t)
	d := newDaemon(t)
	a := nettest.NewNS(t)
	sfx := nettest.Suffix()
	sock := filepath.Join(t.TempDir(), "vm.sock")
	d.must("add-br", "br0")
	d.must("add-port", "br0", "va"+sfx, "type=veth", "netns="+a.Path(), "ip=10.67.0.1/24")
	d.must("add-port", "br0", "vm"+sfx, "type=vhostuser", "socket="+sock)
	pmd := dpdktest.Start(t, sock, "--lcores=0@0,1@0", "")
	pmd.Run("set fwd icmpecho")
	pmd.Run("start")
	require.NoError(t, ping(a, "10.67.0.9"), "testpmd answers through the switch")
	require.True(t, pmd.LinkUp())

	pinger := a.Command("ping", "-i", "0.001", "10.67.0.9")
	var pingOut bytes.Buffer
	pinger.Stdout, pinger.Stderr = &pingOut, &pingOut
	require.NoError(t, pinger.Start())
	defer func() { pinger.Process.Kill(); pinger.Wait() }()
	time.Sleep(500 * time.Millisecond)
	for i := range 10 {
		took := d.takeover()
		t.Logf("takeover %d: %v", i+1, took.Round(time.Millisecond))
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	last, lost := stopPing(t, pinger, &pingOut)
	gaps := d.takeoverGaps("gap")
	t.Logf("ping: echoes 1-%d answered but %v, %s; gaps: %s", last, lost, strings.TrimSpace(lastLine(pingOut.String(), "rtt")), strings.Join(gaps, " "))
	require.Len(t, gaps, 10, "every takeover stopped the old workers first")
	require.LessOrEqual(t, len(lost), 1, "echoes lost across 10 takeovers (icmp_seq): %v", lost) // as in hitless
	require.Greater(t, last, 1000)
	require.True(t, pmd.LinkUp(), "testpmd's link is up after the takeovers")
	require.NotContains(t, pmd.Output(), "is down", "testpmd saw its link go down")
	require.NoError(t, ping(a, "10.67.0.9"))
}

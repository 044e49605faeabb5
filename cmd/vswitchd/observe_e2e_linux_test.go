package main_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/gopacket/pcapgo"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

// TestTraceAndCaptureWithVsctl traces pings between two containers and
// captures them (with drops) to a pcapng file that gopacket, and tshark
// where installed, read back.
func TestTraceAndCaptureWithVsctl(t *testing.T) {
	d := newDaemon(t)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	pa, pb := "ta"+nettest.Suffix(), "tb"+nettest.Suffix()
	d.must("add-br", "br0")
	d.must("add-port", "br0", pa, "type=veth", "netns="+a.Path(), "ip=10.63.0.1/24")
	d.must("add-port", "br0", pb, "type=veth", "netns="+b.Path(), "ip=10.63.0.2/24")
	require.NoError(t, ping(a, "10.63.0.2"))

	d.must("trace/add", pa, "2", "proto=icmp")
	require.NoError(t, ping(a, "10.63.0.2"))
	var traces []ctl.TraceView
	require.NoError(t, d.vsctlJSON(&traces, "trace/show"))
	require.Len(t, traces, 2)
	for _, tr := range traces {
		require.Equal(t, pa, tr.InPort)
		require.Contains(t, tr.Headers, "icmp EchoRequest")
		var nodes []string
		for _, h := range tr.Hops {
			nodes = append(nodes, h.Node)
		}
		require.Equal(t, []string{"l2-input", "l2-fwd", "l2-output", "port-tx"}, nodes)
		require.Contains(t, tr.Hops[1].Detail, "known on port "+pb)
		require.Equal(t, pb, tr.Hops[3].TxPort)
	}
	require.Contains(t, d.must("trace/show"), "l2-fwd")
	d.must("trace/clear")

	d.must("capture/start", pa, "both", "file=cap.pcapng", "drops=on")
	file := filepath.Join(d.dir, "state", "captures", "cap.pcapng")
	require.NoError(t, ping(a, "10.63.0.2"))
	// A frame the switch drops: a (spoofed) multicast source MAC.
	a.Command("sh", "-c", "ip link set eth0 address 03:00:00:00:00:01 2>/dev/null; ping -c 1 -W 1 10.63.0.2").Run()
	var st ctl.CaptureView
	require.NoError(t, d.vsctlJSON(&st, "capture/stop"))
	require.Positive(t, st.Packets)

	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	require.NoError(t, err)
	n := 0
	for {
		_, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.Equal(t, 0, ci.InterfaceIndex)
		n++
	}
	require.Equal(t, st.Packets, n)
	if path, err := exec.LookPath("tshark"); err == nil {
		out, err := exec.Command(path, "-r", file).CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, strings.ToLower(string(out)), "icmp")
	} else {
		t.Log("tshark not installed: the file was checked with gopacket's pcapng reader only")
	}
}

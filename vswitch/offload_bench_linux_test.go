package vswitch_test

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// iperf3 runs one TCP stream for secs seconds from namespace from to addr
// in namespace to and returns the receiver's rate in Gbit/s.
func (r *kernelRig) iperf3(from, to, addr string, secs int) float64 {
	t := r.t
	srv := r.ns[to].Command("iperf3", "-s", "-1", "-B", addr)
	require.NoError(t, srv.Start())
	defer func() { srv.Process.Kill(); srv.Wait() }()
	var out []byte
	var err error
	for range 50 { // until the server listens
		out, err = r.ns[from].Command("iperf3", "-c", addr, "-t", itoa(secs), "-O", "1", "-J").Output()
		if !strings.Contains(string(out), "Connection refused") { // iperf3 -J may exit 0 on it
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err, "iperf3: %s", out)
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	require.NoError(t, json.Unmarshal(out, &res))
	if res.End.SumReceived.BitsPerSecond == 0 {
		t.Fatalf("iperf3 measured nothing: %s", out)
	}
	return res.End.SumReceived.BitsPerSecond / 1e9
}

func itoa(n int) string { return strconv.Itoa(n) }

// BenchmarkTCPStream measures one iperf3 TCP stream (5 s) between two
// namespaces on one bridge, four ways in the same run: Vecswitch with
// offload taps and with AF_PACKET veths (64 KiB frames through the
// switch), Vecswitch with AF_XDP veths (the container end's checksum offload off, as the product sets
// it), and the kernel's bridge with veths (TSO on), the peer. It reports
// Gbit/s for each and the ratios to the bridge.
//
//	go test -run '^$' -bench TCPStream -benchtime 1x ./vswitch
func BenchmarkTCPStream(b *testing.B) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		b.Skip("iperf3 not installed (Debian: iperf3)")
	}
	nettest.NeedRoot(b)
	const secs = 5
	var tap, pkt, xdp, br float64
	for range b.N {
		func() {
			r := newKernelRig(b, 1)
			r.offloadTap("ta", "10.97.0.1/24")
			r.offloadTap("tb", "10.97.0.2/24")
			require.NoError(b, r.s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{
				{Name: "br0", Ports: []vswitch.Port{{Name: "ta"}, {Name: "tb"}}},
			}}))
			require.NoError(b, r.s.Start())
			require.NoError(b, r.ping("ta", "10.97.0.2"))
			tap = r.iperf3("ta", "tb", "10.97.0.2", secs)
		}()
		func() {
			r := newKernelRig(b, 1)
			r.packetVeth("pa", "10.97.3.1/24")
			r.packetVeth("pb", "10.97.3.2/24")
			require.NoError(b, r.s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{
				{Name: "br0", Ports: []vswitch.Port{{Name: "pa"}, {Name: "pb"}}},
			}}))
			require.NoError(b, r.s.Start())
			require.NoError(b, r.ping("pa", "10.97.3.2"))
			pkt = r.iperf3("pa", "pb", "10.97.3.2", secs)
		}()
		func() {
			r := newKernelRig(b, 1)
			r.container("va", "10.97.1.1/24", 1)
			r.container("vb", "10.97.1.2/24", 1)
			for _, n := range []string{"va", "vb"} {
				require.NoError(b, netdev.SetTxChecksumAt(r.ns[n].Path(), "eth0", false))
			}
			require.NoError(b, r.s.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{
				{Name: "br0", Ports: []vswitch.Port{{Name: "va"}, {Name: "vb"}}},
			}}))
			require.NoError(b, r.s.Start())
			require.NoError(b, r.ping("va", "10.97.1.2"))
			xdp = r.iperf3("va", "vb", "10.97.1.2", secs)
		}()
		func() {
			r := &kernelRig{t: b, ns: map[string]*nettest.NS{}}
			name := "vkbr" + nettest.Suffix()
			la := netlink.NewLinkAttrs()
			la.Name = name
			require.NoError(b, netlink.LinkAdd(&netlink.Bridge{LinkAttrs: la}))
			b.Cleanup(func() {
				if l, err := netlink.LinkByName(name); err == nil {
					netlink.LinkDel(l)
				}
			})
			brl, err := netlink.LinkByName(name)
			require.NoError(b, err)
			require.NoError(b, netlink.LinkSetUp(brl))
			for i, n := range []string{"ba", "bb"} {
				ns := nettest.NewNS(b)
				host := "vk" + n + nettest.Suffix()
				nettest.Veth(b, host, ns, "10.97.2."+itoa(i+1)+"/24", 1)
				hl, err := netlink.LinkByName(host)
				require.NoError(b, err)
				require.NoError(b, netlink.LinkSetMaster(hl, brl))
				r.ns[n] = ns
			}
			require.NoError(b, r.ping("ba", "10.97.2.2"))
			br = r.iperf3("ba", "bb", "10.97.2.2", secs)
		}()
	}
	b.ReportMetric(tap, "Gbit/s-vecswitch-tap-offload")
	b.ReportMetric(pkt, "Gbit/s-vecswitch-afpacket-veth")
	b.ReportMetric(xdp, "Gbit/s-vecswitch-afxdp-veth")
	b.ReportMetric(br, "Gbit/s-linux-bridge")
	b.ReportMetric(tap/br, "x-tap-offload/bridge")
	b.ReportMetric(pkt/br, "x-afpacket/bridge")
	b.ReportMetric(xdp/br, "x-afxdp/bridge")
}

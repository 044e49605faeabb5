package fastpath

import (
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/internal/xsk"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// BenchmarkForward measures 64-byte frames (60 bytes and the FCS) from
// namespace A to namespace B across two veths, switched by a Linux bridge
// or by the fast path, in the same run. What arrives is read from B's
// eth0 rx counter; the frames carry an EtherType nobody handles, so B's
// stack drops them at once.
//
// Two generators. inject: the kernel's BPF_PROG_RUN in live-frame mode
// (BPF_F_TEST_XDP_LIVE_FRAMES, as xdp-trafficgen uses it) makes frames
// arrive on the host end of A's veth, 64 at a time, with no syscall per
// frame. For the fast path the program run is the fast-path program itself
// (hits, redirected through the DEVMAP); for the bridge it is a program
// that returns XDP_PASS, so the kernel builds an skb and the bridge
// forwards it. This is the cost of switching alone. sendmmsg: a packet
// socket in A, one sender thread, sendmmsg of 64 frames
// (PACKET_QDISC_BYPASS): the whole path, the sender's own cost included
// (the switching runs in its softirq context).
//
//	go test -run '^$' -bench Forward -benchtime 2s ./ports/internal/fastpath
func BenchmarkForward(b *testing.B) {
	for _, gen := range []string{"inject", "sendmmsg"} {
		kinds := []string{"bridge", "fastpath"}
		if gen == "sendmmsg" {
			kinds = []string{"bridge", "fastpath-native", "fastpath-generic"}
		}
		for _, kind := range kinds {
			b.Run(gen+"/"+kind, func(b *testing.B) { benchForward(b, gen, kind) })
		}
	}
}

type benchPath struct {
	a, b *tport
	prog *ebpf.Program // what inject runs on A's host end
}

func benchForward(b *testing.B, gen, kind string) {
	p := newBenchPath(b, kind)
	frame := testFrame{src: p.a.mac, dst: p.b.mac, id: 1}.bytes()
	nh := p.b.ns.Netlink(b)
	rx := func() uint64 {
		l, err := nh.LinkByName("eth0")
		require.NoError(b, err)
		return l.Attrs().Statistics.RxPackets
	}
	var send func() int
	switch gen {
	case "inject":
		const perRun = 1 << 14
		ctx := xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: uint32(p.a.ifindex)}
		send = func() int {
			_, err := p.prog.Run(&ebpf.RunOptions{Data: frame, Context: ctx, Repeat: perRun, Flags: testXDPLiveFrames})
			if err != nil {
				b.Skipf("BPF_PROG_RUN in live-frame mode: %v", err)
			}
			return perRun
		}
	case "sendmmsg":
		sa := packetSocket(b, p.a.ns, "eth0")
		require.NoError(b, unix.SetsockoptInt(sa.fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1))
		batch := make([][]byte, 64)
		for i := range batch {
			batch[i] = frame
		}
		snd := newBatchSender(sa.fd, batch)
		send = func() int {
			n, err := snd.send()
			if err != nil && err != unix.ENOBUFS && err != unix.EAGAIN {
				b.Fatal(err)
			}
			return n
		}
	}
	// Warm up until the path forwards (a bridge port may take a moment).
	for deadline := time.Now().Add(3 * time.Second); ; {
		r0 := rx()
		send()
		time.Sleep(20 * time.Millisecond)
		if rx() > r0 {
			break
		}
		require.True(b, time.Now().Before(deadline), "nothing arrives at B")
	}
	r0 := rx()
	sent := 0
	start := time.Now()
	for b.Loop() {
		sent += send()
	}
	el := time.Since(start)
	time.Sleep(20 * time.Millisecond)
	got := rx() - r0
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(got)/el.Seconds()/1e6, "rx-Mpps")
	// B's counter also sees the odd frame of its own (IGMP): no negative
	// loss.
	b.ReportMetric(max(0, 100*(1-float64(got)/float64(max(sent, 1)))), "loss-%")
}

// BenchmarkTCP measures one iperf3 TCP stream from A to B for two seconds,
// through the bridge or the fast path, with the namespace ends as the
// switch configures them (TX checksum offload off, GRO on).
//
//	go test -run '^$' -bench TCP ./ports/internal/fastpath
func BenchmarkTCP(b *testing.B) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		b.Skip("no iperf3")
	}
	for _, kind := range []string{"bridge", "fastpath-native", "fastpath-generic"} {
		b.Run(kind, func(b *testing.B) {
			p := newBenchPath(b, kind)
			for _, nb := range []struct{ in, peer *tport }{{p.a, p.b}, {p.b, p.a}} {
				out, err := run(b, nb.in.ns, "ip", "neigh", "replace", nb.peer.ip, "lladdr", net.HardwareAddr(nb.peer.mac[:]).String(), "dev", "eth0", "nud", "permanent")
				require.NoError(b, err, out)
			}
			var sum float64
			for range b.N { // b.N is 1 unless -benchtime asks for more than 2 s
				srv := p.b.ns.Command("iperf3", "-s", "-1")
				require.NoError(b, srv.Start())
				time.Sleep(200 * time.Millisecond)
				out, err := p.a.ns.Command("iperf3", "-c", p.b.ip, "-t", "2", "-J", "--connect-timeout", "2000").Output()
				srv.Process.Kill()
				srv.Wait()
				require.NoError(b, err, string(out))
				var res struct {
					End struct {
						SumReceived struct {
							BitsPerSecond float64 `json:"bits_per_second"`
						} `json:"sum_received"`
					} `json:"end"`
				}
				require.NoError(b, json.Unmarshal(out, &res))
				sum += res.End.SumReceived.BitsPerSecond
			}
			bps := sum / float64(b.N)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(bps/1e9, "Gbit/s")
		})
	}
}

// testXDPLiveFrames is BPF_F_TEST_XDP_LIVE_FRAMES.
const testXDPLiveFrames = 1 << 1

// xdpMD is struct xdp_md, the context of BPF_PROG_RUN for XDP.
type xdpMD struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

// newBenchPath makes A and B (GRO on their namespace ends) joined by a
// bridge or by the fast path.
func newBenchPath(b *testing.B, kind string) *benchPath {
	needKernel(b)
	sfx := nettest.Suffix()
	var ports []*tport
	for i := range 2 {
		p := &tport{name: fmt.Sprintf("fp%s%c", sfx, 'a'+i), ns: quietNS(b), ip: fmt.Sprintf("10.99.0.%d", i+1)}
		copy(p.mac[:], nettest.Veth(b, p.name, p.ns, p.ip+"/24", 1))
		l, err := netlink.LinkByName(p.name)
		require.NoError(b, err)
		p.ifindex = l.Attrs().Index
		require.NoError(b, netdev.SetTxChecksumAt(p.ns.Path(), "eth0", false))
		require.NoError(b, EnsureGRO(p.ns.Path(), "eth0"))
		ports = append(ports, p)
	}
	bp := &benchPath{a: ports[0], b: ports[1]}
	if kind == "bridge" {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "fpbr" + sfx}}
		require.NoError(b, netlink.LinkAdd(br))
		b.Cleanup(func() { netlink.LinkDel(br) })
		for _, p := range ports {
			l, err := netlink.LinkByIndex(p.ifindex)
			require.NoError(b, err)
			require.NoError(b, netlink.LinkSetMaster(l, br))
			require.NoError(b, netlink.NeighAppend(&netlink.Neigh{LinkIndex: p.ifindex, Family: unix.AF_BRIDGE,
				State: netlink.NUD_NOARP, Flags: netlink.NTF_MASTER, HardwareAddr: net.HardwareAddr(p.mac[:])}))
			// The host end receives frames injected as XDP frames only
			// with NAPI on, as any veth: GRO.
			require.NoError(b, EnsureGRO("", p.name))
		}
		require.NoError(b, netlink.LinkSetUp(br))
		pass, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.XDP, License: "Dual MIT/GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, xdpPass), asm.Return()}})
		require.NoError(b, err)
		b.Cleanup(func() { pass.Close() })
		// A live-frame run of a program attached nowhere adds it to the
		// kernel's XDP dispatcher and removes it again, tens of
		// milliseconds per run (perf/e2e_xdplive_linux.go): keep it
		// attached to a spare veth that carries nothing meanwhile.
		anchor := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "fpan" + sfx}, PeerName: "fpao" + sfx}
		require.NoError(b, netlink.LinkAdd(anchor))
		b.Cleanup(func() { netlink.LinkDel(anchor) })
		al, err := netlink.LinkByName(anchor.Name)
		require.NoError(b, err)
		lk, err := link.AttachXDP(link.XDPOptions{Program: pass, Interface: al.Attrs().Index, Flags: link.XDPGenericMode})
		require.NoError(b, err)
		b.Cleanup(func() { lk.Close() })
		bp.prog = pass
		return bp
	}
	mode := xsk.AttachNative
	if kind == "fastpath-generic" {
		mode = xsk.AttachGeneric
	}
	m, err := NewMaps(MapsConfig{})
	require.NoError(b, err)
	b.Cleanup(func() { m.Close() })
	for _, p := range ports {
		prog, err := Attach(p.ifindex, 1, mode, m)
		if err != nil {
			b.Skipf("attach: %v", err)
		}
		b.Cleanup(func() { prog.Close() })
		if bp.prog == nil {
			bp.prog = prog.prog
		}
		require.NoError(b, m.SetPort(p.ifindex, PortConfig{Domain: 1}))
	}
	for _, p := range ports {
		_, err := m.SetEntry(1, p.mac, Entry{Ifindex: p.ifindex})
		require.NoError(b, err)
	}
	return bp
}

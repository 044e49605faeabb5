package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/perf"
)

type machine struct {
	Kernel string `json:"kernel"`
	CPU    string `json:"cpu"`
	CPUs   int    `json:"cpus"`
	// BridgeNFCallIPTables is net.bridge.bridge-nf-call-iptables of the
	// host namespace ("" without br_netfilter): when 1, bridged IPv4
	// frames go through the iptables hooks.
	BridgeNFCallIPTables string `json:"bridge_nf_call_iptables,omitempty"`
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/net/bridge/bridge-nf-call-iptables"); err == nil {
		m.BridgeNFCallIPTables = strings.TrimSpace(string(b))
	}
	return m
}

func printReport(w io.Writer, cfg *perf.E2EConfig, m machine, res []perf.E2EResult) {
	fmt.Fprintf(w, "\nVecswitch end-to-end: sender netns -> receiver netns over veth\n")
	fmt.Fprintf(w, "kernel %s, %d x %s; generator and iperf3 on CPU %d, forwarder on CPU %d\n",
		m.Kernel, m.CPUs, m.CPU, cfg.CPUGen, cfg.CPUSwitch)
	rate := "full rate"
	if cfg.Rate > 0 {
		rate = fmt.Sprintf("%d pps", cfg.Rate)
	}
	gen := "AF_XDP generator (copy mode)"
	if cfg.Generator == perf.GenXDPLive {
		gen = "xdp-live generator (BPF_PROG_RUN live frames, XDP_TX; GRO on on the host ends)"
	}
	fmt.Fprintf(w, "UDP: 64-byte frames, %s (%s) -> XDP count-and-drop sink; %v window after %v warm-up\n",
		gen, rate, cfg.Duration, cfg.Warmup)
	fmt.Fprintf(w, "CPU busy: share of the UDP window not idle on the forwarder's (sw) and the generator's (gen) CPU, from /proc/stat;\n"+
		"  si: of which softirq, st: of which stolen by the hypervisor\n")
	fmt.Fprintf(w, "TCP: iperf3, 1 stream, %v\n", cfg.Duration.Round(1e9))
	if m.BridgeNFCallIPTables == "1" {
		fmt.Fprintf(w, "note: br_netfilter is loaded and bridge-nf-call-iptables=1 in the host namespace\n")
	}
	fmt.Fprintln(w)

	var brPPS, brTCP, brTCPOff, vsTCP float64
	for _, r := range res {
		switch r.Path {
		case perf.PathBridge:
			if r.UDP != nil {
				brPPS = r.UDP.RxPPS
			}
			if r.TCP != nil {
				brTCP = r.TCP.Gbps
			}
			if r.TCPCsumOff != nil {
				brTCPOff = r.TCPCsumOff.Gbps
			}
		case perf.PathVecswitch:
			if r.TCP != nil {
				vsTCP = r.TCP.Gbps
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "path\tUDP Mpps\tvs bridge\tgen Mpps\tlost\tsw CPU %d busy (si/st)\tgen CPU %d busy (si/st)\tTCP Gbit/s\tvs bridge\tretrans\t\n",
		cfg.CPUSwitch, cfg.CPUGen)
	for _, r := range res {
		row := []string{r.Path, "-", "-", "-", "-", "-", "-", "-", "-", "-"}
		if u := r.UDP; u != nil {
			row[1] = fmt.Sprintf("%.3f", u.RxPPS/1e6)
			row[2] = ratio(u.RxPPS, brPPS)
			row[3] = fmt.Sprintf("%.3f", u.GenPPS/1e6)
			row[4] = fmt.Sprintf("%.2f%%", 100*u.Lost())
			row[5] = busy(u.SwitchCPUBusy, u.SwitchCPUSoftIRQ, u.SwitchCPUSteal)
			row[6] = busy(u.GenCPUBusy, u.GenCPUSoftIRQ, u.GenCPUSteal)
		}
		if t := r.TCP; t != nil {
			row[7] = fmt.Sprintf("%.2f", t.Gbps)
			row[8] = ratio(t.Gbps, brTCP)
			row[9] = fmt.Sprint(t.Retransmits)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		if t := r.TCPCsumOff; t != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t%.2f\t%s\t%d\t\n", "  tx-csum off", t.Gbps, ratio(t.Gbps, brTCP), t.Retransmits)
		}
	}
	tw.Flush()
	if brTCPOff > 0 && vsTCP > 0 {
		fmt.Fprintf(w, "TCP like for like (tx checksum offload off, so no TSO, on both namespace ends): Vecswitch %.2f / bridge %.2f Gbit/s = %s\n",
			vsTCP, brTCPOff, ratio(vsTCP, brTCPOff))
	}
	for _, r := range res {
		if r.Err != "" {
			what := "error"
			if r.Skipped {
				what = "skipped"
			}
			fmt.Fprintf(w, "%s %s: %s\n", r.Path, what, r.Err)
		}
	}
	for _, r := range res {
		printDetails(w, &r)
	}
}

// busy formats CPU shares as "busy% (softirq%/steal%)".
func busy(b, si, st float64) string {
	return fmt.Sprintf("%.0f%% (%.0f/%.0f)", 100*b, 100*si, 100*st)
}

// connCols formats a short-connection run as the -sg and -lb tables'
// columns: connections/s and CPU µs per connection, each with its ratio
// to peer's (which may be nil).
func connCols(c, peer *perf.ConnResult) string {
	var pr, pcpu float64
	if peer != nil {
		pr, pcpu = peer.PerSec, peer.CPUPerConn
	}
	return fmt.Sprintf("%.0f\t%s\t%.1f\t%s", c.PerSec, ratio(c.PerSec, pr), c.CPUPerConn, ratio(c.CPUPerConn, pcpu))
}

func ratio(v, ref float64) string {
	if ref == 0 || v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v/ref)
}

func printDetails(w io.Writer, r *perf.E2EResult) {
	fmt.Fprintf(w, "\n== %s\n", r.Path)
	if u := r.UDP; u != nil {
		fmt.Fprintf(w, "UDP window %.2fs: generated %d, received %d; whole run: generated %d, received %d (%.2f%% lost), other frames at the sink %d\n",
			u.Seconds, u.Generated, u.Received, u.TotalGenerated, u.TotalReceived, 100*u.Lost(), u.Other)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "kernel counters in the window\trx\ttx\trx dropped\ttx dropped\t")
		for _, l := range u.Links {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", l.Dev, l.RxPackets, l.TxPackets, l.RxDropped, l.TxDropped)
		}
		tw.Flush()
	}
	if s := r.Switch; s != nil {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "Vecswitch node (UDP window)\tcalls\tvectors\tpackets\tpkts/vector\tns/pkt\tmax ns/call\tdrops\t")
		for _, c := range s.Runtime {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%.1f\t%d\t%d\t\n", c.Name, c.Calls, c.Vectors, c.Packets,
				c.PacketsPerVector(), c.NanosPerPacket(), c.MaxNanos, c.Dropped())
		}
		tw.Flush()
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "port (whole run)\trx\ttx\ttx drops\txsk rx dropped\trx ring full\tfill empty\ttx ring full\tkick errors\t")
		for _, p := range s.Ports {
			c, a := p.Counters, p.AFXDP
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", p.Name, c.RxPackets, c.TxPackets, c.TxDrops,
				a.RxDropped, a.RxRingFull, a.RxFillEmpty, a.TxRingFull, a.KickErrors)
		}
		tw.Flush()
	}
	if len(r.Sockets) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "socket (whole run)\tforwarded out\tdropped\txsk rx dropped\trx ring full\tfill empty\ttx invalid\t")
		for _, s := range r.Sockets {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", s.Name, s.Forwarded, s.Dropped, s.RxDropped, s.RxRingFull, s.RxFillEmpty, s.TxInvalidDescs)
		}
		tw.Flush()
	}
}

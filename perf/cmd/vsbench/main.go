// Command vsbench is the end-to-end benchmark: 64-byte UDP packets per
// second and TCP throughput from one network namespace to another through
// a Linux bridge, through Vecswitch (AF_XDP veth ports, one pinned worker),
// and through two AF_XDP cross-connects (github.com/asavie/xdp as the
// baseline library, and our own socket layer with no switching), side by
// side, with how busy the forwarder's and the generator's CPUs were. The
// UDP generator is an AF_XDP socket (-gen afxdp, the default) or
// BPF_PROG_RUN in live-frame mode (-gen xdp-live, Linux 5.18 or later),
// which sends several times faster; see package perf. It needs root;
// everything it creates has a unique name and is removed before it exits,
// also on SIGINT/SIGTERM.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/vecswitch/vecswitch/perf"
)

func main() {
	dur, warm := seconds(5*time.Second), seconds(time.Second)
	flag.Var(&dur, "duration", "measurement window of each run (seconds, or a duration such as 1500ms)")
	flag.Var(&warm, "warmup", "warm-up before each window (seconds or a duration)")
	cpuSw := flag.Int("cpu-switch", 1, "CPU of the forwarder (Vecswitch worker, cross-connects)")
	cpuGen := flag.Int("cpu-gen", 0, "CPU of the traffic generator and iperf3")
	only := flag.String("only", "", "comma-separated paths to run: "+strings.Join(perf.E2EPaths, ", "))
	rate := flag.Int("rate", 0, "generator rate in packets/s (0: as fast as the kernel takes them)")
	gen := flag.String("gen", perf.GenAFXDP, "UDP generator on the sender's eth0:\n"+
		perf.GenAFXDP+": an AF_XDP socket in copy mode (skbs made on the sender's CPU)\n"+
		perf.GenXDPLive+": BPF_PROG_RUN in live-frame mode, an XDP_TX program run on 4096\n"+
		"frames per syscall at full rate (no skb on the sender's side; switches GRO on on\n"+
		"the veth host ends, which such frames need; Linux 5.18 or later)")
	noTCP := flag.Bool("no-tcp", false, "skip the iperf3 TCP runs")
	asJSON := flag.Bool("json", false, "print the results as JSON")
	bulk := flag.Bool("tcp-bulk", false, "run the TCP bulk suite instead (perf/tcp.sh): iperf3 at each -streams count\n"+
		"through each of "+strings.Join(perf.TCPPaths, ", ")+",\nwith the host's CPU per Gbit/s; -duration defaults to 10s, -warmup is iperf3's -O")
	streams := flag.String("streams", "1,4", "with -tcp-bulk: comma-separated iperf3 parallel stream counts (-sg: default 1)")
	sg := flag.Bool("sg", false, "run the security-group suite instead (perf/sg.sh): short TCP connections/s and iperf3\n"+
		"through each of "+strings.Join(perf.SGPaths, ", ")+"\n(default "+strings.Join(perf.DefaultSGPaths, ", ")+
		"); -duration (iperf3's) defaults to 10s, -no-tcp skips iperf3")
	connDur := seconds(5 * time.Second)
	flag.Var(&connDur, "conn-duration", "with -sg: window of the short-connection run")
	conns := flag.Int("conns", 4, "with -sg: client loops (and server threads) making connections in parallel")
	sgRules := flag.Int("sg-rules", 1000, "with -sg: rules in the security groups (and the nftables ruleset)")
	sgGroups := flag.Int("sg-groups", 100, "with -sg: groups the rules are spread over, each bound to both ports")
	lb := flag.Bool("lb", false, "run the service suite instead (perf/lb.sh): short TCP connections/s and bulk streams\n"+
		"to a VIP load-balanced over three backends through each of "+strings.Join(perf.LBPaths, ", ")+
		";\n-conn-duration and -conns as with -sg, -streams defaults to 1,4, -duration to 10s, -no-tcp skips the streams")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: vsbench [flags]   (as root)\n\n"+
			"Measures 64-byte UDP packets/s (a generator in one namespace: an AF_XDP\n"+
			"socket or, with -gen xdp-live, BPF_PROG_RUN in live-frame mode; an XDP\n"+
			"counting sink in another), how busy the forwarder's and the generator's\n"+
			"CPUs were in the UDP window (/proc/stat), and TCP throughput (iperf3)\n"+
			"through a Linux bridge, Vecswitch and two AF_XDP cross-connects.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if runtime.NumCPU() == 1 && *cpuSw == 1 && *cpuGen == 0 {
		*cpuSw = 0
	}
	if *sg {
		d := time.Duration(dur)
		if !flagSet("duration") {
			d = 10 * time.Second
		}
		st := *streams
		if !flagSet("streams") {
			st = "1"
		}
		os.Exit(runSG(sgFlags{connWindow: time.Duration(connDur), conns: *conns, rules: *sgRules, groups: *sgGroups,
			noTCP: *noTCP, paths: *only, streams: st, iperf: d, warm: time.Duration(warm),
			cpuSw: *cpuSw, cpuGen: *cpuGen, asJSON: *asJSON}))
	}
	if *lb {
		d := time.Duration(dur)
		if !flagSet("duration") {
			d = 10 * time.Second
		}
		os.Exit(runLB(lbFlags{connWindow: time.Duration(connDur), conns: *conns, noBulk: *noTCP, paths: *only,
			streams: *streams, dur: d, warm: time.Duration(warm), cpuSw: *cpuSw, cpuGen: *cpuGen, asJSON: *asJSON}))
	}
	if *bulk {
		d := time.Duration(dur)
		if !flagSet("duration") {
			d = 10 * time.Second
		}
		os.Exit(runTCPBulk(d, time.Duration(warm), *cpuSw, *cpuGen, *only, *streams, *asJSON))
	}
	cfg := perf.E2EConfig{Duration: time.Duration(dur), Warmup: time.Duration(warm), CPUSwitch: *cpuSw, CPUGen: *cpuGen,
		Generator: *gen, Rate: *rate, UDP: true, TCP: !*noTCP}
	cfg.Paths = splitList(*only)
	if len(cfg.Paths) == 0 {
		cfg.Paths = perf.E2EPaths
	}
	cfg.Log = logf
	os.Exit(runSuite(cfg, *asJSON, perf.RunE2E, func(w io.Writer, m machine, res []perf.E2EResult) { printReport(w, &cfg, m, res) }))
}

// Command vsdemo builds an L2 switch with memory ports, pushes 64-byte
// frames through it on one core for each benchmark scenario, and prints
// the rate and the runtime counters of every node (like VPP's
// "show runtime"). It is the quick-start demo until vswitchd arrives.
package main

import (
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/vecswitch/vecswitch/perf"
)

func main() {
	dur := flag.Duration("duration", time.Second, "how long to run each scenario")
	macs := flag.Int("macs", 1000, "learned MACs in the l2-macs scenario")
	only := flag.String("scenario", "", "run only this scenario: l2-1flow, l2-macs, flood-8, vlan-push, vlan-pop")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: vsdemo [flags]\n\n"+
			"Pushes generated 64-byte frames through the Vecswitch L2 pipeline over\n"+
			"in-memory ports on one core and prints rates and runtime counters.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	kinds := []string{perf.L2OneFlow, perf.L2MACs, perf.Flood8, perf.VLANPush, perf.VLANPop}
	if *only != "" {
		kinds = []string{*only}
	}
	for _, k := range kinds {
		if err := run(k, *macs, *dur); err != nil {
			fmt.Fprintln(os.Stderr, "vsdemo:", err)
			os.Exit(1)
		}
	}
}

func run(kind string, macs int, dur time.Duration) error {
	sc, err := perf.NewScenario(kind, macs)
	if err != nil {
		return err
	}
	defer sc.Close()
	before := sc.Runtime()
	start := time.Now()
	pkts := 0
	for time.Since(start) < dur {
		for range 64 {
			pkts += sc.Poll()
		}
	}
	el := time.Since(start)
	fmt.Printf("== %s: %d frames in %v: %.2f Mpps in, %.2f Mpps out, %.1f ns/frame\n",
		sc.Name, pkts, el.Round(time.Millisecond), float64(pkts)/el.Seconds()/1e6,
		float64(pkts*sc.OutPerIn)/el.Seconds()/1e6, float64(el.Nanoseconds())/float64(pkts))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "node\tcalls\tvectors\tpackets\tpkts/vector\tns/pkt\tmax ns/call\tdrops\t")
	for i, c := range sc.Runtime() {
		b := before[i]
		c.Calls -= b.Calls
		c.Vectors -= b.Vectors
		c.Packets -= b.Packets
		c.Nanos -= b.Nanos
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%.1f\t%d\t%d\t\n", c.Name, c.Calls, c.Vectors, c.Packets,
			c.PacketsPerVector(), c.NanosPerPacket(), c.MaxNanos, c.Dropped()-b.Dropped())
	}
	tw.Flush()
	fmt.Println()
	return nil
}

package perf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/vswitch"
)

// RunSGBench measures short TCP connections per second and iperf3
// throughput on each configured path, each on a topology of its own,
// made and removed within the call. The filtered paths first check that
// a connection to SGDeniedPort fails and record it. A path that fails
// records its error and the run goes on; the returned error is ctx's, a
// bad configuration, or a missing iperf3 or nft.
func RunSGBench(ctx context.Context, cfg SGBenchConfig) ([]SGBenchResult, error) {
	return runPaths(ctx, &cfg, func(p string) []SGBenchResult { return []SGBenchResult{runSGPath(ctx, &cfg, p)} })
}

func (c *SGBenchConfig) plan() ([]string, func(string, ...any)) { return c.Paths, c.Log }

// needs: iperf3 unless NoIperf, nft for PathBridgeNft.
func (c *SGBenchConfig) needs() []command {
	var out []command
	if !c.NoIperf {
		out = append(out, cmdIperf3)
	}
	if slices.Contains(c.Paths, PathBridgeNft) {
		out = append(out, cmdNft)
	}
	return out
}

// runSGPath sets up one path, probes the denied port, makes short
// connections for the window, then runs iperf3 at each stream count.
func runSGPath(ctx context.Context, cfg *SGBenchConfig, path string) (res SGBenchResult) {
	res.Path = path
	var errs pathErrs
	defer errs.record(&res.Err, cfg.Log, path)
	groups := SGBenchGroups(cfg.Rules, cfg.Groups, []string{vsSndPort, vsRcvPort})
	id := newRunID()
	var (
		t   *topo
		br  *endpoint
		err error
	)
	switch path {
	case PathBridge, PathBridgeNft:
		t, br, err = newTopoBridgeNS(id)
	case PathTap, PathTapSG:
		t, err = newTopoNS(id)
	default:
		t, err = newTopo(id)
	}
	if err != nil {
		errs = append(errs, err)
		return res
	}
	defer errs.closing(t.close)
	r := &rig{close: func() error { return nil }, report: func(*E2EResult) {}}
	switch path {
	case PathBridgeNft:
		res.Filter, err = loadNft(ctx, t, br, groups)
		res.Rules = cfg.Rules
	case PathTap, PathTapSG:
		if path == PathTapSG {
			t.sg, res.Rules, res.Filter = groups, cfg.Rules, "vecswitch sg-policy"
		}
		r, err = startVecswitchTap(t, cfg.CPUSwitch)
	case PathAFPacket, PathAFPacketSG:
		if path == PathAFPacketSG {
			t.sg, res.Rules, res.Filter = groups, cfg.Rules, "vecswitch sg-policy"
		}
		r, err = startVecswitchAFPacket(t, cfg.CPUSwitch)
	}
	if err != nil {
		errs = append(errs, err)
		return res
	}
	defer errs.closing(r.close)
	// The client never holds a port in TIME_WAIT (the server closes
	// first), but a wide range keeps 4-tuples from coming back soon.
	if err := setSysctlIn(t.snd.ns, "net/ipv4/ip_local_port_range", "1024 65000"); err != nil {
		errs = append(errs, err)
		return res
	}
	srv, err := startConnServer(t.rcv.ns, cfg.Conns, cfg.CPUGen)
	if err != nil {
		errs = append(errs, err)
		return res
	}
	defer errs.closing(srv.stop)
	// The first connection also resolves ARP.
	if perr := probeConn(t.snd.ns, rcvAddr(SGConnPort), connIOTimeout); perr != nil {
		errs = append(errs, fmt.Errorf("perf: connection to allowed port %d: %w", SGConnPort, perr))
		return res
	}
	res.DeniedPortOpen = probeConn(t.snd.ns, rcvAddr(SGDeniedPort), connIOTimeout) == nil
	cfg.Log("%s: %d rules (%s), connection to denied port %d succeeded: %v", path, res.Rules, res.Filter, SGDeniedPort, res.DeniedPortOpen)

	res.Conn, err = measureConns(ctx, t.snd.ns, rcvAddr(SGConnPort), cfg.Conns, cfg.CPUGen, cfg.ConnWindow)
	if err != nil {
		errs = append(errs, err)
		return res
	}
	c := res.Conn
	cfg.Log("%s: %.0f connections/s (%d ok, %d failed), %.2f CPUs busy (%.1f µs per connection)", path, c.PerSec, c.OK, c.Failed, c.HostCPU, c.CPUPerConn)
	if cfg.NoIperf {
		return res
	}
	secs, omit := iperfSeconds(cfg.Duration, cfg.Warmup)
	for _, n := range cfg.Streams {
		tr, _, err := measureIperf(ctx, t, r, path, n, secs, omit, cfg.CPUGen)
		if err != nil {
			errs = append(errs, err)
			return res
		}
		res.TCP = append(res.TCP, tr)
		if tr.Err != "" {
			cfg.Log("%s, %d streams: %s", path, n, tr.Err)
			continue
		}
		cfg.Log("%s, %d streams: %.2f Gbit/s, %d retransmits, %.2f CPUs busy (%.3f per Gbit/s)",
			path, n, tr.TCP.Gbps, tr.TCP.Retransmits, tr.HostCPU, tr.CPUPerGbps)
	}
	return res
}

// startConnServer is the security-group suite's server: it listens in
// namespace ns on rcvIP with threads threads for SGConnPort and one for
// SGDeniedPort, all pinned to cpu, serving the exchange.
func startConnServer(ns netns.NsHandle, threads, cpu int) (*listeners, error) {
	s := &listeners{}
	ports := append(slices.Repeat([]int{SGConnPort}, threads), SGDeniedPort)
	addr, _ := netip.AddrFromSlice(rcvIP.To4())
	if err := s.start(ns, addr, ports, cpu, func(int) func(fd int) { return exchange("vecswitch-sgresp") }); err != nil {
		return nil, err
	}
	return s, nil
}

// newTopoBridgeNS is the Linux bridge's topology for the security-group
// suite: the sender's and the receiver's namespaces, each with a veth
// whose other end is in a third namespace (returned) that holds the
// bridge, so its netfilter hooks, nftables table and conntrack are its
// own and the host's traffic is not tracked meanwhile. The receiver's
// MAC is static on the bridge, as in addBridge. Deleting the namespaces
// (t.close) removes every link.
func newTopoBridgeNS(id string) (t *topo, br *endpoint, err error) {
	t = &topo{id: id}
	defer closeOnError(&err, t.close)
	br = &endpoint{}
	if err := t.addNamespace(br, "br", "b", nil); err != nil {
		return t, nil, err
	}
	if err := t.addNamespace(&t.snd, "snd", "s", sndIP); err != nil {
		return t, nil, err
	}
	if err := t.addNamespace(&t.rcv, "rcv", "r", rcvIP); err != nil {
		return t, nil, err
	}
	bl, err := addBridgeIn(br, "vsb"+t.id+"br")
	if err != nil {
		return t, nil, err
	}
	for _, e := range []*endpoint{&t.snd, &t.rcv} {
		if err := attachVethIn(br, bl, e); err != nil {
			return t, nil, err
		}
	}
	if err := br.nl.LinkSetUp(bl); err != nil {
		return t, nil, fmt.Errorf("perf: %s up: %w", bl.Attrs().Name, err)
	}
	fdb := &netlink.Neigh{LinkIndex: t.rcv.hostIx, Family: unix.AF_BRIDGE, State: netlink.NUD_NOARP,
		Flags: netlink.NTF_MASTER, HardwareAddr: t.rcv.mac}
	if err := br.nl.NeighAdd(fdb); err != nil {
		return t, nil, fmt.Errorf("perf: static fdb entry %s on %s: %w", t.rcv.mac, t.rcv.host, err)
	}
	return t, br, nil
}

// loadNft loads groups as nftables rules (NftRuleset) into the bridge's
// namespace br, in a table of the run's own name that t.close deletes
// first: family bridge with br_netfilter's calls off where the kernel
// tracks bridged connections itself (nf_conntrack_bridge), else family
// inet, reached through br_netfilter (bridge-nf-call-iptables=1, as on
// Docker and Kubernetes hosts). It returns which.
func loadNft(ctx context.Context, t *topo, br *endpoint, groups []vswitch.SecurityGroup) (string, error) {
	name := "vsbsg" + t.id
	var errs []error
	for _, fam := range []string{"bridge", "inet"} {
		call := "0"
		if fam == "inet" {
			call = "1"
		}
		for _, k := range []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables"} {
			if err := setSysctlIn(br.ns, "net/bridge/"+k, call); err != nil {
				return "", err
			}
		}
		rs, err := NftRuleset(fam, name, groups)
		if err != nil {
			return "", err
		}
		if err := t.loadNftTable(ctx, br, fam, name, rs); err != nil {
			errs = append(errs, err)
			continue
		}
		if fam == "bridge" {
			return "nft bridge family (nf_conntrack_bridge)", nil
		}
		return "nft inet family via br_netfilter", nil
	}
	return "", errors.Join(errs...)
}

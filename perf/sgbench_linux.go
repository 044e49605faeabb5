package perf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

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
	if os.Geteuid() != 0 {
		return nil, ErrNeedRoot
	}
	if err := cfg.normalize(runtime.NumCPU()); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("iperf3"); err != nil && !cfg.NoIperf {
		return nil, ErrNoIperf3
	}
	for _, p := range cfg.Paths {
		if p == PathBridgeNft {
			if _, err := exec.LookPath("nft"); err != nil {
				return nil, ErrNoNft
			}
		}
	}
	var out []SGBenchResult
	for _, p := range cfg.Paths {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		cfg.Log("%s: setting up", p)
		out = append(out, runSGPath(ctx, &cfg, p))
	}
	return out, ctx.Err()
}

// ErrNoNft is returned when the nftables path is asked for and nft is
// missing.
var ErrNoNft = errors.New("perf: nft not found in PATH (apt-get install nftables)")

// runSGPath sets up one path, probes the denied port, makes short
// connections for the window, then runs iperf3 at each stream count.
func runSGPath(ctx context.Context, cfg *SGBenchConfig, path string) (res SGBenchResult) {
	res.Path = path
	var errs []error
	defer func() {
		if err := errors.Join(errs...); err != nil {
			res.Err = err.Error()
			cfg.Log("%s: %v", path, err)
		}
	}()
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
	defer func() {
		if err := t.close(); err != nil {
			errs = append(errs, err)
		}
	}()
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
	defer func() {
		if err := r.close(); err != nil {
			errs = append(errs, err)
		}
	}()
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
	defer func() {
		if err := srv.stop(); err != nil {
			errs = append(errs, err)
		}
	}()
	// The first connection also resolves ARP.
	if perr := probeConn(t.snd.ns, SGConnPort, connIOTimeout); perr != nil {
		errs = append(errs, fmt.Errorf("perf: connection to allowed port %d: %w", SGConnPort, perr))
		return res
	}
	res.DeniedPortOpen = probeConn(t.snd.ns, SGDeniedPort, connIOTimeout) == nil
	cfg.Log("%s: %d rules (%s), connection to denied port %d succeeded: %v", path, res.Rules, res.Filter, SGDeniedPort, res.DeniedPortOpen)

	before, err := readProcStat()
	if err != nil {
		errs = append(errs, err)
		return res
	}
	res.Conn, err = runConns(ctx, t.snd.ns, cfg.Conns, cfg.CPUGen, cfg.ConnWindow)
	if err != nil {
		errs = append(errs, err)
		return res
	}
	after, err := readProcStat()
	if err != nil {
		errs = append(errs, err)
		return res
	}
	c := res.Conn
	c.HostCPU = hostCPUBusy(before, after)
	if c.PerSec > 0 {
		c.CPUPerConn = c.HostCPU / c.PerSec * 1e6
	}
	cfg.Log("%s: %.0f connections/s (%d ok, %d failed), %.2f CPUs busy (%.1f µs per connection)", path, c.PerSec, c.OK, c.Failed, c.HostCPU, c.CPUPerConn)
	if cfg.NoIperf {
		return res
	}
	secs := max(1, int(cfg.Duration.Round(time.Second)/time.Second))
	omit := int(cfg.Warmup.Round(time.Second) / time.Second)
	for _, n := range cfg.Streams {
		tr := TCPBenchResult{Path: path, Streams: n}
		before, err := readProcStat()
		if err != nil {
			errs = append(errs, err)
			return res
		}
		fw := forwardedOf(r)
		tr.TCP, err = runIperfStreams(ctx, t, secs, omit, cfg.CPUGen, n)
		if err != nil {
			tr.Err = err.Error()
			res.TCP = append(res.TCP, tr)
			cfg.Log("%s, %d streams: %v", path, n, err)
			continue
		}
		after, err := readProcStat()
		if err != nil {
			errs = append(errs, err)
			return res
		}
		tr.HostCPU = hostCPUBusy(before, after)
		if tr.TCP.Gbps > 0 {
			tr.CPUPerGbps = tr.HostCPU / tr.TCP.Gbps
		}
		tr.Forwarded = forwardedOf(r) - fw
		cfg.Log("%s, %d streams: %.2f Gbit/s, %d retransmits, %.2f CPUs busy (%.3f per Gbit/s)",
			path, n, tr.TCP.Gbps, tr.TCP.Retransmits, tr.HostCPU, tr.CPUPerGbps)
		res.TCP = append(res.TCP, tr)
	}
	return res
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
	defer func() {
		if err != nil {
			err = errors.Join(err, t.close())
		}
	}()
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
	name := "vsb" + t.id + "br"
	if err := br.nl.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, TxQLen: -1}}); err != nil {
		return t, nil, fmt.Errorf("perf: create bridge %s in %s: %w", name, br.nsName, err)
	}
	bl, err := br.nl.LinkByName(name)
	if err != nil {
		return t, nil, fmt.Errorf("perf: bridge %s: %w", name, err)
	}
	for _, e := range []*endpoint{&t.snd, &t.rcv} {
		la := netlink.NewLinkAttrs()
		la.Name, la.NumTxQueues, la.NumRxQueues = e.host, 1, 1
		la.Namespace = netlink.NsFd(int(br.ns))
		v := &netlink.Veth{LinkAttrs: la, PeerName: innerIfname, PeerNamespace: netlink.NsFd(int(e.ns)),
			PeerNumTxQueues: 1, PeerNumRxQueues: 1, PeerTxQLen: -1}
		if err := netlink.LinkAdd(v); err != nil {
			return t, nil, fmt.Errorf("perf: create veth %s: %w", e.host, err)
		}
		hl, err := br.nl.LinkByName(e.host)
		if err != nil {
			return t, nil, fmt.Errorf("perf: veth %s in %s: %w", e.host, br.nsName, err)
		}
		e.hostIx = hl.Attrs().Index
		if err := br.nl.LinkSetMasterByIndex(hl, bl.Attrs().Index); err != nil {
			return t, nil, fmt.Errorf("perf: enslave %s to %s: %w", e.host, name, err)
		}
		if err := br.nl.LinkSetUp(hl); err != nil {
			return t, nil, fmt.Errorf("perf: %s up: %w", e.host, err)
		}
		in, err := e.nl.LinkByName(innerIfname)
		if err != nil {
			return t, nil, fmt.Errorf("perf: %s in %s: %w", innerIfname, e.nsName, err)
		}
		if err := e.nl.AddrAdd(in, &netlink.Addr{IPNet: &net.IPNet{IP: e.ip, Mask: net.CIDRMask(24, 32)}}); err != nil {
			return t, nil, fmt.Errorf("perf: address %s in %s: %w", e.ip, e.nsName, err)
		}
		if err := e.nl.LinkSetUp(in); err != nil {
			return t, nil, fmt.Errorf("perf: %s up in %s: %w", innerIfname, e.nsName, err)
		}
		e.mac, e.inIx = in.Attrs().HardwareAddr, in.Attrs().Index
	}
	if err := br.nl.LinkSetUp(bl); err != nil {
		return t, nil, fmt.Errorf("perf: %s up: %w", name, err)
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
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", br.nsName, "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(rs)
		out, err := cmd.CombinedOutput()
		if err != nil {
			errs = append(errs, fmt.Errorf("perf: nft -f (%s family): %w: %s", fam, err, firstLines(string(out), 3)))
			continue
		}
		t.undo = append(t.undo, func() error {
			out, err := exec.Command("ip", "netns", "exec", br.nsName, "nft", "delete", "table", fam, name).CombinedOutput()
			if err != nil {
				return fmt.Errorf("perf: nft delete table %s %s: %w: %s", fam, name, err, out)
			}
			return nil
		})
		if fam == "bridge" {
			return "nft bridge family (nf_conntrack_bridge)", nil
		}
		return "nft inet family via br_netfilter", nil
	}
	return "", errors.Join(errs...)
}

// firstLines is s cut to its first n lines.
func firstLines(s string, n int) string {
	ls := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	if len(ls) > n {
		ls = append(ls[:n], "...")
	}
	return strings.Join(ls, " / ")
}

// setSysctlIn writes value to /proc/sys/<key> as seen from namespace ns
// (/proc/sys/net is the opening thread's namespace's).
func setSysctlIn(ns netns.NsHandle, key, value string) error {
	return onThreadIn(ns, func() error {
		if err := os.WriteFile("/proc/sys/"+key, []byte(value), 0); err != nil {
			return fmt.Errorf("perf: sysctl %s=%s: %w", key, value, err)
		}
		return nil
	})
}

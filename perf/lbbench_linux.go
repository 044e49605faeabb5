package perf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports/tap"
	"github.com/vecswitch/vecswitch/vswitch"
)

// RunLBBench measures, on each configured path, short TCP connections
// per second to the VIP and then bulk TCP streams to it, each path on a
// topology of its own, made and removed within the call. A path that
// fails records its error and the run goes on; the returned error is
// ctx's, a bad configuration, or a missing nft.
func RunLBBench(ctx context.Context, cfg LBBenchConfig) ([]LBBenchResult, error) {
	if os.Geteuid() != 0 {
		return nil, ErrNeedRoot
	}
	if err := cfg.normalize(runtime.NumCPU()); err != nil {
		return nil, err
	}
	if slices.Contains(cfg.Paths, PathBridgeDNAT) {
		if _, err := exec.LookPath("nft"); err != nil {
			return nil, ErrNoNft
		}
	}
	var out []LBBenchResult
	for _, p := range cfg.Paths {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		cfg.Log("%s: setting up", p)
		out = append(out, runLBPath(ctx, &cfg, p))
	}
	return out, ctx.Err()
}

// lbTopo is a service run's topology: the client's and the backends'
// namespaces (and, on the kernel path, the router's), named after the
// run; t.close removes them, and with them every link.
type lbTopo struct {
	t        *topo
	cli      endpoint
	backends []endpoint
	rt       endpoint
}

// newLBTopo makes the client's and the backends' namespaces, empty but
// for their loopback.
func newLBTopo(id string) (lt *lbTopo, err error) {
	lt = &lbTopo{t: &topo{id: id}, backends: make([]endpoint, len(LBBackends))}
	defer func() {
		if err != nil {
			err = errors.Join(err, lt.t.close())
		}
	}()
	if err := lt.t.addNamespace(&lt.cli, "cli", "c", net.ParseIP(LBClient).To4()); err != nil {
		return lt, err
	}
	for i := range lt.backends {
		if err := lt.t.addNamespace(&lt.backends[i], fmt.Sprintf("be%d", i), fmt.Sprintf("b%d", i), net.ParseIP(LBBackends[i]).To4()); err != nil {
			return lt, err
		}
	}
	return lt, nil
}

// runLBPath sets up one path, checks the VIP answers, makes short
// connections for the window, then runs the bulk streams.
func runLBPath(ctx context.Context, cfg *LBBenchConfig, path string) (res LBBenchResult) {
	res.Path = path
	var errs []error
	defer func() {
		if err := errors.Join(errs...); err != nil {
			res.Err = err.Error()
			cfg.Log("%s: %v", path, err)
		}
	}()
	lt, err := newLBTopo(newRunID())
	if err != nil {
		errs = append(errs, err)
		return res
	}
	defer func() {
		if err := lt.t.close(); err != nil {
			errs = append(errs, err)
		}
	}()
	closeSw := func() error { return nil }
	switch path {
	case PathBridgeDNAT:
		res.Balancer = "nft dnat jhash + kernel conntrack, routed"
		err = lt.kernelRouter(ctx)
	case PathTapSvc:
		res.Balancer = "vecswitch service (maglev + conntrack), routed"
		closeSw, err = lt.startVecswitchSvc(cfg.CPUSwitch)
	}
	if err != nil {
		errs = append(errs, err)
		return res
	}
	defer func() {
		if err := closeSw(); err != nil {
			errs = append(errs, err)
		}
	}()
	if err := setSysctlIn(lt.cli.ns, "net/ipv4/ip_local_port_range", "1024 65000"); err != nil {
		errs = append(errs, err)
		return res
	}
	var srv []*lbServer
	defer func() {
		for _, s := range srv {
			if err := s.stop(); err != nil {
				errs = append(errs, err)
			}
		}
	}()
	for i := range lt.backends {
		s, err := startLBServer(lt.backends[i].ns, netip.MustParseAddr(LBBackends[i]), cfg.Conns, !cfg.NoBulk, cfg.CPUGen)
		if err != nil {
			errs = append(errs, err)
			return res
		}
		srv = append(srv, s)
	}
	vip := netip.MustParseAddr(LBVIP).As4()
	connSA := unix.SockaddrInet4{Port: LBConnPort, Addr: vip}
	// Connections before the window, until every backend took one
	// (each with its own source port, so the hash differs): ARP on both
	// sides of the router is resolved before it.
	for try := 0; ; try++ {
		var perr error
		if oerr := onThreadIn(lt.cli.ns, func() error { perr = connOnceTo(connSA, connIOTimeout); return nil }); oerr != nil {
			perr = oerr
		}
		if perr != nil {
			errs = append(errs, fmt.Errorf("perf: connection to the VIP %s:%d: %w", LBVIP, LBConnPort, perr))
			return res
		}
		all := true
		for _, s := range srv {
			all = all && s.conns.Load() > 0
		}
		if all {
			break
		}
		if try == 100 {
			errs = append(errs, fmt.Errorf("perf: 100 connections to the VIP %s:%d did not reach all %d backends", LBVIP, LBConnPort, len(srv)))
			return res
		}
	}
	counts := func() []uint64 {
		out := make([]uint64, len(srv))
		for i, s := range srv {
			out[i] = s.conns.Load()
		}
		return out
	}
	c0 := counts()
	before, err := readProcStat()
	if err != nil {
		errs = append(errs, err)
		return res
	}
	res.Conn, err = runConnsTo(ctx, lt.cli.ns, connSA, cfg.Conns, cfg.CPUGen, cfg.ConnWindow)
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
	for i, n := range counts() {
		res.ConnSpread = append(res.ConnSpread, n-c0[i])
	}
	cfg.Log("%s: %.0f connections/s (%d ok, %d failed), %.2f CPUs busy (%.1f µs per connection), per backend %v",
		path, c.PerSec, c.OK, c.Failed, c.HostCPU, c.CPUPerConn, res.ConnSpread)
	if cfg.NoBulk {
		return res
	}
	bulkSA := unix.SockaddrInet4{Port: LBBulkPort, Addr: vip}
	for _, n := range cfg.Streams {
		br, err := runBulk(ctx, lt.cli.ns, bulkSA, srv, n, cfg.CPUGen, cfg.Warmup, cfg.Duration)
		if err != nil {
			br.Err = err.Error()
			cfg.Log("%s, %d streams: %v", path, n, err)
		} else {
			cfg.Log("%s, %d streams: %.2f Gbit/s, %d retransmits, %.2f CPUs busy (%.3f per Gbit/s), per backend %v",
				path, n, br.Gbps, br.Retransmits, br.HostCPU, br.CPUPerGbps, br.Spread)
		}
		res.Bulk = append(res.Bulk, br)
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			return res
		}
	}
	return res
}

// kernelRouter is the Linux path: a router namespace with two Linux
// bridges, the clients' (LBClientGW/24) and the backends'
// (LBBackendGW/24), forwarding between them, each namespace on its
// bridge by a veth with a default route through the router; the VIP's
// DNAT (NftLBRuleset) in a table of the run's own name in the router
// namespace, deleted first at close. Both directions of every flow are
// routed through the router's netfilter hooks, so conntrack sees and
// un-NATs the replies with no br_netfilter.
func (lt *lbTopo) kernelRouter(ctx context.Context) error {
	t := lt.t
	rt := &lt.rt
	if err := t.addNamespace(rt, "rt", "r", nil); err != nil {
		return err
	}
	if err := setSysctlIn(rt.ns, "net/ipv4/ip_forward", "1"); err != nil {
		return err
	}
	bridge := func(suffix, gw string) (int, error) {
		name := "vsb" + t.id + suffix
		if err := rt.nl.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, TxQLen: -1}}); err != nil {
			return 0, fmt.Errorf("perf: create bridge %s in %s: %w", name, rt.nsName, err)
		}
		bl, err := rt.nl.LinkByName(name)
		if err != nil {
			return 0, fmt.Errorf("perf: bridge %s: %w", name, err)
		}
		if err := rt.nl.AddrAdd(bl, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(gw), Mask: net.CIDRMask(24, 32)}}); err != nil {
			return 0, fmt.Errorf("perf: address %s on %s: %w", gw, name, err)
		}
		if err := rt.nl.LinkSetUp(bl); err != nil {
			return 0, fmt.Errorf("perf: %s up: %w", name, err)
		}
		return bl.Attrs().Index, nil
	}
	cbr, err := bridge("bc", LBClientGW)
	if err != nil {
		return err
	}
	bbr, err := bridge("bb", LBBackendGW)
	if err != nil {
		return err
	}
	attach := func(e *endpoint, brIx int, gw string) error {
		la := netlink.NewLinkAttrs()
		la.Name, la.NumTxQueues, la.NumRxQueues = e.host, 1, 1
		la.Namespace = netlink.NsFd(int(rt.ns))
		v := &netlink.Veth{LinkAttrs: la, PeerName: innerIfname, PeerNamespace: netlink.NsFd(int(e.ns)),
			PeerNumTxQueues: 1, PeerNumRxQueues: 1, PeerTxQLen: -1}
		if err := netlink.LinkAdd(v); err != nil {
			return fmt.Errorf("perf: create veth %s: %w", e.host, err)
		}
		hl, err := rt.nl.LinkByName(e.host)
		if err != nil {
			return fmt.Errorf("perf: veth %s in %s: %w", e.host, rt.nsName, err)
		}
		if err := rt.nl.LinkSetMasterByIndex(hl, brIx); err != nil {
			return fmt.Errorf("perf: enslave %s: %w", e.host, err)
		}
		if err := rt.nl.LinkSetUp(hl); err != nil {
			return fmt.Errorf("perf: %s up: %w", e.host, err)
		}
		in, err := e.nl.LinkByName(innerIfname)
		if err != nil {
			return fmt.Errorf("perf: %s in %s: %w", innerIfname, e.nsName, err)
		}
		if err := e.nl.AddrAdd(in, &netlink.Addr{IPNet: &net.IPNet{IP: e.ip, Mask: net.CIDRMask(24, 32)}}); err != nil {
			return fmt.Errorf("perf: address %s in %s: %w", e.ip, e.nsName, err)
		}
		if err := e.nl.LinkSetUp(in); err != nil {
			return fmt.Errorf("perf: %s up in %s: %w", innerIfname, e.nsName, err)
		}
		if err := e.nl.RouteAdd(&netlink.Route{LinkIndex: in.Attrs().Index, Gw: net.ParseIP(gw)}); err != nil {
			return fmt.Errorf("perf: default route via %s in %s: %w", gw, e.nsName, err)
		}
		return nil
	}
	if err := attach(&lt.cli, cbr, LBClientGW); err != nil {
		return err
	}
	for i := range lt.backends {
		if err := attach(&lt.backends[i], bbr, LBBackendGW); err != nil {
			return err
		}
	}
	name := "vsblb" + t.id
	var bes []netip.Addr
	for _, b := range LBBackends {
		bes = append(bes, netip.MustParseAddr(b))
	}
	rs, err := NftLBRuleset(name, netip.MustParseAddr(LBVIP), []uint16{LBConnPort, LBBulkPort}, bes)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", rt.nsName, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rs)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("perf: nft -f: %w: %s", err, firstLines(string(out), 3))
	}
	t.undo = append(t.undo, func() error {
		out, err := exec.Command("ip", "netns", "exec", rt.nsName, "nft", "delete", "table", "ip", name).CombinedOutput()
		if err != nil {
			return fmt.Errorf("perf: nft delete table ip %s: %w: %s", name, err, out)
		}
		return nil
	})
	return nil
}

// Vecswitch's side of the service suite: bridge "cli" with the client's
// port and router interface "rc" (LBClientGW/24), bridge "be" with the
// backends' ports and "rb" (LBBackendGW/24), and the VIP's two ports as
// services over the three backends.
func lbSwitchConfig() vswitch.Config {
	be := vswitch.Bridge{Name: "be"}
	var backends []vswitch.ServiceBackend
	for i, b := range LBBackends {
		be.Ports = append(be.Ports, vswitch.Port{Name: fmt.Sprintf("be%d", i)})
		backends = append(backends, vswitch.ServiceBackend{Addr: b})
	}
	return vswitch.Config{
		Bridges: []vswitch.Bridge{{Name: "cli", Ports: []vswitch.Port{{Name: "cli"}}}, be},
		Interfaces: []vswitch.Interface{
			{Name: "rc", Bridge: "cli", Addrs: []string{LBClientGW + "/24"}},
			{Name: "rb", Bridge: "be", Addrs: []string{LBBackendGW + "/24"}},
		},
		NAT: &vswitch.NAT{Services: []vswitch.Service{
			{Name: "conn", Proto: "tcp", VIP: LBVIP, Port: LBConnPort, Backends: backends},
			{Name: "bulk", Proto: "tcp", VIP: LBVIP, Port: LBBulkPort, Backends: slices.Clone(backends)},
		}},
	}
}

// startVecswitchSvc runs a switch with one worker pinned to cpu whose
// ports are offload taps (as startVecswitchTap), one in each namespace
// as eth0 with the namespace's address and a default route through the
// switch's router interface, configured with lbSwitchConfig.
func (lt *lbTopo) startVecswitchSvc(cpu int) (closeAll func() error, err error) {
	sw, err := vswitch.New(vswitch.Options{Workers: 1, CPUs: []int{cpu}, PoolFrames: e2ePool})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, sw.Close())
		}
	}()
	add := func(name string, e *endpoint, gw string, k int) error {
		ip, _ := netip.AddrFromSlice(e.ip.To4())
		port, err := tap.New(tap.Config{
			Name: name, Ifname: innerIfname, Netns: e.nsPath(), Offload: true,
			MAC:      net.HardwareAddr{0x02, 0x76, 0x73, 0x6c, 0x62, byte(1 + k)},
			Addrs:    []netip.Prefix{netip.PrefixFrom(ip, 24)},
			Gateways: []netip.Addr{netip.MustParseAddr(gw)},
		})
		if err != nil {
			return fmt.Errorf("perf: tap in %s: %w", e.nsName, err)
		}
		if err := sw.AddPort(port); err != nil {
			return errors.Join(err, port.Close())
		}
		return nil
	}
	if err := add("cli", &lt.cli, LBClientGW, 0); err != nil {
		return nil, err
	}
	for i := range lt.backends {
		if err := add(fmt.Sprintf("be%d", i), &lt.backends[i], LBBackendGW, 1+i); err != nil {
			return nil, err
		}
	}
	if err := sw.Reconfigure(lbSwitchConfig()); err != nil {
		return nil, err
	}
	if err := sw.Start(); err != nil {
		return nil, err
	}
	return sw.Close, nil
}

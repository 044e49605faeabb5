package perf

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"

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
	return runPaths(ctx, &cfg, func(p string) []LBBenchResult { return []LBBenchResult{runLBPath(ctx, &cfg, p)} })
}

func (c *LBBenchConfig) plan() ([]string, func(string, ...any)) { return c.Paths, c.Log }

// needs: nft for PathBridgeDNAT.
func (c *LBBenchConfig) needs() []command {
	if slices.Contains(c.Paths, PathBridgeDNAT) {
		return []command{cmdNft}
	}
	return nil
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
	defer closeOnError(&err, lt.t.close)
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
	var errs pathErrs
	defer errs.record(&res.Err, cfg.Log, path)
	lt, err := newLBTopo(newRunID())
	if err != nil {
		errs = append(errs, err)
		return res
	}
	defer errs.closing(lt.t.close)
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
	defer errs.closing(closeSw)
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
		if perr := probeConn(lt.cli.ns, connSA, connIOTimeout); perr != nil {
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
	res.Conn, err = measureConns(ctx, lt.cli.ns, connSA, cfg.Conns, cfg.CPUGen, cfg.ConnWindow)
	if err != nil {
		errs = append(errs, err)
		return res
	}
	c := res.Conn
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
	bridge := func(suffix, gw string) (netlink.Link, error) {
		bl, err := addBridgeIn(rt, "vsb"+t.id+suffix)
		if err != nil {
			return nil, err
		}
		name := bl.Attrs().Name
		if err := rt.nl.AddrAdd(bl, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(gw), Mask: net.CIDRMask(24, 32)}}); err != nil {
			return nil, fmt.Errorf("perf: address %s on %s: %w", gw, name, err)
		}
		if err := rt.nl.LinkSetUp(bl); err != nil {
			return nil, fmt.Errorf("perf: %s up: %w", name, err)
		}
		return bl, nil
	}
	cbr, err := bridge("bc", LBClientGW)
	if err != nil {
		return err
	}
	bbr, err := bridge("bb", LBBackendGW)
	if err != nil {
		return err
	}
	// Each namespace on its bridge, with a default route via the router.
	attach := func(e *endpoint, bl netlink.Link, gw string) error {
		if err := attachVethIn(rt, bl, e); err != nil {
			return err
		}
		if err := e.nl.RouteAdd(&netlink.Route{LinkIndex: e.inIx, Gw: net.ParseIP(gw)}); err != nil {
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
	return t.loadNftTable(ctx, rt, "ip", name, rs)
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
	sw, err := newE2ESwitch(cpu)
	if err != nil {
		return nil, err
	}
	defer closeOnError(&err, sw.Close)
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
		return addPort(sw, port)
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

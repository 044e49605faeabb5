package main_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// startEtcdIn runs a single-member embedded etcd whose sockets live in
// namespace ns, listening on addr (an address of ns), for the test.
func startEtcdIn(t *testing.T, ns *nettest.NS, addr string) string {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "test"
	cfg.Dir = t.TempDir()
	cu := url.URL{Scheme: "http", Host: addr + ":0"}
	pu := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.UnsafeNoFsync = true
	var e *embed.Etcd
	require.NoError(t, netdev.Do(ns.Path(), func() error {
		var err error
		e, err = embed.StartEtcd(cfg) // its listeners are made here, in ns
		return err
	}))
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(15 * time.Second):
		t.Fatal("etcd did not become ready")
	}
	return "http://" + e.Clients[0].Addr().String()
}

// vethBetween joins two namespaces with a veth pair (up, addresses given)
// that no switch uses: the hosts' management network.
func vethBetween(t *testing.T, a, b *nettest.NS, addrA, addrB string) (string, string) {
	t.Helper()
	sfx := nettest.Suffix()
	na, nb := "xa"+sfx, "xb"+sfx
	la := netlink.NewLinkAttrs()
	la.Name = na
	require.NoError(t, netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: nb}))
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(na); err == nil {
			netlink.LinkDel(l)
		}
	})
	for _, x := range []struct {
		name, addr string
		ns         *nettest.NS
	}{{na, addrA, a}, {nb, addrB, b}} {
		l, err := netlink.LinkByName(x.name)
		require.NoError(t, err)
		require.NoError(t, netlink.LinkSetNsFd(l, int(x.ns.Handle)))
		nh := x.ns.Netlink(t)
		l, err = nh.LinkByName(x.name)
		require.NoError(t, err)
		if x.addr != "" {
			ad, err := netlink.ParseAddr(x.addr)
			require.NoError(t, err)
			require.NoError(t, nh.AddrAdd(l, ad))
		}
		require.NoError(t, nh.LinkSetUp(l))
		if lo, err := nh.LinkByName("lo"); err == nil {
			nh.LinkSetUp(lo)
		}
	}
	return na, nb
}

// TestOverlayWithEtcd: two vswitchd hosts share their VXLAN endpoints
// through etcd, with no remote VTEP configured: each learns the other's
// VTEP and MACs from etcd. An endpoint that moves from host A to host B,
// keeping its IP and MAC, is reachable again from host A within 1 s.
func TestOverlayWithEtcd(t *testing.T) {
	build(t)
	hostA, hostB := nettest.NewNS(t), nettest.NewNS(t)
	vethBetween(t, hostA, hostB, "10.251.0.1/24", "10.251.0.2/24") // management: etcd
	ua, ub := vethBetween(t, hostA, hostB, "", "")                 // underlay: the switches' uplinks
	etcdURL := startEtcdIn(t, hostA, "10.251.0.1")

	type host struct {
		d      *daemon
		ns     *nettest.NS
		uplink string
		addr   string
		c      *nettest.NS
	}
	hosts := []*host{{ns: hostA, uplink: ua, addr: "192.168.89.1"}, {ns: hostB, uplink: ub, addr: "192.168.89.2"}}
	sfx := nettest.Suffix()
	for i, h := range hosts {
		h.d = newDaemonIn(t, h.ns.Name, "--etcd", etcdURL)
		h.c = nettest.NewNS(t)
		h.d.must("add-br", "under")
		h.d.must("add-port", "under", "uplink", "type=afxdp", "dev="+h.uplink)
		h.d.must("rif/add", "up", "bridge=under", "addr="+h.addr+"/24")
		h.d.must("vtep/set", h.addr)
		h.d.must("add-br", "ov")
		h.d.must("vni/add", "ov", "300") // no remotes: etcd tells them
		h.d.must("add-port", "ov", "c"+sfx[:5]+string(rune('a'+i)), "type=veth", "netns="+h.c.Path(), "ip=10.230.0."+[]string{"1", "2"}[i]+"/24")
	}
	a, b := hosts[0], hosts[1]
	require.Eventually(t, func() bool { return ping(a.c, "10.230.0.2") == nil }, 15*time.Second, 200*time.Millisecond,
		"hosts find each other through etcd")
	require.Contains(t, a.d.must("vni/show"), "300")

	// The endpoint: IP 10.230.0.9, MAC 02:00:00:00:e9:09, first on host A.
	e := nettest.NewNS(t)
	const eMAC = "02:00:00:00:e9:09"
	ep := "e" + sfx[:5]
	a.d.must("add-port", "ov", ep, "type=veth", "netns="+e.Path(), "ip=10.230.0.9/24", "mac="+eMAC)
	require.Eventually(t, func() bool { return ping(b.c, "10.230.0.9") == nil }, 10*time.Second, 200*time.Millisecond)
	require.Eventually(t, func() bool { return strings.Contains(b.d.must("fdb/show", "ov"), eMAC) },
		5*time.Second, 100*time.Millisecond)

	// Move it to host B, same IP and MAC, under a ping from host A's
	// container every 20 ms that prints when each reply arrived (-D): the
	// time to reachable is the first reply after the move, not the start-up
	// of a ping process per attempt (tens of ms each on a loaded VM).
	pinger := a.c.Command("ping", "-D", "-i", "0.02", "10.230.0.9")
	var pingOut syncBuilder
	pinger.Stdout = &pingOut
	require.NoError(t, pinger.Start())
	defer func() { pinger.Process.Kill(); pinger.Wait() }()
	require.Eventually(t, func() bool { return !firstReplyAfter(pingOut.String(), time.Time{}).IsZero() },
		5*time.Second, 10*time.Millisecond, "the endpoint answers before the move")
	a.d.must("del-port", ep)
	b.d.must("add-port", "ov", ep, "type=veth", "netns="+e.Path(), "ip=10.230.0.9/24", "mac="+eMAC)
	moved := time.Now()
	var back time.Time
	require.Eventually(t, func() bool { back = firstReplyAfter(pingOut.String(), moved); return !back.IsZero() },
		5*time.Second, 10*time.Millisecond, "the moved endpoint is not reachable")
	took := back.Sub(moved)
	t.Logf("moved endpoint reachable from host A after %v", took)
	require.Less(t, took, time.Second, "reachable again within 1 s")
	require.Eventually(t, func() bool {
		fdb := a.d.must("fdb/show", "ov")
		for _, l := range strings.Split(fdb, "\n") {
			if strings.Contains(l, eMAC) {
				return strings.Contains(l, "vtep 192.168.89.2")
			}
		}
		return false
	}, 3*time.Second, 100*time.Millisecond, "host A has the MAC behind host B's VTEP")
}

// ping1 sends one echo with a short wait.
func ping1(ns *nettest.NS, to string) error {
	return ns.Command("ping", "-c", "1", "-W", "0.2", to).Run()
}

// firstReplyAfter returns the arrival time of the first echo reply in
// the output of ping -D (lines "[seconds.micros] 64 bytes from ...")
// that arrived after t; zero if none.
func firstReplyAfter(out string, t time.Time) time.Time {
	for _, l := range strings.Split(out, "\n") {
		stamp, rest, ok := strings.Cut(strings.TrimPrefix(l, "["), "] ")
		if !ok || !strings.Contains(rest, " bytes from ") {
			continue
		}
		sec, frac, _ := strings.Cut(stamp, ".")
		s, err1 := strconv.ParseInt(sec, 10, 64)
		us, err2 := strconv.ParseInt((frac + "000000")[:6], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if at := time.Unix(s, us*1000); at.After(t) {
			return at
		}
	}
	return time.Time{}
}

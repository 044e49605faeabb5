//go:build linux

package bgp

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/internal/nettest"
)

// The tests run the Speaker in the test process, in the host namespace,
// and each "datacenter router" (BIRD 2) in a namespace of its own, joined
// to the host by a veth pair whose host end carries the only addresses the
// speaker uses: 10.179.N.1/24 and fd79:N::1/64 (N random per router); the
// router has .2 and ::2. See the package doc for why the speaker cannot
// live in a namespace itself.

const localAS = 65000

// router is one BIRD instance in its own namespace.
type router struct {
	t              testing.TB
	ns             *nettest.NS
	as             uint32
	hostV4, nsV4   netip.Addr
	hostV6, nsV6   netip.Addr
	dir, sock, log string
	cmd            *exec.Cmd
	done           chan struct{}
}

func needBIRD(t testing.TB) {
	t.Helper()
	nettest.NeedRoot(t)
	for _, b := range []string{"bird", "birdc"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("needs BIRD 2 (%s not found; Debian package bird2)", b)
		}
	}
}

// routerNets holds the N of every router alive in this process: two
// routers of one test that drew the same N gave two veths the same host
// address, and the speaker then failed to bind its second listener
// ("address already in use", seen once in CI in TestBIRDMultipathVRF).
var routerNets struct {
	sync.Mutex
	inUse [256]bool
}

// takeRouterNet picks a random free N in 2..251 for a router and frees it
// when the test ends. An N whose host address some other process already
// has (a test of another package, a leftover) is skipped too.
func takeRouterNet(t testing.TB) int {
	t.Helper()
	routerNets.Lock()
	defer routerNets.Unlock()
	var b [1]byte
	rand.Read(b[:])
	for i := range 250 {
		n := (int(b[0])+i)%250 + 2
		if routerNets.inUse[n] || hostHasAddr(netip.AddrFrom4([4]byte{10, 179, byte(n), 1})) {
			continue
		}
		routerNets.inUse[n] = true
		t.Cleanup(func() {
			routerNets.Lock()
			routerNets.inUse[n] = false
			routerNets.Unlock()
		})
		return n
	}
	t.Fatal("no free 10.179.N.0/24 for a router")
	return 0
}

// hostHasAddr reports whether a link of the host namespace has a.
func hostHasAddr(a netip.Addr) bool {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, x := range addrs {
		if ip, ok := netip.AddrFromSlice(x.IP); ok && ip.Unmap() == a {
			return true
		}
	}
	return false
}

// newRouter makes the namespace and the veth; BIRD is started by start.
func newRouter(t testing.TB, as uint32) *router {
	t.Helper()
	n := takeRouterNet(t)
	r := &router{t: t, as: as, ns: nettest.NewNS(t), dir: t.TempDir()}
	r.hostV4 = netip.AddrFrom4([4]byte{10, 179, byte(n), 1})
	r.nsV4 = netip.AddrFrom4([4]byte{10, 179, byte(n), 2})
	r.hostV6 = netip.MustParseAddr(fmt.Sprintf("fd79:%x::1", n))
	r.nsV6 = netip.MustParseAddr(fmt.Sprintf("fd79:%x::2", n))
	host := "vbg" + nettest.Suffix()
	nettest.Veth(t, host, r.ns, r.nsV4.String()+"/24", 1)
	hl, err := netlink.LinkByName(host)
	require.NoError(t, err)
	addAddr := func(h *netlink.Handle, l netlink.Link, a netip.Addr, bits int) {
		na := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, a.BitLen())}}
		if a.Is6() {
			na.Flags = syscall.IFA_F_NODAD
		}
		if h == nil {
			require.NoError(t, netlink.AddrAdd(l, na))
		} else {
			require.NoError(t, h.AddrAdd(l, na))
		}
	}
	addAddr(nil, hl, r.hostV4, 24)
	addAddr(nil, hl, r.hostV6, 64)
	nh := r.ns.Netlink(t)
	pl, err := nh.LinkByName("eth0")
	require.NoError(t, err)
	addAddr(nh, pl, r.nsV6, 64)
	r.sock = filepath.Join(r.dir, "bird.ctl")
	r.log = filepath.Join(r.dir, "bird.log")
	return r
}

// birdOpts shape the generated bird.conf.
type birdOpts struct {
	v4, v6      []string // static routes exported (blackhole)
	extra4      []string // in protocol "extra" (enabled), to withdraw later
	bulk4       []string // in protocol "bulk", disabled until enabled
	gr          bool     // graceful restart on, restart time grTime
	grTime      int
	noV6Session bool
	password    string
	// active: BIRD connects too. By default it only listens ("passive
	// on"), so that the two sides never connect at once and each test
	// sees one connection. Both connecting once gave -race a data race in
	// GoBGP 4.8.0 (fsm.twoByteAsTrans, written by the session while the
	// other connection's goroutines read it; TestBIRDKilled), which
	// third_party/gobgp now fixes; TestBIRDBothDial has both dial.
	active bool
}

func (r *router) config(o birdOpts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "router id %s;\nlog %q all;\nprotocol device {}\n", r.nsV4, r.log)
	static := func(name, af string, routes []string, disabled bool) {
		if len(routes) == 0 {
			return
		}
		fmt.Fprintf(&b, "protocol static %s {\n\t%s;\n", name, af)
		if disabled {
			b.WriteString("\tdisabled;\n")
		}
		for _, p := range routes {
			fmt.Fprintf(&b, "\troute %s blackhole;\n", p)
		}
		b.WriteString("}\n")
	}
	static("s4", "ipv4", o.v4, false)
	static("s6", "ipv6", o.v6, false)
	static("extra", "ipv4", o.extra4, false)
	static("bulk", "ipv4", o.bulk4, true)
	gr := "graceful restart off;"
	if !o.active {
		gr += " passive on;"
	}
	if o.password != "" {
		gr += fmt.Sprintf(" password %q;", o.password)
	}
	if o.gr {
		gr = strings.Replace(gr, "graceful restart off;", fmt.Sprintf("graceful restart on; graceful restart time %d;", o.grTime), 1)
	}
	session := func(name, af string, local, peer netip.Addr) {
		fmt.Fprintf(&b, `protocol bgp %s {
	local %s as %d;
	neighbor %s as %d;
	hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 2;
	%s
	%s { import all; export all; };
}
`, name, local, r.as, peer, localAS, gr, af)
	}
	session("up4", "ipv4", r.nsV4, r.hostV4)
	if !o.noV6Session {
		session("up6", "ipv6", r.nsV6, r.hostV6)
	}
	return b.String()
}

// start writes bird.conf and runs BIRD in the namespace, in the
// foreground, until kill (or the test's cleanup) stops it by PID.
func (r *router) start(o birdOpts) {
	t := r.t
	t.Helper()
	conf := filepath.Join(r.dir, "bird.conf")
	require.NoError(t, os.WriteFile(conf, []byte(r.config(o)), 0o600))
	os.Remove(r.sock)
	cmd := r.ns.Command("bird", "-f", "-c", conf, "-s", r.sock)
	out, err := os.Create(filepath.Join(r.dir, "bird.out"))
	require.NoError(t, err)
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	r.cmd, r.done = cmd, make(chan struct{})
	done := r.done
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { r.kill() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := r.birdc("show status"); err == nil {
			return
		}
		select {
		case <-done:
			b, _ := os.ReadFile(filepath.Join(r.dir, "bird.out"))
			t.Fatalf("bird exited: %s", b)
		default:
		}
		require.True(t, time.Now().Before(deadline), "bird control socket never came up")
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL to BIRD (by PID) and reaps it; idempotent.
func (r *router) kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGCONT)
	r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

func (r *router) signal(sig syscall.Signal) {
	require.NoError(r.t, r.cmd.Process.Signal(sig))
}

func (r *router) birdc(args ...string) (string, error) {
	out, err := r.ns.Command(append([]string{"birdc", "-s", r.sock}, args...)...).CombinedOutput()
	return string(out), err
}

// routes returns the prefixes BIRD has in its tables that it learned from
// our speaker (protocol up4 or up6).
func (r *router) learned() []string {
	out, err := r.birdc("show", "route", "all")
	require.NoError(r.t, err, out)
	var got []string
	var cur string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if strings.Contains(f[0], "/") {
			cur = f[0]
		}
		if strings.Contains(line, "[up4 ") || strings.Contains(line, "[up6 ") {
			got = append(got, cur)
		}
	}
	slices.Sort(got)
	return slices.Compact(got)
}

// recorder collects RouteEvents: the current FIB view and the history.
type recorder struct {
	mu     sync.Mutex
	fib    map[routeKey][]netip.Addr
	events []RouteEvent
	at     map[routeKey]time.Time // when the key last changed
}

func newRecorder() *recorder {
	return &recorder{fib: make(map[routeKey][]netip.Addr), at: make(map[routeKey]time.Time)}
}

func (rec *recorder) onRoutes(evs []RouteEvent) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	now := time.Now()
	for _, ev := range evs {
		k := routeKey{ev.VRF, ev.Prefix}
		if ev.Withdrawn {
			delete(rec.fib, k)
		} else {
			rec.fib[k] = slices.Clone(ev.NextHops)
		}
		rec.at[k] = now
		ev.NextHops = slices.Clone(ev.NextHops)
		rec.events = append(rec.events, ev)
	}
}

func (rec *recorder) get(vrf, pfx string) []netip.Addr {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.fib[routeKey{vrf, netip.MustParsePrefix(pfx)}]
}

func (rec *recorder) changedAt(vrf, pfx string) time.Time {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.at[routeKey{vrf, netip.MustParsePrefix(pfx)}]
}

func (rec *recorder) size() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.fib)
}

// waitRoute waits until (vrf, pfx) has exactly nexthops (none: absent).
func (rec *recorder) waitRoute(t testing.TB, vrf, pfx string, timeout time.Duration, nexthops ...netip.Addr) {
	t.Helper()
	slices.SortFunc(nexthops, func(a, b netip.Addr) int { return a.Compare(b) })
	require.Eventually(t, func() bool { return slices.Equal(rec.get(vrf, pfx), nexthops) }, timeout, 20*time.Millisecond,
		"route %q %s: want next hops %v, have %v", vrf, pfx, nexthops, rec.get(vrf, pfx))
}

func startSpeaker(t testing.TB, rec *recorder, gr GracefulRestart, listen ...netip.Addr) *Speaker {
	t.Helper()
	cfg := Config{AS: localAS, RouterID: netip.MustParseAddr("10.179.0.1"), GracefulRestart: gr, OnRoutes: rec.onRoutes}
	if len(listen) > 0 {
		cfg.ListenPort, cfg.ListenAddrs = 179, listen
	}
	s, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	return s
}

func (r *router) peers(s *Speaker, maxPrefixes int) {
	r.t.Helper()
	require.NoError(r.t, s.AddPeer(Peer{Addr: r.nsV4, AS: r.as, HoldTime: 3 * time.Second, MaxPrefixes: maxPrefixes}))
	require.NoError(r.t, s.AddPeer(Peer{Addr: r.nsV6, AS: r.as, HoldTime: 3 * time.Second, MaxPrefixes: maxPrefixes}))
}

func peerInfo(t testing.TB, s *Speaker, addr netip.Addr) PeerInfo {
	t.Helper()
	ps, err := s.Peers()
	require.NoError(t, err)
	for _, p := range ps {
		if p.Addr == addr {
			return p
		}
	}
	t.Fatalf("peer %s not listed", addr)
	return PeerInfo{}
}

func waitState(t testing.TB, s *Speaker, addr netip.Addr, st SessionState, timeout time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return peerInfo(t, s, addr).State == st }, timeout, 50*time.Millisecond,
		"peer %s: want %s, have %+v", addr, st, peerInfo(t, s, addr))
}

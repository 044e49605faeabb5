package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/sriov/sriovtest"
)

// The end-to-end tests build vswitchd and vsctl, run the daemon with a
// private socket and state directory, and drive it only through vsctl (or,
// for malformed requests, the raw socket).

var bins struct {
	once           sync.Once
	dir            string
	daemon, client string
	cni            string // vecswitch-cni
	err            error
}

func build(t *testing.T) {
	t.Helper()
	nettest.NeedRoot(t)
	bins.once.Do(func() {
		bins.dir, bins.err = os.MkdirTemp("", "vse2e-")
		if bins.err != nil {
			return
		}
		os.Chmod(bins.dir, 0o755)
		bins.daemon = filepath.Join(bins.dir, "vswitchd")
		bins.client = filepath.Join(bins.dir, "vsctl")
		bins.cni = filepath.Join(bins.dir, "vecswitch-cni")
		for path, pkg := range map[string]string{bins.daemon: ".", bins.client: "../vsctl", bins.cni: "../vecswitch-cni"} {
			out, err := exec.Command("go", "build", "-o", path, pkg).CombinedOutput()
			if err != nil {
				bins.err = fmt.Errorf("go build %s: %v: %s", pkg, err, out)
				return
			}
		}
	})
	require.NoError(t, bins.err)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// daemon is one vswitchd under test.
type daemon struct {
	t      *testing.T
	dir    string
	socket string
	args   []string
	cmd    *exec.Cmd
	log    *os.File
	netns  string // run the daemon inside this named namespace ("" none)
}

func newDaemon(t *testing.T, args ...string) *daemon { return newDaemonIn(t, "", args...) }

// newDaemonIn runs vswitchd inside network namespace netns (a host of its
// own), or in the test's namespace when netns is "".
func newDaemonIn(t *testing.T, netns string, args ...string) *daemon {
	build(t)
	dir := t.TempDir()
	d := &daemon{t: t, dir: dir, socket: filepath.Join(dir, "vswitchd.sock"), args: args, netns: netns}
	d.start()
	t.Cleanup(func() {
		// Remove the ports (and the veths they made), then stop.
		var ports []string
		var show ctl.ShowView
		if d.vsctlJSON(&show, "show") == nil {
			for _, b := range show.Bridges {
				for _, p := range b.Ports {
					ports = append(ports, p.Name)
				}
			}
		}
		for _, p := range ports {
			d.vsctl("del-port", p)
		}
		d.stop(syscall.SIGTERM)
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Logf("vswitchd log:\n%s", b)
		}
	})
	return d
}

func (d *daemon) start() {
	d.t.Helper()
	var err error
	d.log, err = os.OpenFile(filepath.Join(d.dir, "log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(d.t, err)
	args := append([]string{"--socket", d.socket, "--state-dir", filepath.Join(d.dir, "state")}, d.args...)
	d.cmd = exec.Command(bins.daemon, args...)
	if d.netns != "" {
		d.cmd = exec.Command("ip", append([]string{"netns", "exec", d.netns, bins.daemon}, args...)...)
	}
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	require.NoError(d.t, d.cmd.Start())
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := d.vsctl("version"); err == nil {
			return
		}
		require.True(d.t, time.Now().Before(deadline), "vswitchd did not come up")
	}
}

func (d *daemon) stop(sig syscall.Signal) {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	d.cmd.Process.Signal(sig)
	d.cmd.Wait()
	d.cmd = nil
	d.log.Close()
}

func (d *daemon) vsctl(args ...string) (string, error) {
	out, err := exec.Command(bins.client, append([]string{"--socket", d.socket}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("vsctl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (d *daemon) must(args ...string) string {
	d.t.Helper()
	out, err := d.vsctl(args...)
	require.NoError(d.t, err)
	return out
}

func (d *daemon) vsctlJSON(v any, args ...string) error {
	out, err := d.vsctl(append([]string{"--json"}, args...)...)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(out), v)
}

func ping(ns *nettest.NS, to string) error {
	out, err := ns.Command("ping", "-c", "2", "-i", "0.2", "-W", "2", to).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s: %w: %s", to, err, out)
	}
	return nil
}

// TestPingRestartAndStop attaches two container namespaces with vsctl,
// pings between them, kills the daemon with SIGKILL, restarts it and pings
// again without any vsctl command.
func TestPingRestartAndStop(t *testing.T) {
	d := newDaemon(t)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	d.must("add-br", "br0")
	d.must("add-port", "br0", "ca"+nettest.Suffix(), "type=veth", "netns="+a.Path(), "ip=10.61.0.1/24")
	d.must("add-port", "br0", "cb"+nettest.Suffix(), "type=veth", "netns="+b.Path(), "ip=10.61.0.2/24")
	require.NoError(t, ping(a, "10.61.0.2"))
	show := d.must("show")
	require.Contains(t, show, "bridge br0")
	require.Contains(t, d.must("fdb/show", "br0"), "0 ")

	d.stop(syscall.SIGKILL)
	d.start()
	require.NoError(t, ping(b, "10.61.0.1"), "traffic flows again after kill -9 and restart")
	var v ctl.ShowView
	require.NoError(t, d.vsctlJSON(&v, "show"))
	require.Len(t, v.Bridges, 1)
	require.Len(t, v.Bridges[0].Ports, 2)
	for _, p := range v.Bridges[0].Ports {
		require.True(t, p.Up, "port %s restored up", p.Name)
	}
}

// TestBadRequests sends malformed, oversized and unknown requests on the
// raw socket: each gets a typed error and the daemon keeps serving.
func TestBadRequests(t *testing.T) {
	d := newDaemon(t)
	c, err := net.Dial("unix", d.socket)
	require.NoError(t, err)
	defer c.Close()
	r := bufio.NewReader(c)
	exchange := func(line string) ctl.Response {
		_, err := c.Write([]byte(line + "\n"))
		require.NoError(t, err)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := r.ReadBytes('\n')
		require.NoError(t, err)
		var resp ctl.Response
		require.NoError(t, json.Unmarshal(b, &resp))
		return resp
	}
	require.Equal(t, ctl.CodeBadRequest, exchange("{nope").Error.Code)
	require.Equal(t, ctl.CodeUnknown, exchange(`{"v":1,"cmd":"format-disk"}`).Error.Code)
	require.Equal(t, ctl.CodeUsage, exchange(`{"v":1,"cmd":"add-br"}`).Error.Code)
	require.Equal(t, ctl.CodeNotFound, exchange(`{"v":1,"cmd":"add-port","args":["nobr","y"]}`).Error.Code)
	require.Equal(t, ctl.CodeVersion, exchange(`{"v":9,"cmd":"list-br"}`).Error.Code)
	// An oversized request (root's limit is 16 MiB, for batches): the
	// daemon answers too-large and hangs up while the client may still
	// be writing.
	big, err := net.Dial("unix", d.socket)
	require.NoError(t, err)
	defer big.Close()
	go big.Write([]byte(`{"v":1,"cmd":"add-br","args":["` + strings.Repeat("x", 17<<20) + `"]}` + "\n"))
	big.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(big).ReadBytes('\n')
	require.NoError(t, err)
	var resp ctl.Response
	require.NoError(t, json.Unmarshal(line, &resp))
	require.Equal(t, ctl.CodeTooLarge, resp.Error.Code)
	// The daemon still serves.
	d.must("add-br", "br9")
	require.Contains(t, d.must("list-br"), "br9")
	d.must("add-br", "br9") // the same again: a no-op
	out, err := d.vsctl("add-br", "br9", "mac_age=5")
	require.Error(t, err)
	require.Contains(t, out, "exists")
	out, err = d.vsctl("set-port", "ghost", "vlan=5000")
	require.Error(t, err)
	require.Contains(t, out, "not-found")
}

// TestNonRootRefused runs vsctl as nobody.
func TestNonRootRefused(t *testing.T) {
	d := newDaemon(t)
	os.Chmod(filepath.Dir(d.socket), 0o755)
	cmd := exec.Command(bins.client, "--socket", d.socket, "list-br")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Equal(t, 1, cmd.ProcessState.ExitCode())
	require.Contains(t, string(out), "permission")
	fi, err := os.Stat(d.socket)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

// TestUsageAndNoDaemon checks vsctl's own errors.
func TestUsageAndNoDaemon(t *testing.T) {
	build(t)
	run := func(args ...string) (string, int) {
		cmd := exec.Command(bins.client, args...)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	out, code := run("--socket", filepath.Join(t.TempDir(), "none.sock"), "list-br")
	require.Equal(t, 3, code)
	require.Contains(t, out, "not running")
	out, code = run("add-port")
	require.Equal(t, 2, code)
	require.Contains(t, out, "usage: vsctl add-port")
	out, code = run("frobnicate")
	require.Equal(t, 2, code)
	require.Contains(t, out, "unknown command")
	out, code = run("--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "show runtime")
	out, code = run("add-port", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "type=afxdp")
}

// TestConcurrentClientsWithTraffic runs 100 vsctl clients at once while two
// namespaces ping each other through the switch.
func TestConcurrentClientsWithTraffic(t *testing.T) {
	d := newDaemon(t)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	d.must("add-br", "br0")
	d.must("add-port", "br0", "ta"+nettest.Suffix(), "type=veth", "netns="+a.Path(), "ip=10.62.0.1/24")
	d.must("add-port", "br0", "tb"+nettest.Suffix(), "type=veth", "netns="+b.Path(), "ip=10.62.0.2/24")
	require.NoError(t, ping(a, "10.62.0.2"))
	// -w, not -W: a late reply is not a lost one (see pingLossless).
	load := a.Command("ping", "-c", "400", "-i", "0.005", "-w", "20", "10.62.0.2")
	var loadOut strings.Builder
	load.Stdout = &loadOut
	require.NoError(t, load.Start())
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := fmt.Sprint("cc", i)
			for _, args := range [][]string{{"add-br", br}, {"show"}, {"list-br"}, {"show", "runtime"}, {"del-br", br}} {
				if _, err := d.vsctl(args...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.NoError(t, load.Wait(), "ping under load: %s", loadOut.String())
	require.Contains(t, loadOut.String(), " 0% packet loss")
	require.Equal(t, "br0\n", d.must("list-br"))
}

// TestCoresAndIdleCPU pins the worker to CPU 1 and measures an idle
// adaptive daemon's CPU use.
func TestCoresAndIdleCPU(t *testing.T) {
	if n, _ := os.ReadFile("/sys/fs/cgroup/cpuset.cpus.effective"); false && len(n) == 0 {
		t.Skip()
	}
	d := newDaemon(t, "--cores", "1", "--poll-mode", "adaptive")
	pid := d.cmd.Process.Pid
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	require.NoError(t, err)
	pinned := 0
	for _, task := range tasks {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		require.NoError(t, err)
		for _, line := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok && strings.TrimSpace(v) == "1" {
				pinned++
			}
		}
	}
	require.Equal(t, 1, pinned, "exactly one thread (the worker) is pinned to CPU 1")
	var w []map[string]any
	require.NoError(t, d.vsctlJSON(&w, "show-workers"))
	require.EqualValues(t, 1, w[0]["cpu"])

	cpu := func() float64 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		require.NoError(t, err)
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		return (ut + st) / 100 // clock ticks (USER_HZ) to seconds
	}
	c0, t0 := cpu(), time.Now()
	time.Sleep(10 * time.Second)
	used := (cpu() - c0) / time.Since(t0).Seconds() * 100
	t.Logf("idle adaptive vswitchd used %.2f%% of a core over 10 s", used)
	require.Less(t, used, 2.0)
}

// TestChurnDoesNotDisturbOtherPorts adds and deletes ports at least 1,000
// times (and for at least the 40 s that 4,000 echoes 10 ms apart take)
// while two other namespaces ping each other through the switch: not one
// echo sent during the churn may be lost.
func TestChurnDoesNotDisturbOtherPorts(t *testing.T) {
	d := newDaemon(t)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	d.must("add-br", "br0")
	d.must("add-port", "br0", "ua"+nettest.Suffix(), "type=veth", "netns="+a.Path(), "ip=10.63.0.1/24")
	d.must("add-port", "br0", "ub"+nettest.Suffix(), "type=veth", "netns="+b.Path(), "ip=10.63.0.2/24")
	require.NoError(t, ping(a, "10.63.0.2"))
	// Interfaces for the churned ports: host ends of veths into spare
	// namespaces, attached and detached as afxdp ports.
	var devs []string
	for i := range 4 {
		dev := fmt.Sprint("vsz", i, nettest.Suffix())
		nettest.Veth(t, dev, nettest.NewNS(t), fmt.Sprint("10.64.0.", i+1, "/24"), 1)
		devs = append(devs, dev)
	}
	c, err := ctl.Dial(d.socket, 30*time.Second)
	require.NoError(t, err)
	defer c.Close()

	// Echoes 10 ms apart for as long as the churn goes on. The churn is
	// bounded by its work, not by the ping: 4,000 echoes (the earlier
	// bound) overlapped 3,938 operations at load 10 but only 928 at load
	// 14-17 (an add-port and a del-port then took 100-300 ms), and the
	// test failed for too few. The ping is stopped (SIGINT) once the churn
	// is done and 100 more echoes were answered; an echo still in flight
	// then is counted lost by ping's summary, so the check is that every
	// echo up to the last answered one was answered: one lost during the
	// churn leaves a gap. -w bounds a hang only (50,000 echoes, under
	// icmp_seq's wrap).
	load := a.Command("ping", "-i", "0.01", "-w", "500", "10.63.0.2")
	var loadOut syncBuilder
	load.Stdout = &loadOut
	require.NoError(t, load.Start())
	pinged := make(chan error, 1)
	go func() { pinged <- load.Wait() }()
	running := true
	defer func() {
		if running {
			load.Process.Kill()
			<-pinged
		}
	}()
	ops, start := 0, time.Now()
	for ops < 1000 || time.Since(start) < 40*time.Second {
		select {
		case err := <-pinged:
			running = false
			t.Fatalf("the ping ended during the churn (%d operations): %v: %s", ops, err, loadOut.String())
		default:
		}
		dev := devs[(ops/2)%len(devs)]
		require.NoError(t, c.Call("add-port", []string{"br0", "z-" + dev, "type=afxdp", "dev=" + dev}, nil))
		require.NoError(t, c.Call("del-port", []string{"z-" + dev}, nil))
		ops += 2
	}
	churned := time.Since(start)
	_, last := replies(loadOut.String())
	require.Eventually(t, func() bool { _, l := replies(loadOut.String()); return l >= last+100 }, 60*time.Second, 10*time.Millisecond,
		"100 echoes answered after the churn")
	require.NoError(t, load.Process.Signal(os.Interrupt))
	<-pinged
	running = false
	out := loadOut.String()
	last, lost := unanswered(out)
	t.Logf("%d add/del-port operations in %v; echoes 1-%d answered but %v; ping: %s", ops, churned.Round(time.Millisecond), last, lost, lastLine(out, "packet loss"))
	require.Empty(t, lost, "echoes lost during the churn (icmp_seq)")
}

// replies returns the icmp_seq of every reply in ping's output and the
// highest one.
func replies(out string) (seqs map[int]bool, last int) {
	seqs = map[int]bool{}
	for _, l := range strings.Split(out, "\n") {
		if _, v, ok := strings.Cut(l, "icmp_seq="); ok && strings.Contains(l, " bytes from ") {
			if n, err := strconv.Atoi(strings.Fields(v)[0]); err == nil {
				seqs[n] = true
				last = max(last, n)
			}
		}
	}
	return seqs, last
}

// unanswered returns the highest icmp_seq answered in ping's output and
// the ones below it that were not: an echo lost while ping ran leaves a
// gap, where ping's summary would also count those still in flight when
// it was interrupted.
func unanswered(out string) (last int, lost []int) {
	seen, last := replies(out)
	for i := 1; i <= last; i++ {
		if !seen[i] {
			lost = append(lost, i)
		}
	}
	return last, lost
}

// syncBuilder is a strings.Builder that a command writes while the test
// reads it.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func lastLine(s, substr string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			return l
		}
	}
	return ""
}

// TestSetPortVLANAndMTU moves a port to another VLAN (it can no longer
// reach its peer), back, and changes the MTU of both ends of its veth.
func TestSetPortVLANAndMTU(t *testing.T) {
	d := newDaemon(t)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	pa, pb := "sa"+nettest.Suffix(), "sb"+nettest.Suffix()
	d.must("add-br", "br0")
	d.must("add-port", "br0", pa, "type=veth", "netns="+a.Path(), "ip=10.65.0.1/24")
	d.must("add-port", "br0", pb, "type=tap", "netns="+b.Path(), "ip=10.65.0.2/24")
	require.NoError(t, ping(a, "10.65.0.2"))
	d.must("set-port", pa, "vlan=20")
	require.Error(t, ping(a, "10.65.0.2"), "VLAN 20 and VLAN 0 are apart")
	d.must("set-port", pa, "vlan=0")
	require.NoError(t, ping(a, "10.65.0.2"))
	d.must("set-port", pa, "mtu=1400")
	d.must("set-port", pb, "mtu=1400")
	out, err := a.Command("cat", "/sys/class/net/eth0/mtu").CombinedOutput()
	require.NoError(t, err)
	require.Equal(t, "1400", strings.TrimSpace(string(out)))
	require.NoError(t, ping(a, "10.65.0.2"))
	big := a.Command("ping", "-c", "1", "-W", "2", "-M", "do", "-s", "1372", "10.65.0.2")
	outb, err := big.CombinedOutput()
	require.NoError(t, err, "a full 1400-byte packet crosses: %s", outb)
	_, err = d.vsctl("set-port", pa, "mtu=9000")
	require.Error(t, err, "AF_XDP frames cannot carry a 9000 MTU")
}

// TestSRIOVHandOff stands a veth in for a VF's netdev: a fake sysfs tree
// says VF 0 of "PF" (itself a veth end, which has no VFs in netlink) is
// bound with that netdev. vsctl sriov/show lists it; add-port type=sriov
// attaches it; traffic crosses between it and a container veth port, also
// after a takeover; and bad SR-IOV input gets clear errors.
func TestSRIOVHandOff(t *testing.T) {
	build(t)
	sys := sriovtest.NewSysfs(t)
	pf := "vsp" + nettest.Suffix()
	nettest.Veth(t, pf, nettest.NewNS(t), "10.67.9.1/24", 1) // the PF: any existing netdev
	vfNS := nettest.NewNS(t)
	vfDev := "vsf" + nettest.Suffix()
	nettest.Veth(t, vfDev, vfNS, "10.67.0.2/24", 1)
	sys.AddPF(pf, "0000:03:00.0", 4)
	sys.AddVF(pf, 0, "0000:03:00.1", vfDev)
	sys.AddVF(pf, 1, "0000:03:00.2", "")
	moveDev := "vsm" + nettest.Suffix() // VF 2's netdev, for the container hand-off
	nettest.Veth(t, moveDev, nettest.NewNS(t), "10.67.8.1/24", 1)
	sys.AddVF(pf, 2, "0000:03:00.3", moveDev)

	d := newDaemon(t, "--sysfs", sys.Root)
	var vfs []map[string]any
	require.NoError(t, d.vsctlJSON(&vfs, "sriov/show", pf))
	require.Len(t, vfs, 3)
	out := d.must("sriov/show", pf)
	require.Contains(t, out, vfDev)
	require.Contains(t, out, "0000:03:00.1")

	a := nettest.NewNS(t)
	d.must("add-br", "br0")
	d.must("add-port", "br0", "ca"+nettest.Suffix(), "type=veth", "netns="+a.Path(), "ip=10.67.0.1/24")
	d.must("add-port", "br0", "vf0", "type=sriov", "pf="+pf, "vf=0")
	require.NoError(t, ping(a, "10.67.0.2"), "traffic crosses between a container port and the VF port")
	require.NoError(t, ping(vfNS, "10.67.0.1"))
	// A takeover moves the hand-off port (an AF_XDP port on the VF's
	// netdev) too.
	d.takeover()
	require.NoError(t, ping(a, "10.67.0.2"), "traffic through the VF port after a takeover")
	require.NoError(t, ping(vfNS, "10.67.0.1"))
	require.Contains(t, d.must("show"), "vf0")

	_, err := d.vsctl("add-port", "br0", "vf1", "type=sriov", "pf="+pf, "vf=1")
	require.Error(t, err, "VF 1 is not bound to a kernel driver: no netdev")
	out, err = d.vsctl("add-port", "br0", "vf9", "type=sriov", "pf="+pf, "vf=0", "trust=maybe")
	require.Error(t, err)
	require.Contains(t, out, "trust")
	out, err = d.vsctl("sriov/show", "nosuchpf0")
	require.Error(t, err)
	require.Contains(t, out, "not-found")
	d.must("del-port", "vf0")

	// Container hand-off of VF 2: moved, renamed and addressed; still
	// recorded after kill -9; restored with its name.
	c := nettest.NewNS(t)
	d.must("sriov/move", pf, "2", "netns="+c.Path(), "ifname=eth0", "ip=10.67.5.1/24", "mtu=1400")
	out2, err := c.Command("ip", "-br", "addr", "show", "eth0").CombinedOutput()
	require.NoError(t, err, "%s", out2)
	require.Contains(t, string(out2), "10.67.5.1/24")
	_, err = os.Stat("/sys/class/net/" + moveDev)
	require.True(t, os.IsNotExist(err), "the netdev left the host namespace")
	_, err = d.vsctl("sriov/move", pf, "2", "netns="+c.Path())
	require.Error(t, err, "already moved")
	d.stop(syscall.SIGKILL)
	d.start()
	d.must("sriov/restore", pf, "2")
	mtu, err := os.ReadFile("/sys/class/net/" + moveDev + "/mtu")
	require.NoError(t, err, "back in the host under its original name")
	require.Equal(t, "1500", strings.TrimSpace(string(mtu)), "original MTU restored")
	_, err = d.vsctl("sriov/restore", pf, "2")
	require.Error(t, err, "nothing left to restore")
}

// TestMetrics scrapes /metrics after traffic and finds the port counters
// vsctl port/stats reports, and the node counters.
func TestMetrics(t *testing.T) {
	build(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	d := newDaemon(t, "--metrics-addr", addr)
	a, b := nettest.NewNS(t), nettest.NewNS(t)
	pa := "ma" + nettest.Suffix()
	d.must("add-br", "br0")
	d.must("add-port", "br0", pa, "type=veth", "io=afxdp", "netns="+a.Path(), "ip=10.68.0.1/24")
	d.must("add-port", "br0", "mb"+nettest.Suffix(), "type=veth", "io=afxdp", "netns="+b.Path(), "ip=10.68.0.2/24")
	require.NoError(t, ping(a, "10.68.0.2"))
	// Once the learner has put both MACs in the kernel's table, echoes
	// are switched there: ping until the fast path counted some.
	require.Eventually(t, func() bool { return ping(a, "10.68.0.2") == nil && fastRx(d, pa) > 0 },
		20*time.Second, time.Millisecond, "no frame switched by the fast path")
	time.Sleep(300 * time.Millisecond) // the idle worker publishes its counters

	portStats := func() ctl.PortStats {
		var stats []ctl.PortStats
		require.NoError(t, d.vsctlJSON(&stats, "port/stats", pa))
		require.Len(t, stats, 1)
		return stats[0]
	}
	before := portStats()
	require.Positive(t, before.Counters.RxPackets)
	require.NotNil(t, before.FastPath, "vswitchd loads the fast path by default")
	require.Equal(t, "on", before.FastPath.State)
	require.Positive(t, before.FastPath.Counters.RxPackets, "pings after the first ones are switched in the kernel")

	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	text := string(body)
	after := portStats()
	// The containers' own stacks may send (IPv6 ND, MLD) between the
	// reads: each metric lies between the two port/stats readings.
	between := func(name string, lo, hi uint64) {
		m := regexp.MustCompile(name + `\{port="` + pa + `"\} (\d+)`).FindStringSubmatch(text)
		require.NotNil(t, m, "%s for %s not in /metrics", name, pa)
		v, err := strconv.ParseUint(m[1], 10, 64)
		require.NoError(t, err)
		require.True(t, v >= lo && v <= hi, "%s = %d, port/stats said %d then %d", name, v, lo, hi)
	}
	between("vswitch_port_rx_packets_total", before.Counters.RxPackets, after.Counters.RxPackets)
	between("vswitch_port_tx_packets_total", before.Counters.TxPackets, after.Counters.TxPackets)
	between("vswitch_fastpath_rx_packets_total", before.FastPath.Counters.RxPackets, after.FastPath.Counters.RxPackets)
	require.Contains(t, text, `vswitch_fastpath_entries 2`)
	require.Regexp(t, `vswitch_fastpath_entry_packets_total\{bridge="br0",direction="from",mac="[0-9a-f:]{17}",vlan="0"\} [1-9]`, text)
	require.Regexp(t, `vswitch_fastpath_misses_total\{port="`+pa+`",reason="group-dst"\} [1-9]`, text)
	require.Contains(t, text, `vswitch_node_packets_total{node="l2-fwd"}`)
	require.Contains(t, text, `vswitch_worker_busy_ratio{cpu="-1",worker="0"}`)
	require.Regexp(t, `vswitch_port_up\{bridge="br0",port="`+pa+`"\} 1`, text)
}

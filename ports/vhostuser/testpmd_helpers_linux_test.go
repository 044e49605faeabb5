package vhostuser_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/nettest"
)

// needTestpmd skips the test unless DPDK's testpmd can play the guest.
func needTestpmd(t testing.TB) string {
	t.Helper()
	nettest.NeedRoot(t)
	path, err := exec.LookPath("dpdk-testpmd")
	if err != nil {
		t.Skip("dpdk-testpmd not installed (Debian: apt-get install dpdk-dev); it plays the guest's virtio-net driver")
	}
	return path
}

// testpmd is DPDK's testpmd with a virtio_user port on a vhost-user
// socket: a real virtio-net driver in a process of its own, with its own
// memory (a memfd, no huge pages), driven from its interactive prompt.
type testpmd struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	out    bytes.Buffer
	prefix string
	exited chan struct{}
}

// lockedWriter appends to the testpmd's output under its lock.
type lockedWriter struct{ p *testpmd }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

// startTestpmd starts testpmd on sock with the given virtio_user device
// arguments (after path=) and application arguments; cores is its EAL
// core option, e.g. "-l 0-1" or "--lcores=0@0,1@0" (both lcores on CPU 0).
func startTestpmd(t testing.TB, sock, cores, vdevArgs string, appArgs ...string) *testpmd {
	t.Helper()
	bin := needTestpmd(t)
	p := &testpmd{t: t, prefix: "vsvu" + nettest.Suffix(), exited: make(chan struct{})}
	vdev := "net_virtio_user0,path=" + sock + ",queues=1,queue_size=256"
	if vdevArgs != "" {
		vdev += "," + vdevArgs
	}
	args := append(strings.Fields(cores), "--no-pci", "--no-huge", "-m", "256", "--no-shconf", "--no-telemetry",
		"--file-prefix="+p.prefix, "--vdev="+vdev, "--log-level=lib.eal:warning",
		"--", "-i", "--total-num-mbufs=4096", "--no-mlockall", "--nb-cores=1")
	args = append(args, appArgs...)
	if sb, err := exec.LookPath("stdbuf"); err == nil {
		// testpmd prints with stdio, which a pipe makes fully buffered:
		// without this a command's output shows only at exit.
		args = append([]string{"-oL", bin}, args...)
		bin = sb
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = lockedWriter{p}, lockedWriter{p}
	var err error
	p.stdin, err = p.cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.quit()
		os.RemoveAll("/var/run/dpdk/" + p.prefix)
		if t.Failed() {
			t.Logf("testpmd output:\n%s", p.output())
		}
	})
	p.waitFor("testpmd> ", 20*time.Second)
	return p
}

func (p *testpmd) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// run sends a command line to the prompt and waits for the next prompt;
// it returns the command's output.
func (p *testpmd) run(line string) string {
	p.t.Helper()
	start := len(p.output())
	_, err := io.WriteString(p.stdin, line+"\n")
	require.NoError(p.t, err, "testpmd %q", line)
	end := time.Now().Add(10 * time.Second)
	for time.Now().Before(end) {
		if out := p.output()[start:]; strings.Contains(out, "testpmd> ") {
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.t.Fatalf("testpmd: no prompt after %q:\n%s", line, p.output()[start:])
	return ""
}

func (p *testpmd) waitFor(s string, d time.Duration) {
	p.t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(p.output(), s) {
			return
		}
		select {
		case <-p.exited:
			p.t.Fatalf("testpmd exited:\n%s", p.output())
		default:
		}
	}
	p.t.Fatalf("testpmd: no %q in:\n%s", s, p.output())
}

var statRE = regexp.MustCompile(`(RX|TX)-packets:\s+(\d+)`)

// stats returns port 0's RX and TX packet counters.
func (p *testpmd) stats() (rx, tx uint64) {
	p.t.Helper()
	out := p.run("show port stats 0")
	for _, m := range statRE.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.ParseUint(m[2], 10, 64)
		if m[1] == "RX" {
			rx = n
		} else {
			tx = n
		}
	}
	return rx, tx
}

// quit asks testpmd to quit and waits, killing it if it hangs.
func (p *testpmd) quit() {
	select {
	case <-p.exited:
		return
	default:
	}
	io.WriteString(p.stdin, "quit\n")
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

// kill ends testpmd at once, as a crashing VMM would end.
func (p *testpmd) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// waitUntil polls cond every 50ms for up to d.
func waitUntil(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// snmp reads a counter of /proc/net/snmp in a namespace, e.g. "Udp",
// "NoPorts".
func snmp(t testing.TB, ns *nettest.NS, group, name string) uint64 {
	t.Helper()
	out, err := ns.Command("cat", "/proc/net/snmp").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var header []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != group+":" {
			continue
		}
		if header == nil {
			header = f
			continue
		}
		for i, h := range header {
			if h == name {
				n, _ := strconv.ParseUint(f[i], 10, 64)
				return n
			}
		}
	}
	t.Fatalf("no %s %s in /proc/net/snmp", group, name)
	return 0
}

func macString(b []byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

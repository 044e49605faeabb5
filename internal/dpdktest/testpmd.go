//go:build linux

// Package dpdktest drives DPDK's testpmd for tests: a real virtio-net
// driver (net_virtio_user) in a process of its own that plays a VM's
// guest on a vhost-user socket, driven from its interactive prompt.
package dpdktest

import (
	"bytes"
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

// Need skips the test unless DPDK's testpmd can play the guest.
func Need(t testing.TB) string {
	t.Helper()
	nettest.NeedRoot(t)
	path, err := exec.LookPath("dpdk-testpmd")
	if err != nil {
		t.Skip("dpdk-testpmd not installed (Debian: apt-get install dpdk-dev); it plays the guest's virtio-net driver")
	}
	return path
}

// Testpmd is DPDK's testpmd with a virtio_user port on a vhost-user
// socket: a real virtio-net driver in a process of its own, with its own
// memory (a memfd, no huge pages), driven from its interactive prompt.
type Testpmd struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	out    bytes.Buffer
	prefix string
	exited chan struct{}
}

// lockedWriter appends to the testpmd's output under its lock.
type lockedWriter struct{ p *Testpmd }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

// Start starts testpmd on sock with the given virtio_user device
// arguments (after path=) and application arguments; cores is its EAL
// core option, e.g. "-l 0-1" or "--lcores=0@0,1@0" (both lcores on CPU 0).
func Start(t testing.TB, sock, cores, vdevArgs string, appArgs ...string) *Testpmd {
	t.Helper()
	bin := Need(t)
	p := &Testpmd{t: t, prefix: "vsvu" + nettest.Suffix(), exited: make(chan struct{})}
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
		p.Quit()
		os.RemoveAll("/var/run/dpdk/" + p.prefix)
		if t.Failed() {
			t.Logf("testpmd output:\n%s", p.Output())
		}
	})
	p.WaitFor("testpmd> ", 20*time.Second)
	return p
}

func (p *Testpmd) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// promptRE matches testpmd's prompt with whole lines other threads of
// testpmd printed inside it (EAL and driver logs, link events): the
// prompt goes out one character at a time (DPDK's cmdline writes each
// with its own write), so a log line can land in the middle of it
// ("tes" + "virtio_user_dev_...(): ...\n" + "tpmd> ", seen in CI).
var promptRE = func() *regexp.Regexp {
	var b strings.Builder
	for i, c := range "testpmd> " {
		if i > 0 {
			b.WriteString(`(?:[^\n]*\n)*`)
		}
		b.WriteString(regexp.QuoteMeta(string(c)))
	}
	return regexp.MustCompile(b.String())
}()

// hasPrompt reports whether out holds testpmd's prompt, whole or with
// other threads' lines inside it.
func hasPrompt(out string) bool {
	return strings.Contains(out, "testpmd> ") || promptRE.MatchString(out)
}

// run sends a command line to the prompt and waits for the next prompt;
// it returns the command's output.
func (p *Testpmd) Run(line string) string {
	p.t.Helper()
	start := len(p.Output())
	_, err := io.WriteString(p.stdin, line+"\n")
	require.NoError(p.t, err, "testpmd %q", line)
	end := time.Now().Add(10 * time.Second)
	for time.Now().Before(end) {
		if out := p.Output()[start:]; hasPrompt(out) {
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.t.Fatalf("testpmd: no prompt after %q:\n%s", line, p.Output()[start:])
	return ""
}

// WaitFor waits up to d for s in testpmd's output (the prompt, "testpmd> ",
// is also found with other threads' lines inside it) and fails the test
// if testpmd exits first or s never shows.
func (p *Testpmd) WaitFor(s string, d time.Duration) {
	p.t.Helper()
	found := func(out string) bool { return strings.Contains(out, s) }
	if s == "testpmd> " {
		found = hasPrompt
	}
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if found(p.Output()) {
			return
		}
		select {
		case <-p.exited:
			p.t.Fatalf("testpmd exited:\n%s", p.Output())
		default:
		}
	}
	p.t.Fatalf("testpmd: no %q in:\n%s", s, p.Output())
}

var statRE = regexp.MustCompile(`(RX|TX)-packets:\s+(\d+)`)

// Stats returns port 0's RX and TX packet counters.
func (p *Testpmd) Stats() (rx, tx uint64) {
	p.t.Helper()
	out := p.Run("show port stats 0")
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

// Quit asks testpmd to quit and waits, killing it if it hangs.
func (p *Testpmd) Quit() {
	select {
	case <-p.exited:
		return
	default:
	}
	io.WriteString(p.stdin, "quit\n")
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.Kill()
	}
}

// Kill ends testpmd at once, as a crashing VMM would end.
func (p *Testpmd) Kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// LinkUp asks testpmd for port 0's link status (virtio_user then peeks at
// its vhost-user socket: a closed connection is a link down).
func (p *Testpmd) LinkUp() bool {
	p.t.Helper()
	start := len(p.Output())
	p.Run("show port info 0")
	var out string
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if out = p.Output()[start:]; strings.Contains(out, "Link status:") {
			break
		}
		require.True(p.t, time.Now().Before(end), "no link status from testpmd")
	}
	return strings.Contains(out, "Link status: up")
}

// Send writes lines to the prompt without waiting for it (a command that
// blocks, or several at once).
func (p *Testpmd) Send(lines string) error {
	_, err := io.WriteString(p.stdin, lines)
	return err
}

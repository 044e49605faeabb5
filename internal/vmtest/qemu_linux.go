package vmtest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ErrNoQEMU: qemu-system-x86_64 is not installed.
var ErrNoQEMU = errors.New("vmtest: qemu-system-x86_64 not installed (Debian: apt-get install qemu-system-x86)")

// QEMU returns the path of qemu-system-x86_64, or an error wrapping
// ErrNoQEMU.
func QEMU() (string, error) {
	p, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoQEMU, err)
	}
	return p, nil
}

// Config describes a guest to boot.
type Config struct {
	Kernel Kernel
	// Initrd is the initramfs file (see Kernel.BuildInitramfs).
	Initrd string
	// MemoryMiB is the guest's memory (default 512). It is a shared
	// memfd (memory-backend-memfd, share=on) on NUMA node 0, so that a
	// vhost-user back-end can map it.
	MemoryMiB int
	// Append is added to the kernel command line, after
	// "console=ttyS0 panic=-1".
	Append string
	// Args are further QEMU arguments: the test's devices.
	Args []string
}

// VM is a running QEMU: a q35 machine with TCG (no KVM needed), one CPU,
// no default devices, the serial console on QEMU's stdout.
type VM struct {
	cmd    *exec.Cmd
	start  time.Time
	exited chan struct{}
	err    error // the exit status, once exited is closed

	mu    sync.Mutex
	cond  *sync.Cond
	lines []string // console lines, \r removed
	part  string   // the line being written
	eof   bool
}

// Start boots the guest. It ends when ctx is done (the process is
// killed), and at the test's cleanup, which kills QEMU if it still runs
// and logs the console when the test failed.
func Start(ctx context.Context, t testing.TB, cfg Config) (*VM, error) {
	bin, err := QEMU()
	if err != nil {
		return nil, err
	}
	mem := cfg.MemoryMiB
	if mem == 0 {
		mem = 512
	}
	args := []string{
		"-machine", "q35", "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", strconv.Itoa(mem),
		"-object", fmt.Sprintf("memory-backend-memfd,id=mem0,size=%dM,share=on", mem),
		"-numa", "node,memdev=mem0",
		"-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
		"-serial", "stdio", "-no-reboot",
		"-kernel", cfg.Kernel.Image, "-initrd", cfg.Initrd,
		"-append", strings.TrimSpace("console=ttyS0 panic=-1 " + cfg.Append),
	}
	args = append(args, cfg.Args...)
	v := &VM{exited: make(chan struct{})}
	v.cond = sync.NewCond(&v.mu)
	v.cmd = exec.CommandContext(ctx, bin, args...)
	v.cmd.WaitDelay = 5 * time.Second
	v.cmd.Stdout = console{v}
	v.cmd.Stderr = console{v}
	v.start = time.Now()
	if err := v.cmd.Start(); err != nil {
		return nil, fmt.Errorf("vmtest: start qemu: %w", err)
	}
	pid := v.cmd.Process.Pid
	go func() {
		v.err = v.cmd.Wait()
		close(v.exited)
		v.mu.Lock()
		v.eof = true
		v.cond.Broadcast()
		v.mu.Unlock()
	}()
	t.Cleanup(func() {
		select {
		case <-v.exited:
		default:
			syscall.Kill(pid, syscall.SIGKILL)
			<-v.exited
		}
		if t.Failed() {
			t.Logf("guest console:\n%s", v.Console())
		}
	})
	return v, nil
}

// console collects QEMU's output (the serial console and QEMU's own
// messages) as lines; exec copies into it and Wait waits for the copy.
type console struct{ v *VM }

func (c console) Write(b []byte) (int, error) {
	v := c.v
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.part + strings.ReplaceAll(string(b), "\r", "")
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		v.lines = append(v.lines, s[:i])
		s = s[i+1:]
	}
	v.part = s
	v.cond.Broadcast()
	return len(b), nil
}

// Console is everything the guest printed so far.
func (v *VM) Console() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return strings.Join(v.lines, "\n") + "\n" + v.part
}

// Since is the time since QEMU started.
func (v *VM) Since() time.Duration { return time.Since(v.start) }

// WaitLine waits up to d for a console line that starts with prefix,
// among lines from index from on, and returns it (the prefix removed,
// spaces trimmed) and the index after it, for the next wait. It fails
// if QEMU exits first or d passes.
func (v *VM) WaitLine(from int, prefix string, d time.Duration) (string, int, error) {
	timer := time.AfterFunc(d, func() {
		v.mu.Lock()
		v.cond.Broadcast()
		v.mu.Unlock()
	})
	defer timer.Stop()
	end := time.Now().Add(d)
	v.mu.Lock()
	defer v.mu.Unlock()
	for {
		for ; from < len(v.lines); from++ {
			if rest, ok := strings.CutPrefix(v.lines[from], prefix); ok {
				return strings.TrimSpace(rest), from + 1, nil
			}
		}
		if v.eof {
			return "", from, fmt.Errorf("vmtest: guest ended (qemu: %v) without printing %q", v.err, prefix)
		}
		if !time.Now().Before(end) {
			return "", from, fmt.Errorf("vmtest: no %q on the guest's console after %v", prefix, d)
		}
		v.cond.Wait()
	}
}

// Wait waits up to d for QEMU to exit (the guest powered off) and
// returns its exit error; it kills QEMU when d passes.
func (v *VM) Wait(d time.Duration) error {
	select {
	case <-v.exited:
		return v.err
	case <-time.After(d):
		v.cmd.Process.Kill()
		<-v.exited
		return fmt.Errorf("vmtest: guest still running after %v, killed", d)
	}
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// Service managers. vswitchd speaks systemd's notify protocol when
// NOTIFY_SOCKET is set (Type=notify units): READY=1 once its data plane
// and control socket run, STOPPING=1 on the way out. A takeover moves the
// unit's main process: the new vswitchd sends MAINPID=<itself> before it
// commits (before the old one can exit, which would otherwise end the
// unit and kill the new process with it), READY=1 once it forwards, and
// MAINPID=<the old one> again if it gives up before the commit.
//
// --detach makes that usable from ExecReload (deploy/vswitchd.service):
// systemd waits for a reload command to exit, so `vswitchd --takeover
// --detach` starts the real successor as a child (in the unit's cgroup),
// waits until it reports that it runs (a pipe, VSWITCHD_READY_FD) and
// exits 0; or, if the child fails first, exits 1 with the child's error
// shown on its stderr. The child's log goes where logout.go says.

// notify sends state to the service manager, if there is one; errors are
// logged, never fatal (the switch runs without a manager too).
func notify(log *slog.Logger, state string) {
	if ok, err := sd.SdNotify(false, state); err != nil && log != nil {
		log.Warn("service manager notification not sent", "state", strings.ReplaceAll(state, "\n", " "), "err", err)
	} else if ok && log != nil {
		log.Debug("service manager notified", "state", strings.ReplaceAll(state, "\n", " "))
	}
}

// readyFDEnv names the descriptor a --detach parent reads the child's
// readiness from.
const readyFDEnv = "VSWITCHD_READY_FD"

// reportReady tells a --detach parent that this process runs (it closes
// the pipe after one line).
func reportReady() {
	s := os.Getenv(readyFDEnv)
	if s == "" {
		return
	}
	os.Unsetenv(readyFDEnv)
	fd, err := strconv.Atoi(s)
	if err != nil || fd < 3 {
		return
	}
	f := os.NewFile(uintptr(fd), "ready")
	f.WriteString("ready\n")
	f.Close()
}

// detach runs this binary again with args (without --detach; fs parsed
// them) as a child in a session of its own, marked as such (detachedEnv),
// and returns once the child reports that it runs (nil) or exits first
// (an error). Until then the child's stdout and stderr are a pipe this
// process copies to its own stderr, so a startup error shows there; then
// the child moves them off it (logOutput.ready), keeping nothing of the
// caller's. If this stderr is systemd's journal the child gets it as it
// is.
func detach(fs *flag.FlagSet, args []string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command(self, withoutDetach(fs, args)...)
	cmd.ExtraFiles = []*os.File{w} // fd 3
	cmd.Env = append(os.Environ(), readyFDEnv+"=3", detachedEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var logR, logW *os.File
	if isJournal(os.Stderr) {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	} else {
		if logR, logW, err = os.Pipe(); err != nil {
			w.Close()
			return err
		}
		defer logR.Close()
		cmd.Stdout, cmd.Stderr = logW, logW
	}
	// This stderr may be a pipe whose reader has gone (vswitchd --detach
	// | head -1): writing there must fail, not kill this process while
	// the child still writes to it.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	closeOnExecAll()
	err = cmd.Start()
	w.Close()
	if logW != nil {
		logW.Close()
	}
	if err != nil {
		return err
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		if logR != nil {
			copyLog(os.Stderr, logR)
		}
	}()
	line, _ := io.ReadAll(io.LimitReader(r, 64)) // EOF: ready, or the child is gone
	if strings.TrimSpace(string(line)) == "ready" {
		// The child left the pipe before it said so: the copy has ended,
		// unless something it started holds the pipe.
		waitCopy(copied)
		cmd.Process.Release()
		return nil
	}
	err = cmd.Wait()
	waitCopy(copied)
	if err == nil {
		err = errors.New("exited")
	}
	return fmt.Errorf("vswitchd (pid %d) did not start: %w", cmd.Process.Pid, err)
}

// copyLog copies the child's output to w until EOF; once w fails, it
// reads on and drops it (the child must never block on its pipe).
func copyLog(w io.Writer, r io.Reader) {
	buf := make([]byte, 32<<10)
	ok := true
	for {
		n, err := r.Read(buf)
		if ok && n > 0 {
			_, werr := w.Write(buf[:n])
			ok = werr == nil
		}
		if err != nil {
			return
		}
	}
}

func waitCopy(copied <-chan struct{}) {
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
	}
}

// withoutDetach drops --detach, in every spelling the flag package takes
// (-detach, --detach, --detach=VALUE for any VALUE strconv.ParseBool
// reads: t, T, TRUE, True, 1 ...), from args, as fs parses them: a value
// of another flag (--socket --detach) stays, and so does everything after
// "--" or the first argument that is no flag.
func withoutDetach(fs *flag.FlagSet, args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return append(out, args[i:]...)
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		if name == "detach" {
			continue
		}
		out = append(out, a)
		f := fs.Lookup(name)
		if f == nil || hasValue || isBoolFlag(f) {
			continue
		}
		if i+1 < len(args) { // the flag's value
			i++
			out = append(out, args[i])
		}
	}
	return out
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"

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
// exits 0; or, if the child fails first, exits 1 with its error already
// on the shared stderr.

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

// detach runs this binary again with args (without --detach) as a child in
// a session of its own and returns once the child reports that it runs
// (nil) or exits first (an error). The child's stdout and stderr are ours.
func detach(args []string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command(self, withoutDetach(args)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{w} // fd 3
	cmd.Env = append(os.Environ(), readyFDEnv+"=3")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return err
	}
	w.Close()
	line, _ := io.ReadAll(io.LimitReader(r, 64)) // EOF: ready, or the child is gone
	if strings.TrimSpace(string(line)) == "ready" {
		cmd.Process.Release()
		return nil
	}
	err = cmd.Wait()
	if err == nil {
		err = errors.New("exited")
	}
	return fmt.Errorf("vswitchd (pid %d) did not start: %w", cmd.Process.Pid, err)
}

// withoutDetach drops --detach (in any spelling) from args.
func withoutDetach(args []string) []string {
	return slices.DeleteFunc(slices.Clone(args), func(a string) bool {
		switch a {
		case "--detach", "-detach", "--detach=true", "-detach=true", "--detach=1", "-detach=1":
			return true
		}
		return false
	})
}

package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Where the log goes: stderr; with --log-file, that file, which becomes
// stdout and stderr (panics land there too). A --detach child (marked by
// detachedEnv) writes to its parent until it runs (the parent shows that
// on its own stderr, and a startup error with it), and to --log-file too;
// once it runs, its stdout and stderr become --log-file, or stay
// systemd's journal if they are that (JOURNAL_STREAM), or /dev/null: it
// keeps nothing of the caller's, whose pipe may close (`vswitchd --detach
// | head`) or be waited on to the end (`x=$(vswitchd --detach)`).

// detachedEnv marks a --detach child: it never detaches again, whatever
// its arguments say.
const detachedEnv = "VSWITCHD_DETACHED"

// openLogFile opens --log-file for appending (nil for "").
func openLogFile(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("log-file: %w", err)
	}
	return f, nil
}

// logOutput is the log's writer.
type logOutput struct {
	child bool // a --detach child

	mu sync.Mutex
	// file is --log-file (nil: none); tee: the log goes to it besides
	// stderr (a detached child until it runs; then stderr is the file).
	file *os.File
	tee  bool
}

// newLogOutput makes the log's writer: file is --log-file (or nil), child
// whether this process is a --detach child.
func newLogOutput(file *os.File, child bool) (*logOutput, error) {
	o := &logOutput{child: child, file: file}
	if child {
		// Should the parent go before this process runs, a write to its
		// pipe fails (EPIPE) instead of killing this process (SIGPIPE).
		signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
		o.tee = file != nil
		return o, nil
	}
	if file != nil {
		err := redirectStdio(file)
		file.Close() // fds 1 and 2 are it now
		o.file = nil
		if err != nil {
			return nil, fmt.Errorf("log-file: %w", err)
		}
	}
	return o, nil
}

func (o *logOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.tee {
		o.file.Write(p)
	}
	return os.Stderr.Write(p)
}

// ready is called once this process runs: a --detach child moves its
// stdout and stderr off its parent's pipe (the parent's copy ends), then
// tells the parent that it runs (reportReady).
func (o *logOutput) ready(log *slog.Logger) {
	if o == nil || !o.child {
		return
	}
	o.mu.Lock()
	err := o.leaveParent()
	o.tee = false
	o.mu.Unlock()
	if err != nil {
		log.Error("stdout and stderr not moved off the --detach parent's", "err", err)
	}
	reportReady()
}

func (o *logOutput) leaveParent() error {
	to := o.file
	if to == nil {
		if isJournal(os.Stderr) {
			return nil // systemd's: it outlives any caller
		}
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer null.Close()
		to = null
	}
	return redirectStdio(to)
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// What every suite (-e2e's default, -tcp-bulk, -sg, -lb) does around its
// perf.Run* call: the shared list flags, cancellation by signal, and the
// report (a table, or with -json the machine, config, results and error).

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseStreams parses -streams (stream counts); it prints what is wrong.
func parseStreams(s string) ([]int, bool) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "vsbench: -streams: %q is not a number\n", f)
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// logf is the suites' progress log (stderr).
func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, "vsbench: "+format+"\n", a...) }

// runSuite runs one suite, cancelled by SIGINT, SIGTERM or SIGHUP (the
// suite returns once it has removed everything it made; later signals are
// absorbed until then), and reports it: with asJSON the machine, config,
// results and error as one JSON object, else report's table. It returns
// the exit status.
func runSuite[C, R any](cfg C, asJSON bool, run func(context.Context, C) ([]R, error), report func(io.Writer, machine, []R)) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	res, err := run(ctx, cfg)
	stop()
	if asJSON {
		out := struct {
			Machine machine `json:"machine"`
			Config  C       `json:"config"`
			Results []R     `json:"results"`
			Error   string  `json:"error,omitempty"`
		}{Machine: describeMachine(), Config: cfg, Results: res}
		if err != nil {
			out.Error = err.Error()
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else if len(res) > 0 {
		report(os.Stdout, describeMachine(), res)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vsbench:", err)
		return 1
	}
	return 0
}

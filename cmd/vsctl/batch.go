package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vecswitch/vecswitch/ctl"
)

// batchUsage is vsctl --help's part on batches.
const batchUsage = `Batches (one transaction, as ovs-vsctl's commands joined by --):

  vsctl [flags] COMMAND [ARGS...] -- COMMAND [ARGS...] -- ...
  vsctl [flags] --batch FILE     (FILE: one command per line, - for stdin;
                                  blank lines and lines starting with # are
                                  skipped; arguments are separated by blanks)

  The commands are carried out in order, each seeing the changes of those
  before it, and the configuration is applied and stored once, with one
  write. If one fails, none is applied: the error names it (FILE:LINE, or
  its position after --). Only the commands marked [batch] above can be
  in one: those that change the stored configuration and nothing else.
  A batch prints each command's result in turn (--json: their list).
`

// batchItem is one command of a batch and where it came from.
type batchItem struct {
	spec  ctl.Spec
	args  []string
	where string // "FILE:LINE" or "command N"
}

// runBatch carries out a batch: the commands joined by -- in args, or
// those of file.
func runBatch(fs *flag.FlagSet, args []string, file, socket string, asJSON *bool, timeout *time.Duration, stdout, stderr io.Writer) int {
	var items []batchItem
	var err error
	if file != "" {
		if len(args) > 0 {
			fmt.Fprintf(stderr, "vsctl: --batch %s takes its commands from the file, not from the command line (%q)\n", file, strings.Join(args, " "))
			return exitUsage
		}
		items, err = readBatch(file)
	} else {
		items, err = splitBatch(fs, args)
	}
	if err != nil {
		fmt.Fprintln(stderr, "vsctl:", err)
		return exitUsage
	}
	if len(items) == 0 {
		fmt.Fprintln(stderr, "vsctl: the batch has no command")
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "vsctl: -timeout %v: want a duration above 0 (such as 5s)\n", *timeout)
		return exitUsage
	}
	cmds := make([]ctl.BatchCommand, len(items))
	for i, it := range items {
		cmds[i] = ctl.BatchCommand{Cmd: it.spec.Name, Args: it.args}
	}
	c, code := dial(socket, *timeout, stderr)
	if c == nil {
		return code
	}
	defer c.Close()
	var res []json.RawMessage
	if err := c.Batch(cmds, &res); err != nil {
		var ce *ctl.Error
		if errors.As(err, &ce) && ce.Index >= 1 && ce.Index <= len(items) && file != "" {
			fmt.Fprintf(stderr, "vsctl: %s: %v\n", items[ce.Index-1].where, err)
		} else {
			fmt.Fprintln(stderr, "vsctl:", err)
		}
		switch {
		case errors.As(err, &ce) && ce.Code == ctl.CodeUsage:
			return exitUsage
		case errors.As(err, &ce) && ce.Code == ctl.CodeUnavail:
			return exitNoDaemon
		}
		return exitFailed
	}
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
		return exitOK
	}
	for i, r := range res {
		if i >= len(items) || len(r) == 0 || string(r) == "null" {
			continue
		}
		if err := printHuman(stdout, items[i].spec.Name, r); err != nil {
			fmt.Fprintf(stderr, "vsctl: %s: %v\n", items[i].where, err)
			return exitFailed
		}
	}
	return exitOK
}

// splitBatch splits args at each -- into commands; vsctl's own flags may
// be among them.
func splitBatch(fs *flag.FlagSet, args []string) ([]batchItem, error) {
	var items []batchItem
	start := 0
	for i := 0; i <= len(args); i++ {
		if i < len(args) && args[i] != "--" {
			continue
		}
		group := args[start:i]
		start = i + 1
		where := fmt.Sprintf("command %d", len(items)+1)
		if len(group) == 0 {
			continue // a leading, trailing or doubled --
		}
		rest, help, err := trailingFlags(fs, group)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		if help {
			return nil, fmt.Errorf("%s: --help shows one command outside a batch (vsctl COMMAND --help)", where)
		}
		it, err := batchCommand(rest, where)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// readBatch reads a batch file (- is stdin): one command per line.
func readBatch(file string) ([]batchItem, error) {
	var r io.Reader = os.Stdin
	name := "stdin"
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r, name = f, file
	}
	var items []batchItem
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		words := strings.Fields(sc.Text())
		if len(words) == 0 || strings.HasPrefix(words[0], "#") {
			continue
		}
		it, err := batchCommand(words, fmt.Sprintf("%s:%d", name, n))
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return items, nil
}

// batchCommand checks one command of a batch as vsctl checks a single
// one (name, argument count) and that it may be in a batch.
func batchCommand(words []string, where string) (batchItem, error) {
	if len(words) == 0 {
		return batchItem{}, fmt.Errorf("%s: no command", where)
	}
	name, args := commandName(words)
	spec, ok := ctl.SpecOf(name)
	switch {
	case !ok:
		return batchItem{}, fmt.Errorf("%s: unknown command %q (vsctl --help lists them)", where, name)
	case !spec.Batch:
		return batchItem{}, fmt.Errorf("%s: %s cannot be in a batch (vsctl --help marks those that can [batch])", where, displayName(name))
	case len(args) < spec.MinArgs || (spec.MaxArgs >= 0 && len(args) > spec.MaxArgs):
		return batchItem{}, fmt.Errorf("%s: usage: vsctl %s", where, strings.TrimSpace(displayName(spec.Name)+" "+spec.Usage))
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") && a != "-" {
			return batchItem{}, fmt.Errorf("%s: %q: a flag inside a batch file (flags go on vsctl's command line)", where, a)
		}
	}
	return batchItem{spec: spec, args: args, where: where}, nil
}

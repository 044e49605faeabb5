// Command vsctl manages a running vswitchd over its control socket, in the
// manner of ovs-vsctl and vppctl: vsctl add-br br0, vsctl add-port br0 c1
// type=veth netns=/var/run/netns/c1 ip=10.0.0.1/24, vsctl show runtime.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vecswitch/vecswitch/ctl"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1 // the daemon refused or failed the command
	exitUsage    = 2
	exitNoDaemon = 3
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(argv []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vsctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", ctl.DefaultSocket, "vswitchd's control socket")
	asJSON := fs.Bool("json", false, "print results as JSON (for scripts)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the daemon to answer (above 0; a command that times out may still be carried out: exit 1, not 3)")
	batchFile := fs.String("batch", "", "carry out the commands in `FILE` (one per line, - for stdin) as one transaction, like commands joined by --")
	fs.Usage = func() {} // help is printed below, to stdout; errors say how to get it
	if err := fs.Parse(argv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout, fs)
			return exitOK
		}
		fmt.Fprintln(stderr, "vsctl --help lists the commands and flags")
		return exitUsage
	}
	args := fs.Args()
	if *batchFile != "" || slices.Contains(args, "--") {
		return runBatch(fs, args, *batchFile, *socket, asJSON, timeout, stdout, stderr)
	}
	if len(args) == 0 {
		usage(stderr, fs)
		return exitUsage
	}
	cmd, args := commandName(args)
	spec, ok := ctl.SpecOf(cmd)
	if !ok && cmd == "set" {
		// "set port ..." and "set bridge ..." are set-port and set-bridge:
		// "set" alone (or with --help, or another word) lists both.
		w, code := stderr, exitUsage
		if _, help, err := trailingFlags(fs, args); err == nil && help {
			w, code = stdout, exitOK
		}
		fmt.Fprintln(w, "usage: vsctl set port PORT [key=value...]   (set-port: vsctl set-port --help)")
		fmt.Fprintln(w, "       vsctl set bridge BRIDGE [key=value...]   (set-bridge: vsctl set-bridge --help)")
		return code
	}
	if !ok {
		fmt.Fprintf(stderr, "vsctl: unknown command %q (vsctl --help lists them)\n", cmd)
		return exitUsage
	}
	// Flags may also follow the command (vsctl show --json), like
	// ovs-vsctl's; a command's own arguments never start with "-".
	args, help, err := trailingFlags(fs, args)
	if err != nil {
		fmt.Fprintf(stderr, "vsctl %s: %v\n", displayName(spec.Name), err)
		return exitUsage
	}
	if help {
		fmt.Fprintf(stdout, "usage: vsctl %s\n\n%s\n", strings.TrimSpace(displayName(spec.Name)+" "+spec.Usage), spec.Help)
		if spec.Batch {
			fmt.Fprintf(stdout, "\nMay be in a batch: vsctl -- %s ... -- COMMAND ..., or a line of vsctl --batch FILE.\n", displayName(spec.Name))
		}
		return exitOK
	}
	if len(args) < spec.MinArgs || (spec.MaxArgs >= 0 && len(args) > spec.MaxArgs) {
		fmt.Fprintf(stderr, "usage: vsctl %s\n", strings.TrimSpace(displayName(spec.Name)+" "+spec.Usage))
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "vsctl: -timeout %v: want a duration above 0 (such as 5s)\n", *timeout)
		return exitUsage
	}
	c, code := dial(*socket, *timeout, stderr)
	if c == nil {
		return code
	}
	defer c.Close()
	var res json.RawMessage
	if spec.Name == "fdb/show" && pagedFDB(args, *asJSON) {
		err = fdbShowAll(c, args, stdout)
	} else {
		err = c.Call(spec.Name, args, &res)
	}
	if err != nil {
		fmt.Fprintln(stderr, "vsctl:", err)
		var ce *ctl.Error
		if errors.As(err, &ce) && ce.Code == ctl.CodeUsage {
			return exitUsage
		}
		if errors.As(err, &ce) && ce.Code == ctl.CodeUnavail {
			return exitNoDaemon
		}
		return exitFailed
	}
	if (len(res) == 0 || string(res) == "null") && (*asJSON || !nullPrinted[spec.Name]) {
		return exitOK
	}
	if *asJSON {
		fmt.Fprintln(stdout, string(res))
		return exitOK
	}
	if err := printHuman(stdout, spec.Name, res); err != nil {
		fmt.Fprintln(stderr, "vsctl:", err)
		return exitFailed
	}
	return exitOK
}

// nullPrinted lists the read commands whose empty result has a human
// form ("no capture runs").
var nullPrinted = map[string]bool{"capture/show": true}

// commandName maps "show runtime" to "show-runtime" (vppctl style) and
// "set bridge" to "set-bridge" (ovs-vsctl style), and leaves other words
// alone.
func commandName(args []string) (string, []string) {
	if (args[0] == "show" || args[0] == "set") && len(args) > 1 {
		if _, ok := ctl.SpecOf(args[0] + "-" + args[1]); ok {
			return args[0] + "-" + args[1], args[2:]
		}
	}
	return args[0], args[1:]
}

// displayName is how help spells a command: show-runtime is "show runtime"
// (both forms are accepted).
func displayName(name string) string {
	if n, ok := strings.CutPrefix(name, "show-"); ok {
		return "show " + n
	}
	return name
}

// trailingFlags takes vsctl's own flags out of a command's arguments and
// sets them; help is true if --help or -h is among them.
func trailingFlags(fs *flag.FlagSet, args []string) (rest []string, help bool, err error) {
	var flags []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			rest = append(rest, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case name == "h" || name == "help":
			help = true
			continue
		case fs.Lookup(name) == nil:
			return nil, false, fmt.Errorf("unknown flag %s (vsctl --help lists the flags)", a)
		}
		flags = append(flags, a)
		if _, isBool := fs.Lookup(name).Value.(interface{ IsBoolFlag() bool }); !isBool && !hasValue {
			if i+1 == len(args) {
				return nil, false, fmt.Errorf("flag %s needs a value", a)
			}
			i++
			flags = append(flags, args[i])
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, false, err
	}
	return rest, help, nil
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: vsctl [flags] COMMAND [ARGS...] [flags]\n\nManages a running vswitchd. Commands:\n\n")
	for _, s := range ctl.Specs {
		help := s.Help
		if s.Batch {
			help += " [batch]"
		}
		fmt.Fprintf(w, "  %-14s %s\n  %14s   %s\n", displayName(s.Name), s.Usage, "", help)
	}
	fmt.Fprintf(w, "\nvsctl COMMAND --help shows one command. Flags (before or after the command):\n\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\n%s", batchUsage)
	fmt.Fprintf(w, "\nExit status: 0 done, 1 the daemon refused or failed, 2 usage error, 3 no daemon.\n")
}

// dial connects to the daemon; on failure it says why on stderr and
// returns the exit code (no daemon, or denied: failed).
func dial(socket string, timeout time.Duration, stderr io.Writer) (*ctl.Client, int) {
	c, err := ctl.Dial(socket, timeout)
	if err != nil {
		fmt.Fprintln(stderr, "vsctl:", err)
		var ce *ctl.Error
		if errors.As(err, &ce) && ce.Code == ctl.CodeDenied {
			return nil, exitFailed
		}
		return nil, exitNoDaemon
	}
	return c, exitOK
}

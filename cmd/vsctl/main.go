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
	"path/filepath"
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
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the daemon")
	fs.Usage = func() { usage(stderr, fs) }
	if err := fs.Parse(argv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	args := fs.Args()
	if len(args) == 0 {
		usage(stderr, fs)
		return exitUsage
	}
	cmd, args := commandName(args)
	spec, ok := ctl.SpecOf(cmd)
	if !ok {
		fmt.Fprintf(stderr, "vsctl: unknown command %q (vsctl --help lists them)\n", cmd)
		return exitUsage
	}
	for _, a := range args {
		if a == "--help" || a == "-h" {
			fmt.Fprintf(stdout, "usage: vsctl %s %s\n\n%s\n", spec.Name, spec.Usage, spec.Help)
			return exitOK
		}
	}
	if len(args) < spec.MinArgs || (spec.MaxArgs >= 0 && len(args) > spec.MaxArgs) {
		fmt.Fprintf(stderr, "usage: vsctl %s %s\n", spec.Name, spec.Usage)
		return exitUsage
	}
	if spec.Name == "capture/start" {
		args = absFileArg(args)
	}
	c, err := ctl.Dial(*socket, *timeout)
	if err != nil {
		fmt.Fprintln(stderr, "vsctl:", err)
		var ce *ctl.Error
		if errors.As(err, &ce) && ce.Code == ctl.CodeDenied {
			return exitFailed
		}
		return exitNoDaemon
	}
	defer c.Close()
	var res json.RawMessage
	if err := c.Call(spec.Name, args, &res); err != nil {
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
	if len(res) == 0 || string(res) == "null" {
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

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: vsctl [flags] COMMAND [ARGS...]\n\nManages a running vswitchd. Commands:\n\n")
	for _, s := range ctl.Specs {
		name := s.Name
		if n, ok := strings.CutPrefix(name, "show-"); ok {
			name = "show " + n
		}
		fmt.Fprintf(w, "  %-14s %s\n  %14s   %s\n", name, s.Usage, "", s.Help)
	}
	fmt.Fprintf(w, "\nvsctl COMMAND --help shows one command. Flags:\n\n")
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nExit status: 0 done, 1 the daemon refused or failed, 2 usage error, 3 no daemon.\n")
}

// absFileArg makes a relative file= argument absolute: the daemon does not
// know vsctl's working directory.
func absFileArg(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if f, ok := strings.CutPrefix(a, "file="); ok && f != "" && !filepath.IsAbs(f) {
			if abs, err := filepath.Abs(f); err == nil {
				out[i] = "file=" + abs
			}
		}
	}
	return out
}

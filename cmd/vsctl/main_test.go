package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

func vsctl(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// TestHelpGoesToStdout: help asked for is printed on stdout with exit 0,
// at the top level and for a command, and a command's help spells it as
// the main help does.
func TestHelpGoesToStdout(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}} {
		code, out, errOut := vsctl(t, args...)
		require.Equal(t, exitOK, code)
		require.Contains(t, out, "usage: vsctl")
		require.Contains(t, out, "show runtime")
		require.Contains(t, out, "-socket")
		require.Empty(t, errOut)
	}
	code, out, errOut := vsctl(t, "show", "runtime", "--help")
	require.Equal(t, exitOK, code)
	require.True(t, strings.HasPrefix(out, "usage: vsctl show runtime\n"), out)
	require.Empty(t, errOut)
	code, out, _ = vsctl(t, "show-runtime", "-h")
	require.Equal(t, exitOK, code)
	require.True(t, strings.HasPrefix(out, "usage: vsctl show runtime\n"), out)

	// "set" alone is set port / set bridge: listed on stdout with --help,
	// on stderr as a usage error without (it was an unknown command).
	code, out, errOut = vsctl(t, "set", "--help")
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "vsctl set port PORT")
	require.Contains(t, out, "vsctl set bridge BRIDGE")
	require.Empty(t, errOut)
	code, out, errOut = vsctl(t, "set")
	require.Equal(t, exitUsage, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "vsctl set port PORT")

	// Asked for nothing: usage on stderr, exit 2.
	code, out, errOut = vsctl(t)
	require.Equal(t, exitUsage, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "usage: vsctl")
}

// TestFlagsAfterCommand: vsctl show --json and --socket after the command
// are taken as flags (the command reaches the dial step: exit 3 with no
// daemon at that socket), unknown flags are usage errors.
func TestFlagsAfterCommand(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	code, _, errOut := vsctl(t, "show", "--json", "--socket", sock)
	require.Equal(t, exitNoDaemon, code, errOut)
	require.Contains(t, errOut, sock)
	code, _, errOut = vsctl(t, "fdb/show", "br0", "--socket="+sock, "-json")
	require.Equal(t, exitNoDaemon, code, errOut)
	code, _, errOut = vsctl(t, "show", "--bogus")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "unknown flag --bogus")
	code, _, errOut = vsctl(t, "show", "--socket")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "needs a value")
	code, _, errOut = vsctl(t, "show", "extra")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "usage: vsctl show")
}

// TestHumanLayouts: vni/show and capture/show|stop print text, not JSON,
// without --json.
func TestHumanLayouts(t *testing.T) {
	print := func(cmd string, v any) string { return human(t, cmd, v) }
	out := print("vni/show", ctl.VXLANView{VTEP: &ctl.VTEP{Addr: "192.168.88.1"},
		VNIs: []ctl.VNIView{{Bridge: "ov", VNI: ctl.VNI{VNI: 100, Remotes: []string{"192.168.88.2"}}}}})
	require.Contains(t, out, "vtep 192.168.88.1")
	require.Contains(t, out, "port 4789")
	require.Contains(t, out, "vni 100")
	require.Contains(t, out, "remotes 192.168.88.2")
	require.Contains(t, print("vni/show", ctl.VXLANView{VNIs: []ctl.VNIView{}}), "vtep: none")

	out = print("capture/stop", ctl.CaptureView{File: "a.pcapng", Port: "c1", Packets: 3, Bytes: 300})
	require.Contains(t, out, "capture of c1")
	require.Contains(t, out, "stopped")
	require.Contains(t, out, "a.pcapng")
	var w bytes.Buffer
	require.NoError(t, printHuman(&w, "capture/show", json.RawMessage("null")))
	require.Contains(t, w.String(), "no capture runs")

	// version and the flush-flows commands printed JSON.
	out = print("version", map[string]string{"daemon": "0.1.0", "protocol": "1"})
	require.Regexp(t, `(?m)^daemon +0\.1\.0\nprotocol +1\n$`, out)
	require.Equal(t, "flushed 3 flows\n", print("sg/flush-flows", map[string]int{"flushed": 3}))
	require.Equal(t, "flushed 0 flows\n", print("nat/flush-flows", map[string]int{"flushed": 0}))

	// A down port: why, how often, and the latest retry's error (only
	// --json had it, docs/safety.md says show gives it).
	out = print("show", ctl.ShowView{Bridges: []ctl.BridgeView{{Name: "br0", Ports: []ctl.PortView{{Name: "c1", Type: "veth",
		Down: "interface c1 was deleted", Losses: 2, LastTry: "invalid: netns /run/netns/c1: no such file or directory"}}}}})
	require.Contains(t, out, "down (interface c1 was deleted), lost its interface 2 times, last try: invalid: netns /run/netns/c1: no such file or directory")
}

// TestFDBShowPages: vsctl fdb/show asks page after page (the largest
// pages, each after the last one's cursor) and prints every entry once;
// with limit= it prints the one page and the cursor of the next.
func TestFDBShowPages(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the control server admits root only; run as root")
	}
	const n = 25
	var calls [][]string
	reg := ctl.NewRegistry()
	reg.Register(ctl.Command{Name: "fdb/show", MinArgs: 1, MaxArgs: -1, Run: func(_ context.Context, args []string) (any, error) {
		calls = append(calls, args)
		opts, err := ctl.ParseOptions(args[1:])
		if err != nil {
			return nil, err
		}
		limit, _ := strconv.Atoi(opts["limit"])
		if limit == 0 {
			limit = 1000
		}
		limit = min(limit, 10) // a small server page, to make several
		start := 0
		if a := opts["after"]; a != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(a, "0/"))
			start++
		}
		pg := ctl.FDBPage{Entries: []ctl.FDBEntry{}, Total: n}
		for i := start; i < n && len(pg.Entries) < limit; i++ {
			pg.Entries = append(pg.Entries, ctl.FDBEntry{MAC: fmt.Sprintf("02:00:00:00:00:%02x", i), Port: "p"})
			if i < n-1 {
				pg.Next = fmt.Sprintf("0/%d", i)
			} else {
				pg.Next = ""
			}
		}
		return pg, nil
	}})
	path := filepath.Join(t.TempDir(), "s.sock")
	s, err := ctl.Listen(ctl.ServerConfig{Path: path, GID: -1}, reg)
	require.NoError(t, err)
	go s.Serve()
	t.Cleanup(func() { s.Close() })

	code, out, errOut := vsctl(t, "--socket", path, "fdb/show", "br0")
	require.Equal(t, exitOK, code, errOut)
	require.Len(t, calls, 3)
	require.Contains(t, calls[0], "limit=10000")
	require.Contains(t, calls[1], "after=0/9")
	for i := range n {
		require.Equal(t, 1, strings.Count(out, fmt.Sprintf("02:00:00:00:00:%02x", i)), out)
	}
	require.Contains(t, out, "25 entries")
	require.Equal(t, 1, strings.Count(out, "vlan  mac"), "one header")

	calls = nil
	code, out, _ = vsctl(t, "--socket", path, "fdb/show", "br0", "limit=5")
	require.Equal(t, exitOK, code)
	require.Len(t, calls, 1)
	require.Contains(t, out, "(5 of 25 entries; the next page: after=0/4)")
}

// TestTimeoutIsNotNoDaemon: a daemon that takes the request and does not
// answer in time is exit 1 with a message saying the command may still
// be carried out (it was exit 3, "no daemon", though the daemon applied
// the change afterwards); -timeout 0 or below is a usage error (it timed
// out every command at once).
func TestTimeoutIsNotNoDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "slow.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { // read the request, never answer
				defer c.Close()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	code, out, errOut := vsctl(t, "--socket", sock, "-timeout", "200ms", "add-br", "b1")
	require.Equal(t, exitFailed, code, errOut)
	require.Empty(t, out)
	require.Contains(t, errOut, "may still carry out add-br")
	for _, v := range []string{"0", "-1s"} {
		code, _, errOut = vsctl(t, "--socket", sock, "-timeout", v, "show")
		require.Equal(t, exitUsage, code, errOut)
		require.Contains(t, errOut, "want a duration above 0")
	}
}

// human is what vsctl prints for cmd's result v without --json; it must
// not be the JSON it arrived as.
func human(t *testing.T, cmd string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var w bytes.Buffer
	require.NoError(t, printHuman(&w, cmd, b))
	require.NotContains(t, w.String(), "{", "%s printed JSON", cmd)
	return w.String()
}

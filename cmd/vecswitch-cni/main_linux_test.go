package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// The plugin against a fake vswitchd (a socket that answers as a test
// says, or does not) and a fake IPAM plugin that logs its calls: what is
// asked of each, and when a delegated lease is released.

// reply is how the fake vswitchd answers one request.
type reply struct {
	resp   *ctl.Response
	hangUp bool // close the connection without answering
	stall  bool // answer nothing until the client goes
}

func answer(v any) reply {
	b, _ := json.Marshal(v)
	return reply{resp: &ctl.Response{V: ctl.Version, OK: true, Result: b}}
}

func refuse(code ctl.Code, msg string) reply {
	return reply{resp: &ctl.Response{V: ctl.Version, Error: ctl.Errorf(code, "%s", msg)}}
}

// fakeVswitchd serves a control socket with handle.
type fakeVswitchd struct {
	sock   string
	mu     sync.Mutex
	reqs   []ctl.Request
	handle func(ctl.Request) reply
}

func newFakeVswitchd(t *testing.T, handle func(ctl.Request) reply) *fakeVswitchd {
	t.Helper()
	f := &fakeVswitchd{sock: filepath.Join(t.TempDir(), "vswitchd.sock"), handle: handle}
	ln, err := net.Listen("unix", f.sock)
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				f.serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return f
}

func (f *fakeVswitchd) serve(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		var req ctl.Request
		if json.Unmarshal(line, &req) != nil {
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		rep := f.handle(req)
		switch {
		case rep.hangUp:
			return
		case rep.stall:
			io.Copy(io.Discard, c)
			return
		}
		if json.NewEncoder(c).Encode(rep.resp) != nil {
			return
		}
	}
}

// request is the endpoint request of the fake's last call of cmd.
func (f *fakeVswitchd) request(t *testing.T, cmd string) ctl.EndpointRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.reqs) - 1; i >= 0; i-- {
		if f.reqs[i].Cmd == cmd {
			var req ctl.EndpointRequest
			require.NoError(t, json.Unmarshal([]byte(f.reqs[i].Args[0]), &req))
			return req
		}
	}
	t.Fatalf("no %s request", cmd)
	return ctl.EndpointRequest{}
}

// fakeIPAM installs an IPAM plugin "fakeipam" in a CNI_PATH of its own;
// calls returns the verbs it was run with.
func fakeIPAM(t *testing.T) (calls func() string) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho \"$CNI_COMMAND\" >> " + log + "\ncat >/dev/null\n" +
		"if [ \"$CNI_COMMAND\" = ADD ]; then\n" +
		"  echo '{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.184.0.10/24\",\"gateway\":\"10.184.0.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}'\n" +
		"fi\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fakeipam"), []byte(script), 0o755))
	t.Setenv("CNI_PATH", dir)
	return func() string {
		b, err := os.ReadFile(log)
		if errors.Is(err, os.ErrNotExist) {
			return ""
		}
		require.NoError(t, err)
		return string(b)
	}
}

func testConf(t *testing.T, sock string, extra map[string]any) []byte {
	t.Helper()
	c := map[string]any{"cniVersion": "1.0.0", "name": "tnet", "type": "vecswitch-cni", "bridge": "br0", "socket": sock, "timeout": 1,
		"ipam": map[string]any{"type": "fakeipam"}}
	for k, v := range extra {
		c[k] = v
	}
	b, err := json.Marshal(c)
	require.NoError(t, err)
	return b
}

func cmdArgs(conf []byte) *skel.CmdArgs {
	return &skel.CmdArgs{ContainerID: "c1", Netns: "/proc/self/ns/net", IfName: "eth0", StdinData: conf}
}

// captureStdout runs fn with os.Stdout going to a pipe (a CNI result is
// printed there) and returns what it printed.
func captureStdout(t *testing.T, fn func() error) ([]byte, error) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	old := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	err = fn()
	os.Stdout = old
	w.Close()
	return <-done, err
}

func cniCode(t *testing.T, err error) uint {
	t.Helper()
	var te *types.Error
	require.ErrorAs(t, err, &te)
	return te.Code
}

// TestAddUnansweredKeepsDelegatedLease: when vswitchd does not answer an
// ADD (it may still make the endpoint with the delegated address), the
// delegated lease stays for the runtime's DEL to release; handing it back
// at once let host-local give the address to another container while the
// first one got it too. A refusal releases it.
func TestAddUnansweredKeepsDelegatedLease(t *testing.T) {
	for _, c := range []struct {
		name  string
		add   reply
		code  uint
		calls string
	}{
		{"hang up", reply{hangUp: true}, types.ErrTryAgainLater, "ADD\n"},
		{"no answer in time", reply{stall: true}, types.ErrTryAgainLater, "ADD\n"},
		{"refused", refuse(ctl.CodeInvalid, "no bridge br0"), types.ErrInvalidNetworkConfig, "ADD\nDEL\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := fakeIPAM(t)
			f := newFakeVswitchd(t, func(req ctl.Request) reply {
				switch req.Cmd {
				case "endpoint/show":
					return answer([]ctl.EndpointView{})
				case "endpoint/add":
					return c.add
				}
				return refuse(ctl.CodeUnknown, req.Cmd)
			})
			_, err := captureStdout(t, func() error { return cmdAdd(cmdArgs(testConf(t, f.sock, nil))) })
			require.Error(t, err)
			require.Equal(t, c.code, cniCode(t, err), "%v", err)
			require.Equal(t, c.calls, calls())
			require.Equal(t, []string{"10.184.0.10/24"}, f.request(t, "endpoint/add").Addrs)
			if c.code == types.ErrTryAgainLater {
				require.ErrorContains(t, err, "DEL removes it and releases its addresses")
			}
		})
	}
}

// TestAddAgainDoesNotDelegate: ADD of an endpoint that exists answers
// what was made without running the IPAM plugin again (host-local fails a
// second ADD of one attachment); the request carries the endpoint's
// addresses, for vswitchd to make it again with if it is stale.
func TestAddAgainDoesNotDelegate(t *testing.T) {
	calls := fakeIPAM(t)
	ep := ctl.EndpointView{Network: "tnet", ContainerID: "c1", IfName: "eth0", Netns: "/proc/self/ns/net", Bridge: "br0",
		Port: "vsc0123456789ab", MAC: "02:00:00:00:00:01", MTU: 1500, Addrs: []string{"10.184.0.10/24"},
		Gateways: []string{"10.184.0.1"}, Routes: []ctl.RouteSpec{{Dst: "0.0.0.0/0", Gw: "10.184.0.1"}}}
	other := ep
	other.IfName, other.Addrs = "net1", []string{"10.184.0.11/24"}
	f := newFakeVswitchd(t, func(req ctl.Request) reply {
		switch req.Cmd {
		case "endpoint/show":
			return answer([]ctl.EndpointView{other, ep})
		case "endpoint/add":
			return answer(ep)
		}
		return refuse(ctl.CodeUnknown, req.Cmd)
	})
	out, err := captureStdout(t, func() error { return cmdAdd(cmdArgs(testConf(t, f.sock, nil))) })
	require.NoError(t, err)
	require.Empty(t, calls(), "the IPAM plugin was run again")
	req := f.request(t, "endpoint/add")
	require.Equal(t, ep.Addrs, req.Addrs)
	require.Equal(t, ep.Gateways, req.Gateways)
	require.Equal(t, ep.Routes, req.Routes)
	require.Contains(t, string(out), `"address": "10.184.0.10/24"`)
}

// TestCheckPrevResult: CHECK sends vswitchd what the previous result says
// of the container interface (its MAC, addresses and the routes), and a
// finding that the container lacks something is code 101.
func TestCheckPrevResult(t *testing.T) {
	prev := map[string]any{"cniVersion": "1.0.0",
		"interfaces": []map[string]any{{"name": "vsc0123456789ab"}, {"name": "eth0", "mac": "02:00:00:00:00:01", "sandbox": "/proc/self/ns/net"}},
		"ips":        []map[string]any{{"address": "10.188.0.99/24", "interface": 1}, {"address": "192.0.2.1/24", "interface": 0}},
		"routes":     []map[string]any{{"dst": "0.0.0.0/0", "gw": "10.188.0.1"}, {"dst": "10.9.0.0/16"}}}
	var verdict reply
	f := newFakeVswitchd(t, func(req ctl.Request) reply { return verdict })
	conf := testConf(t, f.sock, map[string]any{"ipam": map[string]any{}, "prevResult": prev})

	verdict = answer(nil)
	require.NoError(t, cmdCheck(cmdArgs(conf)))
	req := f.request(t, "endpoint/check")
	require.Equal(t, []string{"10.188.0.99/24"}, req.Addrs, "the container interface's addresses")
	require.Equal(t, []ctl.RouteSpec{{Dst: "0.0.0.0/0", Gw: "10.188.0.1"}, {Dst: "10.9.0.0/16"}}, req.Routes)
	require.Equal(t, "02:00:00:00:00:01", req.MAC)

	verdict = refuse(ctl.CodeInvalid, "interface eth0 in /proc/self/ns/net lacks address 10.188.0.99/24 of the previous result")
	err := cmdCheck(cmdArgs(conf))
	require.Equal(t, errCheckFailed, cniCode(t, err))
	require.ErrorContains(t, err, "lacks address 10.188.0.99/24")
	verdict = refuse(ctl.CodeNotFound, "no endpoint tnet/c1/eth0")
	require.Equal(t, errCheckFailed, cniCode(t, cmdCheck(cmdArgs(conf))))

	// A previous result without the container interface.
	prev["interfaces"] = []map[string]any{{"name": "vsc0123456789ab"}}
	err = cmdCheck(cmdArgs(testConf(t, f.sock, map[string]any{"ipam": map[string]any{}, "prevResult": prev})))
	require.Equal(t, errCheckFailed, cniCode(t, err))
	require.ErrorContains(t, err, "no interface eth0")
}

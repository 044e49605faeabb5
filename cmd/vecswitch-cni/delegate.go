package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/types/create"
	"github.com/containernetworking/cni/pkg/version"
)

// Delegation to another IPAM plugin (host-local, static, dhcp), done as
// libcni's pkg/invoke does it: the plugin is found in CNI_PATH and run
// with this process's environment and CNI_COMMAND set to the verb, the
// netconf on its stdin; a result without a cniVersion gets the
// netconf's; a failure's stdout is the CNI error it reports.
//
// It is not pkg/invoke itself because that package links OpenTelemetry
// and with it net/http and crypto/tls (for trace propagation this
// plugin does not use): that made the binary 7 MB and every run of it,
// once per container, ~7 ms slower to start than a minimal Go program.

// delegate runs IPAM plugin typ for verb and returns its stdout.
func delegate(ctx context.Context, typ, verb string, netconf []byte) ([]byte, error) {
	path, err := findPlugin(typ, filepath.SplitList(os.Getenv("CNI_PATH")))
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, path)
	c.Env = append(withoutVar(os.Environ(), "CNI_COMMAND"), "CNI_COMMAND="+verb)
	c.Stdin = bytes.NewReader(netconf)
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return nil, pluginErr(typ, err, stdout.Bytes(), stderr.Bytes())
	}
	if stderr.Len() > 0 {
		os.Stderr.Write(stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// delegateAdd runs the IPAM plugin's ADD and decodes its result.
func delegateAdd(ctx context.Context, typ string, netconf []byte) (types.Result, error) {
	out, err := delegate(ctx, typ, "ADD", netconf)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("IPAM plugin %s: malformed result: %w", typ, err)
	}
	if raw == nil {
		raw = map[string]any{}
	}
	ver, _ := raw["cniVersion"].(string)
	if ver == "" {
		if ver, err = (&version.ConfigDecoder{}).Decode(netconf); err != nil {
			return nil, err
		}
		raw["cniVersion"] = ver
		if out, err = json.Marshal(raw); err != nil {
			return nil, err
		}
	}
	return create.Create(ver, out)
}

// findPlugin is pkg/invoke's FindInPath: the first regular file of that
// name in the directories.
func findPlugin(name string, dirs []string) (string, error) {
	if name == "" || strings.ContainsRune(name, os.PathSeparator) {
		return "", fmt.Errorf("invalid IPAM plugin name %q", name)
	}
	if len(dirs) == 0 {
		return "", fmt.Errorf("IPAM plugin %s: CNI_PATH is empty", name)
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("failed to find plugin %q in path %s", name, dirs)
}

// pluginErr is the error a failed plugin reported: the CNI error JSON
// on its stdout, or its stderr.
func pluginErr(name string, err error, stdout, stderr []byte) error {
	e := &types.Error{}
	switch {
	case len(stdout) > 0:
		if perr := json.Unmarshal(stdout, e); perr != nil {
			e.Msg = fmt.Sprintf("IPAM plugin %s failed, and its message %q is not a CNI error: %v", name, stdout, perr)
		}
	case len(stderr) > 0:
		e.Msg = fmt.Sprintf("IPAM plugin %s failed: %q: %v", name, stderr, err)
	default:
		e.Msg = fmt.Sprintf("IPAM plugin %s failed with no message: %v", name, err)
	}
	return e
}

// withoutVar drops every NAME=... from env.
func withoutVar(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// delegateVerb runs the IPAM plugin for a verb without a result (DEL,
// CHECK, GC, STATUS).
func delegateVerb(ctx context.Context, typ, verb string, netconf []byte) error {
	_, err := delegate(ctx, typ, verb, netconf)
	return err
}

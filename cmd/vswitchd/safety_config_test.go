package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConfigKeysAreFlagNames: the file's keys are the flag names (the old
// underscore spellings too); a typo is an error naming the key and the
// valid ones (it used to be ignored: "stat-dir" fell back to
// /var/lib/vswitch).
func TestConfigKeysAreFlagNames(t *testing.T) {
	o := defaultOptions()
	fs, _ := newFlags(&o)
	path := filepath.Join(t.TempDir(), "vswitchd.json")
	write := func(s string) {
		require.NoError(t, os.WriteFile(path, []byte(s), 0o600))
	}
	write(`{"state-dir": "/srv/vs", "pool_frames": 4096, "fast-path": false, "log-level": "debug", "capture-dir": "/srv/cap"}`)
	require.NoError(t, loadConfig(path, fs, []string{"--log-level", "warn", "--config", path}))
	require.Equal(t, "/srv/vs", o.StateDir)
	require.Equal(t, 4096, o.PoolFrames)
	require.False(t, o.FastPath)
	require.Equal(t, "warn", o.LogLevel, "the command line overrides the file")
	require.Equal(t, "/srv/cap", o.CaptureDir)

	for _, tc := range []struct{ file, want string }{
		{`{"stat-dir": "/x"}`, `unknown key "stat-dir" (valid keys: capture-dir, cores, docker-plugin, etcd, etcd-prefix, fast-path, group, ipam-etcd-prefix, log-file, log-level, metrics-addr, poll-mode, pool-frames, shared-pools, socket, state-dir, sysfs)`},
		{`{"config": "/x"}`, `unknown key "config"`},
		{`{"state-dir": "/a", "state_dir": "/b"}`, `given twice`},
		{`{"pool-frames": "many"}`, `key "pool-frames"`},
		{`{"pool-frames": 1.5}`, `key "pool-frames"`},
		{`{"cores": ["1"]}`, `want a string, number or true/false`},
		{`{"cores": null}`, `want a string, number or true/false`},
		{`["state-dir"]`, `want a JSON object`},
		{`{"cores": "1"} {}`, `more after`},
		{`{"cores": "1"`, `EOF`},
	} {
		write(tc.file)
		o := defaultOptions()
		fs, _ := newFlags(&o)
		require.ErrorContains(t, loadConfig(path, fs, nil), tc.want, "%s", tc.file)
	}
}

// TestPoolFramesRange: --pool-frames 0 is an error like any size the
// pool cannot have (it quietly gave the switch's own default, 8192, while
// --help says 16384); the default and the bounds are taken.
func TestPoolFramesRange(t *testing.T) {
	for _, n := range []int{0, -1, 255, 1<<24 + 1} {
		o := defaultOptions()
		o.PoolFrames = n
		_, err := switchOptions(o, nil)
		require.ErrorContains(t, err, "want 256 to 16777216 buffers per worker (default 16384)", "%d", n)
	}
	for _, n := range []int{256, 16384, 1 << 24} {
		o := defaultOptions()
		o.PoolFrames = n
		so, err := switchOptions(o, nil)
		require.NoError(t, err, "%d", n)
		require.Equal(t, n, so.PoolFrames)
	}
	o := defaultOptions()
	fs, _ := newFlags(&o)
	require.NoError(t, fs.Parse(nil))
	so, err := switchOptions(o, nil)
	require.NoError(t, err)
	require.Equal(t, 16384, so.PoolFrames, "--help's default")
	require.Contains(t, fs.Lookup("pool-frames").Usage, "256 to 16777216")
	require.Equal(t, "16384", fs.Lookup("pool-frames").DefValue)
}

// TestEtcdEndpoints: --etcd's endpoints are checked for syntax at start,
// without contacting them (vswitchd --etcd notaurl started, and the first
// use failed after a 10 s timeout).
func TestEtcdEndpoints(t *testing.T) {
	eps, err := etcdEndpoints("http://10.0.0.1:2379, https://[fd00::1]:2379/,etcd-0.example:2379,unix:///run/etcd.sock,unixs://etcd.sock")
	require.NoError(t, err)
	require.Equal(t, []string{"http://10.0.0.1:2379", "https://[fd00::1]:2379/", "etcd-0.example:2379", "unix:///run/etcd.sock", "unixs://etcd.sock"}, eps)
	for _, bad := range []string{"notaurl", "http://10.0.0.1", "http://:2379", "ftp://10.0.0.1:2379", "http://10.0.0.1:99999",
		"http://10.0.0.1:2379/v3/kv", "http://u:p@10.0.0.1:2379", "http://10.0.0.1:2379,", "http://%zz:1", "unix://", "10.0.0.1:x"} {
		_, err := etcdEndpoints(bad)
		require.ErrorContains(t, err, "want a URL such as http://10.0.0.1:2379", bad)
	}
	_, err = etcdEndpoints("notaurl")
	require.EqualError(t, err, `etcd endpoint "notaurl": no host:port: want a URL such as http://10.0.0.1:2379 (http, https, unix or unixs; several separated by commas)`)
}

// FuzzParseConfig: the parser never panics, and what it accepts names
// only valid flags, each once.
func FuzzParseConfig(f *testing.F) {
	valid := []string{"cores", "fast-path", "pool-frames", "state-dir"}
	for _, s := range []string{`{}`, `{"state-dir": "/x", "pool_frames": 3, "fast-path": true}`, `{"a": {"b": 1}}`, `[1]`, `{"cores": "1"} x`, `{"cores"`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		settings, err := parseConfig(b, valid)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, s := range settings {
			if !slices.Contains(valid, s.flag) || seen[s.flag] {
				t.Fatalf("%q: accepted %q", b, s.flag)
			}
			seen[s.flag] = true
		}
	})
}

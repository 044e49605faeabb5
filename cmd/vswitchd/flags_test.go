package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWithoutDetach: the child of --detach gets the arguments without
// --detach in every spelling the flag package takes (only --detach,
// --detach=true and --detach=1 were dropped: --detach=t made each child
// detach again, without end); other flags' values stay, even one that
// reads "--detach".
func TestWithoutDetach(t *testing.T) {
	o := defaultOptions()
	fs, _ := newFlags(&o)
	rest := []string{"--socket", "/run/s.sock", "-takeover", "--fast-path=false", "--cores", "1"}
	var spellings []string
	for _, dash := range []string{"-", "--"} {
		spellings = append(spellings, dash+"detach")
		for _, v := range []string{"1", "0", "t", "f", "T", "F", "true", "false", "TRUE", "FALSE", "True", "False"} {
			spellings = append(spellings, dash+"detach="+v)
		}
	}
	for _, sp := range spellings {
		o := defaultOptions()
		fs, _ := newFlags(&o)
		args := append([]string{sp}, rest...)
		require.NoError(t, fs.Parse(args), sp)
		require.Equal(t, rest, withoutDetach(fs, args), sp)
		require.Equal(t, rest, withoutDetach(fs, append(rest[:2:2], append([]string{sp}, rest[2:]...)...)), sp)
	}
	for _, tc := range []struct{ in, want []string }{
		{[]string{"--socket", "--detach", "--detach=t"}, []string{"--socket", "--detach"}},
		{[]string{"--state-dir=/x", "--detach=True", "-cores", "0x3"}, []string{"--state-dir=/x", "-cores", "0x3"}},
		{[]string{"--detach", "--", "--detach"}, []string{"--", "--detach"}},
		{[]string{"--takeover", "--detach=T", "extra", "--detach"}, []string{"--takeover", "extra", "--detach"}},
	} {
		require.Equal(t, tc.want, withoutDetach(fs, tc.in), "%q", tc.in)
	}
}

// TestCoresOnThisHost: --cores naming a CPU the host lacks is a bad flag
// that names the host's CPUs (it failed after the configuration was
// replayed: "pin to cpu 7: invalid argument").
func TestCoresOnThisHost(t *testing.T) {
	o := defaultOptions()
	o.Cores = "1,7"
	_, err := switchOptions(o, []int{0, 1})
	require.EqualError(t, err, `cores "1,7": this host has no CPU 7 (its CPUs: 0-1)`)
	o.Cores = "0x3"
	so, err := switchOptions(o, []int{0, 1})
	require.NoError(t, err)
	require.Equal(t, []int{0, 1}, so.CPUs)
	o.Cores = "7"
	_, err = switchOptions(o, nil)
	require.NoError(t, err, "not known: not checked")

	for _, tc := range []struct {
		in   []int
		want string
	}{{[]int{0}, "0"}, {[]int{0, 1, 2, 3}, "0-3"}, {[]int{0, 2, 3, 4, 7, 9, 10}, "0,2-4,7,9-10"}, {nil, ""}} {
		require.Equal(t, tc.want, formatCPUs(tc.in))
	}
	if cpus := hostCPUs(); cpus != nil {
		b, err := os.ReadFile("/sys/devices/system/cpu/online")
		require.NoError(t, err)
		require.Equal(t, strings.TrimSpace(string(b)), formatCPUs(cpus))
	}
}

// TestMetricsAddr: --metrics-addr's syntax is a flag error (a missing
// port made the start fail after the replay, and a takeover after the
// handover).
func TestMetricsAddr(t *testing.T) {
	for _, ok := range []string{":9477", "127.0.0.1:9477", "[::1]:0", "localhost:65535", "0.0.0.0:80"} {
		require.NoError(t, checkMetricsAddr(ok), ok)
	}
	for bad, want := range map[string]string{
		"127.0.0.1":       `metrics-addr "127.0.0.1": missing port in address: want HOST:PORT, or :PORT for loopback (":9477")`,
		"9477":            "missing port in address",
		":http":           `port "http" is not a number from 0 to 65535`,
		"127.0.0.1:65536": `port "65536" is not a number`,
		"::1:9477":        "too many colons",
		":":               `port "" is not a number`,
	} {
		err := checkMetricsAddr(bad)
		require.ErrorContains(t, err, want, bad)
	}
	require.Equal(t, "127.0.0.1:9477", metricsListenAddr(":9477"))
	require.Equal(t, "[::1]:9477", metricsListenAddr("[::1]:9477"))
}

// TestConfigValueErrors: a config value the flag refuses says what the
// key wants (it said only `key "fast-path": parse error`).
func TestConfigValueErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vswitchd.json")
	for file, want := range map[string]string{
		`{"fast-path": "maybe"}`:    `key "fast-path": want true or false, not "maybe"`,
		`{"shared_pools": 2}`:       `key "shared-pools": want true or false, not "2"`,
		`{"pool-frames": "many"}`:   `key "pool-frames": want a whole number, not "many"`,
		`{"pool-frames": 1.5}`:      `key "pool-frames": want a whole number, not "1.5"`,
		`{"pool-frames": 1e40}`:     `key "pool-frames": want a whole number, not "1e40"`,
		`{"fast-path": "disabled"}`: `want true or false`,
	} {
		require.NoError(t, os.WriteFile(path, []byte(file), 0o600))
		o := defaultOptions()
		fs, _ := newFlags(&o)
		err := loadConfig(path, fs, nil)
		require.ErrorContains(t, err, want, file)
		require.NotContains(t, err.Error(), "parse error", file)
	}
}

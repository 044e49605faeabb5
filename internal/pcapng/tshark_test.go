package pcapng

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTshark reads the sample capture with tshark, when it is installed,
// and checks the interface names, comments and directions it reports.
// Field names vary between Wireshark versions, so they are looked up in
// "tshark -G fields".
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not on PATH; install Wireshark's tshark to check the file with Wireshark's reader")
	}
	file := filepath.Join(t.TempDir(), "sample.pcapng")
	require.NoError(t, os.WriteFile(file, writeSample(t, Options{}), 0o600))
	ifaces, pkts := sample()

	out, err := exec.Command(tshark, "-G", "fields").Output()
	require.NoError(t, err, "tshark -G fields")
	known := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if f := strings.Split(sc.Text(), "\t"); len(f) > 2 && f[0] == "F" {
			known[f[2]] = true
		}
	}
	require.NoError(t, sc.Err())
	pick := func(names ...string) string {
		for _, n := range names {
			if known[n] {
				return n
			}
		}
		return ""
	}
	ifField := pick("frame.interface_name")
	commentField := pick("frame.comment", "pkt_comment")
	dirField := pick("frame.packet_flags_direction")
	require.NotEmpty(t, ifField, "tshark has no interface name field")
	require.NotEmpty(t, commentField, "tshark has no packet comment field")
	fields := []string{ifField, commentField}
	if dirField != "" {
		fields = append(fields, dirField)
	} else {
		t.Log("tshark has no frame.packet_flags_direction field; directions not checked")
	}

	args := []string{"-r", file, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command(tshark, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	require.NoError(t, err, "tshark %s: %s", strings.Join(args, " "), stderr.String())
	for _, bad := range []string{"damaged", "corrupt", "rror"} {
		require.NotContains(t, stderr.String(), bad, "tshark stderr")
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	require.Len(t, lines, len(pkts), "tshark output:\n%s", out)
	for i, p := range pkts {
		f := strings.Split(lines[i], "\t")
		require.Len(t, f, len(fields), "line %d: %q", i, lines[i])
		require.Equal(t, ifaces[p.Interface].name, f[0], "packet %d interface name", i)
		require.Equal(t, p.Comment, f[1], "packet %d comment", i)
		if dirField != "" {
			dir := uint64(0)
			if f[2] != "" {
				dir, err = strconv.ParseUint(f[2], 0, 32)
				require.NoError(t, err, "packet %d direction %q", i, f[2])
			}
			require.Equal(t, uint64(p.Dir), dir, "packet %d direction", i)
		}
	}
}

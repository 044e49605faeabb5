package vhostuser_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/internal/dpdktest"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

// testpmd is DPDK's testpmd with a virtio_user port on a vhost-user
// socket (internal/dpdktest), under the names these tests use.
type testpmd struct{ *dpdktest.Testpmd }

func needTestpmd(t testing.TB) string { return dpdktest.Need(t) }

// startTestpmd starts testpmd on sock (see dpdktest.Start).
func startTestpmd(t testing.TB, sock, cores, vdevArgs string, appArgs ...string) *testpmd {
	t.Helper()
	return &testpmd{dpdktest.Start(t, sock, cores, vdevArgs, appArgs...)}
}

func (p *testpmd) output() string                    { return p.Output() }
func (p *testpmd) run(line string) string            { return p.Run(line) }
func (p *testpmd) waitFor(s string, d time.Duration) { p.WaitFor(s, d) }
func (p *testpmd) stats() (rx, tx uint64)            { return p.Stats() }
func (p *testpmd) quit()                             { p.Quit() }
func (p *testpmd) kill()                             { p.Kill() }

// waitUntil polls cond every 50ms for up to d.
func waitUntil(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// snmp reads a counter of /proc/net/snmp in a namespace, e.g. "Udp",
// "NoPorts".
func snmp(t testing.TB, ns *nettest.NS, group, name string) uint64 {
	t.Helper()
	out, err := ns.Command("cat", "/proc/net/snmp").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var header []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != group+":" {
			continue
		}
		if header == nil {
			header = f
			continue
		}
		for i, h := range header {
			if h == name {
				n, _ := strconv.ParseUint(f[i], 10, 64)
				return n
			}
		}
	}
	t.Fatalf("no %s %s in /proc/net/snmp", group, name)
	return 0
}

func macString(b []byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

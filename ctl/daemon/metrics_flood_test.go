package daemon

import (
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(es)
}

// A flood of idle connections to the metrics listener holds at most
// metricsConns descriptors of the daemon (it held one per connection:
// enough of them took every descriptor, and the control socket's accept
// failing stopped vswitchd), and once the idle ones are cut off a scrape
// is served again.
func TestMetricsIdleFlood(t *testing.T) {
	m := startMem(t, t.TempDir())
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := probe.Addr().String()
	probe.Close()
	srv, err := m.d.ServeMetrics(addr)
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })

	const flood = 200
	base := openFDs(t)
	var conns []net.Conn
	for range flood {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	// Our flood ends hold flood descriptors; the server may hold up to
	// metricsConns more (not one per connection).
	for range 20 {
		require.LessOrEqual(t, openFDs(t)-base, flood+metricsConns+8, "the metrics server holds a descriptor per idle connection")
		time.Sleep(50 * time.Millisecond)
	}
	cl := &http.Client{Timeout: 30 * time.Second}
	resp, err := cl.Get("http://" + addr + "/metrics")
	require.NoError(t, err, "no scrape after a flood of idle connections")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "vswitch_")
}

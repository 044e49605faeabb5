package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/vecswitch/vecswitch/ctl/daemon"
)

// The listeners vswitchd serves besides its control socket, --metrics-addr
// and --docker-plugin, are checked before anything runs: a plain start
// refuses a malformed address as a bad flag and one it cannot bind before
// it replays the configuration; a takeover fails before the handover, so
// the old vswitchd keeps running. A takeover's successor cannot bind the
// addresses the old vswitchd serves on until it exits: it makes sure that
// the old one (its PID, from the takeover handshake) is what holds them,
// and binds them after the commit.

// checkMetricsAddr checks --metrics-addr's syntax: HOST:PORT or :PORT.
func checkMetricsAddr(s string) error {
	const want = `want HOST:PORT, or :PORT for loopback (":9477")`
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			err = errors.New(ae.Err)
		}
		return fmt.Errorf("metrics-addr %q: %v: %s", s, err, want)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("metrics-addr %q: port %q is not a number from 0 to 65535: %s", s, port, want)
	}
	return nil
}

// metricsListenAddr is where --metrics-addr binds (loopback without a
// host, as daemon.ServeMetrics does).
func metricsListenAddr(s string) string {
	host, port, _ := net.SplitHostPort(s)
	if host == "" {
		host = daemon.DefaultMetricsHost
	}
	return net.JoinHostPort(host, port)
}

// listeners are what claimListeners found.
type listeners struct {
	// metrics holds --metrics-addr until daemon.ServeMetrics binds it
	// again (nil: off, or the old vswitchd holds it).
	metrics net.Listener
}

// claimListeners checks (and, for the metrics address, binds) the
// listeners o asks for; giverPID is the vswitchd being taken over (0: a
// plain start), which may hold them.
func claimListeners(o options, giverPID int) (*listeners, error) {
	ls := &listeners{}
	if o.Metrics != "" {
		ln, err := claimMetrics(o.Metrics, giverPID)
		if err != nil {
			return nil, err
		}
		ls.metrics = ln
	}
	if o.Docker != "" {
		if err := claimDocker(o.Docker, giverPID); err != nil {
			ls.close()
			return nil, err
		}
	}
	return ls, nil
}

// releaseMetrics closes the held metrics listener, for ServeMetrics to
// bind the address at once.
func (ls *listeners) releaseMetrics() {
	if ls.metrics != nil {
		ls.metrics.Close()
		ls.metrics = nil
	}
}

func (ls *listeners) close() { ls.releaseMetrics() }

func claimMetrics(addr string, giverPID int) (net.Listener, error) {
	at := metricsListenAddr(addr)
	ln, err := net.Listen("tcp", at)
	if err == nil {
		return ln, nil
	}
	if giverPID > 0 && errors.Is(err, syscall.EADDRINUSE) {
		if ta, rerr := net.ResolveTCPAddr("tcp", at); rerr == nil && heldOnlyBy(giverPID, tcpListeners(ta)) {
			return nil, nil // the old vswitchd's: free once it exits
		}
		return nil, fmt.Errorf("metrics-addr %s: another process than the running vswitchd (pid %d) holds it: %w", addr, giverPID, err)
	}
	return nil, fmt.Errorf("metrics-addr %s: %w", addr, err)
}

// claimDocker checks what dockernet.Serve will check (the directory, a
// file that is no socket, another plugin serving on the path) and that
// the socket can be made.
func claimDocker(path string, giverPID int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("docker-plugin: %w", err)
	}
	fi, statErr := os.Lstat(path)
	if statErr == nil && fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("docker-plugin %s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		if giverPID > 0 && heldOnlyBy(giverPID, unixListeners(path)) {
			return nil // the old vswitchd's: it removes it as it exits
		}
		return fmt.Errorf("docker-plugin %s: another plugin serves on it", path)
	}
	if statErr == nil {
		os.Remove(path) // a socket no one serves on, as dockernet.Serve does
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("docker-plugin: %w", err)
	}
	return ln.Close() // removes it
}

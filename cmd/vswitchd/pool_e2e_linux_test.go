package main_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
)

// TestManyPortsOnOneWorker attaches 64 AF_XDP container ports (io=afxdp)
// to a daemon with the default flags (one worker, the default buffer pool
// and AF_XDP ring size) and pings from every container to its neighbour: every port must
// receive. Before the AF_XDP fill budget, the first four sockets took the
// whole pool into their fill rings and every later port was silently dead.
func TestManyPortsOnOneWorker(t *testing.T) {
	const n = 64
	start := time.Now()
	d := newDaemon(t)
	d.must("add-br", "br0")
	sfx := nettest.Suffix()
	nss := make([]*nettest.NS, n)
	names := make([]string, n)
	for i := range n {
		nss[i] = nettest.NewNS(t)
		names[i] = fmt.Sprintf("pl%02d%s", i, sfx)
		d.must("add-port", "br0", names[i], "type=veth", "io=afxdp", "netns="+nss[i].Path(), fmt.Sprintf("ip=10.71.0.%d/24", i+1))
	}
	t.Logf("%d ports attached in %v", n, time.Since(start).Round(time.Millisecond))

	// Every container pings its neighbour (i^1), 16 at a time: each port
	// both sends and receives.
	errs := make([]error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = ping(nss[i], fmt.Sprintf("10.71.0.%d", (i^1)+1))
		}()
	}
	wg.Wait()
	dead := 0
	for i, err := range errs {
		if err != nil {
			dead++
			t.Errorf("port %s (container %d): %v", names[i], i, err)
		}
	}
	require.Zero(t, dead, "%d of %d ports could not ping", dead, n)

	// Each port's driver says its queue never starved, and that the 64
	// sockets share one pool.
	var stats []ctl.PortStats
	require.NoError(t, d.vsctlJSON(&stats, "port/stats"))
	seen := 0
	for _, ps := range stats {
		var drv struct {
			FillEmpty uint64 `json:"fill_empty"`
			Queues    []struct {
				FillStarved uint64 `json:"fill_starved"`
				Pool        struct {
					Sockets int `json:"sockets"`
				} `json:"pool"`
			} `json:"queues"`
		}
		b, err := json.Marshal(ps.Driver)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &drv))
		require.Zero(t, drv.FillEmpty, "port %s starved: %s", ps.Name, b)
		require.Len(t, drv.Queues, 1, "port %s: %s", ps.Name, b)
		require.Zero(t, drv.Queues[0].FillStarved, "port %s: %s", ps.Name, b)
		require.Equal(t, n, drv.Queues[0].Pool.Sockets, "port %s: %s", ps.Name, b)
		seen++
	}
	require.Equal(t, n, seen)
	t.Logf("done in %v", time.Since(start).Round(time.Millisecond))
}

// TestPortRefusedWhenPoolFull runs the daemon with a pool that serves four
// AF_XDP sockets: the fifth container port is refused with an error that
// names the numbers and the flag to raise, is not left half attached, and
// the four others still ping.
func TestPortRefusedWhenPoolFull(t *testing.T) {
	d := newDaemon(t, "--pool-frames", "1024")
	d.must("add-br", "br0")
	sfx := nettest.Suffix()
	var nss []*nettest.NS
	for i := range 4 {
		ns := nettest.NewNS(t)
		nss = append(nss, ns)
		d.must("add-port", "br0", fmt.Sprintf("pf%d%s", i, sfx), "type=veth", "io=afxdp", "netns="+ns.Path(), fmt.Sprintf("ip=10.72.0.%d/24", i+1))
	}
	out, err := d.vsctl("add-port", "br0", "pf4"+sfx, "type=veth", "io=afxdp", "netns="+nettest.NewNS(t).Path(), "ip=10.72.0.5/24")
	require.Error(t, err, "a fifth port on a pool for four was accepted: %s", out)
	for _, s := range []string{"pool of 1024 frames serves 4 sockets", "--pool-frames"} {
		require.Contains(t, out, s)
	}
	t.Logf("refused: %s", out)
	var show ctl.ShowView
	require.NoError(t, d.vsctlJSON(&show, "show"))
	require.Len(t, show.Bridges[0].Ports, 4, "the refused port is not kept")
	for i := range 4 {
		require.NoError(t, ping(nss[i], fmt.Sprintf("10.72.0.%d", (i^1)+1)))
	}
}

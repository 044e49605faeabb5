package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/etcdtest"
	"github.com/vecswitch/vecswitch/ipam/etcdblocks"
)

// Two daemons sharing one etcd hand out addresses of one pool, each from
// the blocks it has claimed there.

func withClaims(url string) func(*Config) {
	return func(c *Config) {
		c.Claims = func(host string) (BlockClaims, error) {
			return etcdblocks.New(etcdblocks.Config{Endpoints: []string{url}, Host: host})
		}
	}
}

func TestIPAMTwoHostsShareEtcd(t *testing.T) {
	e := etcdtest.Start(t)
	a := startMem(t, t.TempDir(), withClaims(e.URL))
	b := startMem(t, t.TempDir(), withClaims(e.URL))
	require.NotEqual(t, a.d.state.HostID, b.d.state.HostID)
	for _, m := range []*memDaemon{a, b} {
		m.ok(t, nil, "ipam/pool-add", "pods", "subnet=10.50.0.0/22", "block=26")
	}
	// Another definition of the pool is refused by the second host.
	c := startMem(t, t.TempDir(), withClaims(e.URL))
	c.fails(t, ctl.CodeInvalid, "ipam/pool-add", "pods", "subnet=10.60.0.0/22")

	const n = 500
	addrs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32) // 32 clients at a time per daemon, within the server's limits
	for i := range n {
		m := a
		if i%2 == 1 {
			m = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cl, err := ctl.Dial(filepath.Join(m.dir, "ctl.sock"), time.Minute)
			if err != nil {
				errs[i] = err
				return
			}
			defer cl.Close()
			var l ctl.LeaseView
			errs[i] = cl.Call("ipam/alloc", []string{"pods", fmt.Sprintf("test/%d", i)}, &l)
			if errs[i] == nil && len(l.Addrs) == 1 {
				addrs[i] = l.Addrs[0]
			}
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for i := range n {
		require.NoError(t, errs[i], "allocation %d", i)
		require.NotEmpty(t, addrs[i])
		j, dup := seen[addrs[i]]
		require.False(t, dup, "%s given to %d and %d", addrs[i], j, i)
		seen[addrs[i]] = i
	}

	// Each host's addresses are in its own blocks, and the blocks in etcd
	// are disjoint and name their holders.
	blocks := map[string]string{} // block -> host id
	resp, err := e.Client.Get(context.Background(), "/vecswitch/ipam/blocks/pods/", clientv3.WithPrefix())
	require.NoError(t, err)
	for _, kv := range resp.Kvs {
		blocks[strings.TrimPrefix(string(kv.Key), "/vecswitch/ipam/blocks/pods/")] = string(kv.Value)
	}
	require.GreaterOrEqual(t, len(blocks), n/62, "500 addresses need at least 9 blocks of 62")
	for i, s := range addrs {
		host := a.d.state.HostID
		if i%2 == 1 {
			host = b.d.state.HostID
		}
		p := netip.MustParsePrefix(s)
		blk := netip.PrefixFrom(p.Addr(), 26).Masked()
		key := blk.Addr().String() + "-26"
		require.Equal(t, host, blocks[key], "%s (host %s) is in block %s held by %q", s, host, key, blocks[key])
	}
	var pv []ctl.PoolView
	a.ok(t, &pv, "ipam/show")
	require.Equal(t, n/2, pv[0].Ranges[0].Used)
	require.NotEmpty(t, pv[0].Ranges[0].Blocks)

	// A host gives back a block once it holds no lease in it.
	first := netip.PrefixFrom(netip.MustParsePrefix(addrs[0]).Addr(), 26).Masked()
	firstKey := "/vecswitch/ipam/blocks/pods/" + first.Addr().String() + "-26"
	for i := 0; i < n; i += 2 {
		if first.Contains(netip.MustParsePrefix(addrs[i]).Addr()) {
			a.ok(t, nil, "ipam/release", "pods", fmt.Sprintf("owner=test/%d", i))
		}
	}
	resp, err = e.Client.Get(context.Background(), firstKey)
	require.NoError(t, err)
	require.Empty(t, resp.Kvs, "%s: a block with no lease is given back", first)
	resp, err = e.Client.Get(context.Background(), "/vecswitch/ipam/blocks/pods/", clientv3.WithPrefix())
	require.NoError(t, err)
	require.Len(t, resp.Kvs, len(blocks)-1, "the other blocks are kept")
}

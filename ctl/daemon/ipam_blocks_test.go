package daemon

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/etcdtest"
)

// The copy of the blocks a host holds (ipam_blocks.go): a restart while
// etcd is out of reach hands out addresses from them and from nothing
// else; a block given back leaves the copy; a damaged copy is ignored.

func readBlocksCopy(t *testing.T, dir string) blocksDoc {
	t.Helper()
	var doc blocksDoc
	b, err := os.ReadFile(filepath.Join(dir, BlocksFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &doc))
	return doc
}

func TestIPAMRestartEtcdDownUsesHeldBlocks(t *testing.T) {
	e := etcdtest.Start(t)
	px := etcdtest.StartProxy(t, e.URL)
	dir := t.TempDir()
	m := startMem(t, dir, withClaims(px.URL()))
	m.ok(t, nil, "ipam/pool-add", "qbc", "subnet=10.94.0.0/24", "block=28")
	require.Equal(t, "10.94.0.2/24", leaseAddr(t, m, "qbc", "x1"))
	require.Equal(t, [][]netip.Prefix{{netip.MustParsePrefix("10.94.0.0/28")}}, readBlocksCopy(t, dir).Pools["qbc"])
	m.stop()

	px.Cut()
	m = startMem(t, dir, withClaims(px.URL()))
	setClaimTimeout(m, 2*time.Second)
	require.Equal(t, "10.94.0.3/24", leaseAddr(t, m, "qbc", "x2"))
	// Only from the block held: once it is full, the next address needs
	// a claim, which waits for etcd.
	block := netip.MustParsePrefix("10.94.0.0/28")
	for i := 3; ; i++ {
		var l ctl.LeaseView
		err := m.call("ipam/alloc", []string{"qbc", "y" + string(rune('a'+i))}, &l)
		if err != nil {
			var ce *ctl.Error
			require.ErrorAs(t, err, &ce)
			require.Equal(t, ctl.CodeUnavail, ce.Code, ce.Message)
			break
		}
		require.True(t, block.Contains(netip.MustParsePrefix(l.Addrs[0]).Addr()), "%s outside the held block", l.Addrs[0])
		require.Less(t, i, 20, "more addresses than the block has")
	}
	require.Equal(t, []string{"10.94.0.0-28"}, etcdKeys(t, e, ipamKeys+"blocks/qbc/"))

	px.Heal()
	var l ctl.LeaseView
	require.Eventually(t, func() bool { return m.call("ipam/alloc", []string{"qbc", "z1"}, &l) == nil }, time.Minute, 100*time.Millisecond)
	require.Equal(t, "10.94.0.16/24", l.Addrs[0])
	require.Equal(t, []string{"10.94.0.0-28", "10.94.0.16-28"}, etcdKeys(t, e, ipamKeys+"blocks/qbc/"))
	require.Len(t, readBlocksCopy(t, dir).Pools["qbc"][0], 2)
}

// A block goes out of the copy when it is given back; one that could not
// be given back (etcd out of reach) stays in it.
func TestIPAMBlocksCopyFollowsReleases(t *testing.T) {
	e := etcdtest.Start(t)
	px := etcdtest.StartProxy(t, e.URL)
	dir := t.TempDir()
	m := startMem(t, dir, withClaims(px.URL()))
	setClaimTimeout(m, 2*time.Second)
	m.ok(t, nil, "ipam/pool-add", "qbr", "subnet=10.95.0.0/24", "block=28")
	leaseAddr(t, m, "qbr", "x1")
	m.ok(t, nil, "ipam/release", "qbr", "owner=x1")
	require.Empty(t, readBlocksCopy(t, dir).Pools)
	require.Empty(t, etcdKeys(t, e, ipamKeys+"blocks/qbr/"))

	leaseAddr(t, m, "qbr", "x2")
	px.Cut()
	m.ok(t, nil, "ipam/release", "qbr", "owner=x2")
	require.Equal(t, []string{"10.95.0.0-28"}, etcdKeys(t, e, ipamKeys+"blocks/qbr/"))
	require.Equal(t, [][]netip.Prefix{{netip.MustParsePrefix("10.95.0.0/28")}}, readBlocksCopy(t, dir).Pools["qbr"])
}

// A copy that is damaged, names another host or lists blocks that are not
// the pool's is not used: the daemon starts and reads its blocks from
// etcd.
func TestIPAMBlocksCopyIgnoredWhenBad(t *testing.T) {
	e := etcdtest.Start(t)
	dir := t.TempDir()
	m := startMem(t, dir, withClaims(e.URL))
	m.ok(t, nil, "ipam/pool-add", "qbi", "subnet=10.96.0.0/24", "block=28")
	require.Equal(t, "10.96.0.2/24", leaseAddr(t, m, "qbi", "x1"))
	host := m.d.state.HostID
	m.stop()

	for _, bad := range []string{
		"{not json",
		`{"host_id":"someone-else","pools":{"qbi":[["10.96.0.0/28"]]}}`,
		`{"host_id":"` + host + `","pools":{"qbi":[["10.96.0.16/27","10.97.0.0/28","10.96.0.19/28"]],"gone":[["10.1.0.0/28"]]}}`,
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, BlocksFile), []byte(bad), 0o600))
		m = startMem(t, dir, withClaims(e.URL))
		require.Empty(t, m.d.ipam.held["gone"])
		require.Nil(t, fitBlocks(m.d.state.pool("qbi").Pool, [][]netip.Prefix{{netip.MustParsePrefix("10.96.0.16/27")}}))
		require.Len(t, leaseAddr(t, m, "qbi", "x2"), len("10.96.0.3/24"))
		m.ok(t, nil, "ipam/release", "qbi", "owner=x2")
		m.stop()
	}
	// What etcd says was written back.
	require.Equal(t, [][]netip.Prefix{{netip.MustParsePrefix("10.96.0.0/28")}}, readBlocksCopy(t, dir).Pools["qbi"])
}

package dockernet

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// TestSubPoolEdges: an --ip-range that starts at the subnet's network
// address or ends at its (IPv4) broadcast address is taken, as Docker's
// own IPAM takes it (--ip-range equal to --subnet is common in compose
// files): those two addresses are left out of the range, never handed
// out, and the rest of the sub-pool is.
func TestSubPoolEdges(t *testing.T) {
	r := newRig(t, t.TempDir())
	for _, tc := range []struct {
		subnet, subPool string
		v6              bool
		start, end      string
		first           string // the first address handed out
	}{
		{"10.180.0.0/24", "10.180.0.0/24", false, "10.180.0.1", "10.180.0.254", "10.180.0.2/24"},
		{"10.182.0.0/24", "10.182.0.128/25", false, "10.182.0.128", "10.182.0.254", "10.182.0.128/24"},
		{"10.183.0.0/24", "10.183.0.0/25", false, "10.183.0.1", "10.183.0.127", "10.183.0.2/24"},
		{"fd00:180::/64", "fd00:180::/64", true, "fd00:180::1", "fd00:180::ffff:ffff:ffff:ffff", "fd00:180::2/64"},
		{"fd00:181::/64", "fd00:181::/120", true, "fd00:181::1", "fd00:181::ff", "fd00:181::2/64"},
	} {
		var p requestPoolResponse
		r.ok("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, Pool: tc.subnet, SubPool: tc.subPool, V6: tc.v6}, &p)
		require.Equal(t, tc.subnet, p.Pool)
		var pools []ctl.PoolView
		require.NoError(t, r.vs("ipam/show", &pools, p.PoolID))
		require.Len(t, pools, 1)
		require.Equal(t, tc.start, pools[0].Ranges[0].Start, tc.subPool)
		require.Equal(t, tc.end, pools[0].Ranges[0].End, tc.subPool)
		var a requestAddressResponse
		r.ok("IpamDriver.RequestAddress", requestAddressRequest{PoolID: p.PoolID}, &a)
		require.Equal(t, tc.first, a.Address, tc.subPool)
	}
	// A sub-pool of nothing but the network or broadcast address has
	// nothing to hand out.
	r.fails("IpamDriver.RequestPool", requestPoolRequest{AddressSpace: LocalAddressSpace, Pool: "10.184.0.0/24", SubPool: "10.184.0.255/32"}, 500, "no address to hand out")
}

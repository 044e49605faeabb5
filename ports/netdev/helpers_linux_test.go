package netdev_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports/netdev"
)

func nsHandle(t *testing.T, path string) *netlink.Handle {
	t.Helper()
	fd, err := netns.GetFromPath(path)
	require.NoError(t, err)
	defer fd.Close()
	h, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	require.NoError(t, err)
	t.Cleanup(h.Close)
	return h
}

// createVeth creates a pair and registers its deletion.
func createVeth(t *testing.T, opts netdev.VethOptions) *netdev.Veth {
	t.Helper()
	v, err := netdev.CreateVeth(opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := v.Delete(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return v
}

func addrsOf(t *testing.T, h *netlink.Handle, l netlink.Link) []string {
	t.Helper()
	as, err := h.AddrList(l, netlink.FAMILY_ALL)
	require.NoError(t, err)
	var out []string
	for _, a := range as {
		out = append(out, a.IPNet.String())
	}
	return out
}

func defaultGateways(t *testing.T, h *netlink.Handle, l netlink.Link) []string {
	t.Helper()
	var out []string
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := h.RouteList(l, fam)
		require.NoError(t, err)
		for _, r := range rs {
			if (r.Dst == nil || r.Dst.IP.IsUnspecified()) && r.Gw != nil {
				out = append(out, r.Gw.String())
			}
		}
	}
	return out
}

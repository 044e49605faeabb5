package netdev

import (
	"net/netip"
	"strings"
)

// HostUse is what the host itself uses an interface for: routes to the
// default destination through it and addresses on it. An interface the
// host uses is its uplink or its management interface; attaching a switch
// port to it (XDP and AF_XDP take its frames) cuts the host off.
type HostUse struct {
	// Link is the interface the use was found on: the one asked about,
	// or the bridge or bond it is enslaved to.
	Link string
	// DefaultRoutes are the default routes (0.0.0.0/0, ::/0) through it.
	DefaultRoutes []string
	// Addrs are its global-scope addresses (link-local ones do not count).
	Addrs []netip.Prefix
}

// InUse says whether the host uses the interface.
func (u HostUse) InUse() bool { return len(u.DefaultRoutes) > 0 || len(u.Addrs) > 0 }

// String describes the use, for an error message.
func (u HostUse) String() string {
	var parts []string
	if len(u.DefaultRoutes) > 0 {
		parts = append(parts, "carries the host's default route ("+strings.Join(u.DefaultRoutes, ", ")+")")
	}
	if len(u.Addrs) > 0 {
		as := make([]string, len(u.Addrs))
		for i, a := range u.Addrs {
			as[i] = a.String()
		}
		parts = append(parts, "has the host's address "+strings.Join(as, ", "))
	}
	return u.Link + " " + strings.Join(parts, " and ")
}

package netdev

import (
	"fmt"
	"net"
	"net/netip"
)

// MTU bounds accepted by this package (the kernel may narrow them further
// per device).
const (
	MinMTU = 68
	MaxMTU = 65535
)

// Route is a route through an interface. An invalid Gw makes it a direct
// (on-link) route to Dst.
type Route struct {
	Dst netip.Prefix
	Gw  netip.Addr
	// OnLink declares Gw reachable on the link even though no address of
	// the interface covers it (Calico-style 169.254.1.1 gateways).
	OnLink bool
}

func (r Route) String() string {
	s := r.Dst.String()
	if r.Gw.IsValid() {
		s += " via " + r.Gw.String()
	}
	if r.OnLink {
		s += " onlink"
	}
	return s
}

// LinkConfig is the configuration applied to an existing interface by
// Configure (and by CreateVeth to the container end). Zero fields leave the
// interface as it is.
type LinkConfig struct {
	// Name renames the interface (it is set down for the rename if up).
	Name string
	// MAC sets the hardware address; it must be a unicast EUI-48.
	MAC net.HardwareAddr
	// MTU sets the MTU (MinMTU..MaxMTU).
	MTU int
	// Addrs are added (IPv4 and IPv6); an address already there is fine.
	Addrs []netip.Prefix
	// Gateways each become a default route (0.0.0.0/0 or ::/0) via the
	// interface. A gateway outside the interface's subnets needs an
	// on-link route to it in Routes.
	Gateways []netip.Addr
	// Routes are added after the link is up, on-link ones before the
	// gateways and the others after; a route already there with the same
	// gateway is fine.
	Routes []Route
	// Up brings the link up before routes are added.
	Up bool
	// DAD runs IPv6 duplicate address detection on the new addresses. Off
	// by default: the addresses come from the switch's own allocation and
	// are usable at once instead of staying tentative for a second or two.
	DAD bool
	// TxChecksumOff switches TX checksum offload off (see the package doc).
	TxChecksumOff bool
	// GROOn switches generic receive offload on. A veth whose host end
	// carries the XDP fast path needs it on the container end: the kernel
	// delivers frames that XDP redirects into a veth only when its peer
	// runs NAPI (GRO on, or an XDP program there), and drops them
	// silently otherwise.
	GROOn bool
}

func (c *LinkConfig) validate() error {
	if c.Name != "" {
		if err := ValidateName(c.Name); err != nil {
			return err
		}
	}
	if c.MAC != nil && (len(c.MAC) != 6 || c.MAC[0]&1 != 0 || isZero(c.MAC)) {
		return wrapKind(ErrInvalid, fmt.Errorf("MAC %v is not a unicast EUI-48 address", c.MAC))
	}
	if c.MTU != 0 && (c.MTU < MinMTU || c.MTU > MaxMTU) {
		return wrapKind(ErrInvalid, fmt.Errorf("MTU %d outside %d..%d", c.MTU, MinMTU, MaxMTU))
	}
	for _, a := range c.Addrs {
		if !a.IsValid() || a.Addr().Zone() != "" {
			return wrapKind(ErrInvalid, fmt.Errorf("bad address %v", a))
		}
	}
	for _, g := range c.Gateways {
		if !g.IsValid() || g.IsUnspecified() || g.IsMulticast() {
			return wrapKind(ErrInvalid, fmt.Errorf("bad gateway %v", g))
		}
	}
	for _, r := range c.Routes {
		if !r.Dst.IsValid() || (r.Gw.IsValid() && r.Gw.Is4() != r.Dst.Addr().Is4()) || (!r.Gw.IsValid() && r.OnLink) {
			return wrapKind(ErrInvalid, fmt.Errorf("bad route %v", r))
		}
	}
	return nil
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// LinkInfo describes an interface as the kernel reports it.
type LinkInfo struct {
	Name  string
	Index int
	// Kind is the rtnetlink kind ("veth", "tun", "device" for hardware).
	Kind string
	MAC  net.HardwareAddr
	MTU  int
	// Up is the administrative state (IFF_UP).
	Up bool
	// RxQueues and TxQueues are the device's queue counts (see Queues).
	RxQueues, TxQueues int
	// Netns is the namespace path the interface was looked up in.
	Netns string
	// Addrs are the interface's addresses, IPv6 link-local ones left out.
	Addrs []netip.Prefix
	// Alias is the interface's alias (IFLA_IFALIAS; VethOptions.Alias).
	Alias string
}

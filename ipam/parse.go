package ipam

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ParseKeys are the keys ParsePool accepts.
var ParseKeys = []string{"subnet", "range", "gateway", "exclude", "block"}

// ParsePool builds a pool from the key=value form of vsctl and CNI
// netconfs:
//
//	subnet=CIDR[,CIDR]           one or two subnets (one IPv4, one IPv6); required
//	range=START-END[,START-END]  allocatable range of a subnet (each goes to the subnet holding it)
//	gateway=IP[,IP]              gateway of a subnet (likewise)
//	exclude=IP|CIDR[,...]        addresses never allocated (likewise)
//	block=N[,N]                  multi-host block prefix lengths, one per subnet in order
//
// Other keys are ErrInvalid. The result is Validate()d.
func ParsePool(name string, opts map[string]string) (Pool, error) {
	p := Pool{Name: name}
	if err := CheckName(name); err != nil {
		return p, err
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(ParseKeys, k) {
			return p, errorf(ErrInvalid, "pool %s: unknown key %q (known: %s)", name, k, strings.Join(ParseKeys, ", "))
		}
	}
	sub, ok := opts["subnet"]
	if !ok || sub == "" {
		return p, errorf(ErrInvalid, "pool %s: subnet=CIDR[,CIDR] is required", name)
	}
	for _, s := range strings.Split(sub, ",") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return p, errorf(ErrInvalid, "pool %s: subnet %q: not a CIDR", name, s)
		}
		p.Ranges = append(p.Ranges, Range{Subnet: pfx})
	}
	if len(p.Ranges) > 2 {
		return p, errorf(ErrInvalid, "pool %s: %d subnets; want one IPv4 and/or one IPv6 subnet", name, len(p.Ranges))
	}
	// rangeOf finds the range whose subnet holds a.
	rangeOf := func(key string, a netip.Addr) (*Range, error) {
		for i := range p.Ranges {
			if p.Ranges[i].Subnet.Contains(a) {
				return &p.Ranges[i], nil
			}
		}
		return nil, errorf(ErrInvalid, "pool %s: %s %s: in no subnet of the pool", name, key, a)
	}
	if v, ok := opts["range"]; ok {
		for _, item := range strings.Split(v, ",") {
			lo, hi, ok := strings.Cut(item, "-")
			start, err1 := netip.ParseAddr(lo)
			end, err2 := netip.ParseAddr(hi)
			if !ok || err1 != nil || err2 != nil {
				return p, errorf(ErrInvalid, "pool %s: range %q: want START-END", name, item)
			}
			r, err := rangeOf("range start", start)
			if err != nil {
				return p, err
			}
			if r.Start.IsValid() {
				return p, errorf(ErrInvalid, "pool %s: two ranges for subnet %s", name, r.Subnet)
			}
			r.Start, r.End = start, end
		}
	}
	if v, ok := opts["gateway"]; ok {
		for _, item := range strings.Split(v, ",") {
			gw, err := netip.ParseAddr(item)
			if err != nil {
				return p, errorf(ErrInvalid, "pool %s: gateway %q: not an address", name, item)
			}
			r, err := rangeOf("gateway", gw)
			if err != nil {
				return p, err
			}
			if r.Gateway.IsValid() {
				return p, errorf(ErrInvalid, "pool %s: two gateways for subnet %s", name, r.Subnet)
			}
			r.Gateway = gw
		}
	}
	if v, ok := opts["exclude"]; ok {
		for _, item := range strings.Split(v, ",") {
			x, err := parseAddrOrPrefix(item)
			if err != nil {
				return p, errorf(ErrInvalid, "pool %s: exclude %q: not an address or CIDR", name, item)
			}
			r, err := rangeOf("exclude", x.Addr())
			if err != nil {
				return p, err
			}
			r.Exclude = append(r.Exclude, x)
		}
	}
	if v, ok := opts["block"]; ok {
		items := strings.Split(v, ",")
		if len(items) != len(p.Ranges) {
			return p, errorf(ErrInvalid, "pool %s: block=%s: want one prefix length per subnet (%d), in order", name, v, len(p.Ranges))
		}
		for _, item := range items {
			n, err := strconv.Atoi(item)
			if err != nil || n < 0 || n > 128 {
				return p, errorf(ErrInvalid, "pool %s: block %q: not a prefix length", name, item)
			}
			p.BlockBits = append(p.BlockBits, n)
		}
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p, nil
}

// parseAddrOrPrefix parses "IP" as a single-address prefix, or "CIDR".
func parseAddrOrPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

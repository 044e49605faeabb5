package ipam

import (
	"net/netip"
	"slices"
)

// Limits of a pool definition.
const (
	MaxNameLen  = 64   // longest pool name
	MaxExcludes = 1024 // most exclude entries per range
	// DefaultBlockBits4 and DefaultBlockBits6 are the default block sizes
	// of multi-host mode (64 addresses), or the subnet itself when smaller.
	DefaultBlockBits4 = 26
	DefaultBlockBits6 = 122
)

// Range is one contiguous set of addresses of a subnet.
type Range struct {
	// Subnet is the masked network, e.g. 10.22.0.0/16 or fd00:22::/64.
	Subnet netip.Prefix `json:"subnet"`
	// Start is the first allocatable address. Default: the network
	// address + 1, or + 2 when the gateway is network + 1 (the default):
	// the first address after the gateway, as host-local does.
	Start netip.Addr `json:"start,omitzero"`
	// End is the last allocatable address. Default: the last address of
	// the subnet, minus one for IPv4 (the broadcast address).
	End netip.Addr `json:"end,omitzero"`
	// Gateway is the subnet's router, never allocated. Default: the
	// network address + 1. It must be in Subnet.
	Gateway netip.Addr `json:"gateway,omitzero"`
	// Exclude lists addresses never allocated (a single address is a /32
	// or /128). Each must be masked and inside Subnet; Validate sorts them.
	Exclude []netip.Prefix `json:"exclude,omitempty"`
}

// Pool is a named set of ranges: at most one IPv4 range and at most one
// IPv6 range (dual stack). A lease gets one address from each range.
type Pool struct {
	// Name is 1 to 64 characters of [A-Za-z0-9_.-], not starting with '.'.
	Name   string  `json:"name"`
	Ranges []Range `json:"ranges"`
	// BlockBits holds, per range, the prefix length of the blocks a host
	// claims in multi-host mode (ipam/etcdblocks). Default 26 for IPv4 and
	// 122 for IPv6, or the subnet's own length when that is longer. Each
	// must be between the subnet's length and 32 (IPv4) or 128 (IPv6).
	BlockBits []int `json:"block_bits,omitempty"`
}

// CheckName checks a pool name: 1 to 64 characters of [A-Za-z0-9_.-], not
// starting with '.' (so that it is one path element of a store key).
func CheckName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return errorf(ErrInvalid, "pool name %q: want 1 to %d characters", name, MaxNameLen)
	}
	if name[0] == '.' {
		return errorf(ErrInvalid, "pool name %q: must not start with '.'", name)
	}
	for _, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok {
			return errorf(ErrInvalid, "pool name %q: only letters, digits, '_', '.' and '-' are allowed", name)
		}
	}
	return nil
}

// Validate fills the defaults of p in place (Start, End, Gateway,
// BlockBits; it also sorts each range's Exclude) and checks the result.
// Errors wrap ErrInvalid and name the field at fault. Validate of a valid
// pool changes nothing.
func (p *Pool) Validate() error {
	if err := CheckName(p.Name); err != nil {
		return err
	}
	if len(p.Ranges) == 0 {
		return errorf(ErrInvalid, "pool %s: no range (give a subnet)", p.Name)
	}
	if len(p.Ranges) > 2 {
		return errorf(ErrInvalid, "pool %s: %d ranges; want one IPv4 and/or one IPv6 range", p.Name, len(p.Ranges))
	}
	for i := range p.Ranges {
		if err := p.Ranges[i].validate(); err != nil {
			return errorf(ErrInvalid, "pool %s: range %d: %v", p.Name, i, err)
		}
	}
	if len(p.Ranges) == 2 && p.Ranges[0].Subnet.Addr().Is4() == p.Ranges[1].Subnet.Addr().Is4() {
		return errorf(ErrInvalid, "pool %s: two %s ranges (%s, %s); want at most one per family", p.Name,
			family(p.Ranges[0].Subnet.Addr()), p.Ranges[0].Subnet, p.Ranges[1].Subnet)
	}
	if len(p.BlockBits) == 0 {
		p.BlockBits = make([]int, len(p.Ranges))
		for i, r := range p.Ranges {
			p.BlockBits[i] = max(r.Subnet.Bits(), defaultBlockBits(r.Subnet.Addr()))
		}
	}
	if len(p.BlockBits) != len(p.Ranges) {
		return errorf(ErrInvalid, "pool %s: block_bits has %d entries; want one per range (%d)", p.Name, len(p.BlockBits), len(p.Ranges))
	}
	for i, b := range p.BlockBits {
		s := p.Ranges[i].Subnet
		if b < s.Bits() || b > s.Addr().BitLen() {
			return errorf(ErrInvalid, "pool %s: block_bits %d of range %s: want %d to %d", p.Name, b, s, s.Bits(), s.Addr().BitLen())
		}
	}
	return nil
}

func defaultBlockBits(a netip.Addr) int {
	if a.Is4() {
		return DefaultBlockBits4
	}
	return DefaultBlockBits6
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// validate fills a range's defaults and checks it; the error names the
// field (the caller prefixes pool and range).
func (r *Range) validate() error {
	s := r.Subnet
	if !s.IsValid() {
		return errorf(ErrInvalid, "subnet: missing or not a CIDR")
	}
	if s.Addr().Is4In6() {
		return errorf(ErrInvalid, "subnet %s: an IPv4-mapped IPv6 subnet; write the IPv4 form", s)
	}
	if s != s.Masked() {
		return errorf(ErrInvalid, "subnet %s: host bits set (did you mean %s, gateway %s?)", s, s.Masked(), s.Addr())
	}
	// The network address, a gateway and an address to hand out (and
	// the broadcast address, for IPv4): a longer prefix has no room for
	// the gateway its defaults would put there. An IPv6 /127 with an
	// explicit range was taken before and may be stored: refused here, it
	// would keep the stored configuration from loading, so it goes on to
	// the checks below as before (which refuse it without a range); only
	// /128, never taken, is refused here.
	maxBits, tooLong := 30, s.Bits() > 30
	what := "a network address, a gateway, an address to hand out and a broadcast address"
	if s.Addr().Is6() {
		maxBits, tooLong = 126, s.Bits() > 127
		what = "a network address, a gateway and an address to hand out"
	}
	if tooLong {
		return errorf(ErrInvalid, "subnet %s: too small for a pool, which needs %s: give a /%d or a shorter prefix", s, what, maxBits)
	}
	network := s.Addr()
	last := lastAddr(s)
	if !r.Gateway.IsValid() {
		r.Gateway = network.Next()
	}
	if !r.Start.IsValid() {
		r.Start = network.Next()
		if r.Start == r.Gateway {
			r.Start = r.Start.Next()
		}
	}
	if !r.End.IsValid() {
		r.End = last
		if network.Is4() {
			r.End = last.Prev()
		}
	}
	// inSubnet checks one address field.
	inSubnet := func(field string, a netip.Addr) error {
		switch {
		case a.Zone() != "":
			return errorf(ErrInvalid, "%s %s: an address with a zone", field, a)
		case !s.Contains(a):
			return errorf(ErrInvalid, "%s %s: not in subnet %s", field, a, s)
		case a == network:
			return errorf(ErrInvalid, "%s %s: the subnet's network address", field, a)
		case a.Is4() && a == last:
			return errorf(ErrInvalid, "%s %s: the subnet's broadcast address", field, a)
		}
		return nil
	}
	if err := inSubnet("gateway", r.Gateway); err != nil {
		return err
	}
	if err := inSubnet("start", r.Start); err != nil {
		return err
	}
	if err := inSubnet("end", r.End); err != nil {
		return err
	}
	if r.End.Less(r.Start) {
		return errorf(ErrInvalid, "start %s is after end %s", r.Start, r.End)
	}
	if len(r.Exclude) > MaxExcludes {
		return errorf(ErrInvalid, "exclude: %d entries; at most %d", len(r.Exclude), MaxExcludes)
	}
	for _, x := range r.Exclude {
		switch {
		case !x.IsValid():
			return errorf(ErrInvalid, "exclude: an invalid prefix")
		case x != x.Masked():
			return errorf(ErrInvalid, "exclude %s: host bits set (did you mean %s?)", x, x.Masked())
		case x.Addr().Is4() != network.Is4() || x.Addr().Is4In6() || x.Bits() < s.Bits() || !s.Contains(x.Addr()):
			return errorf(ErrInvalid, "exclude %s: not in subnet %s", x, s)
		}
	}
	slices.SortFunc(r.Exclude, comparePrefix)
	return nil
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// Equal tells whether p and q define the same pool once defaults are
// filled in. It does not change p or q.
func (p Pool) Equal(q Pool) bool {
	p, q = p.clone(), q.clone()
	p.Validate()
	q.Validate()
	if p.Name != q.Name || len(p.Ranges) != len(q.Ranges) || !slices.Equal(p.BlockBits, q.BlockBits) {
		return false
	}
	for i, r := range p.Ranges {
		o := q.Ranges[i]
		if r.Subnet != o.Subnet || r.Start != o.Start || r.End != o.End || r.Gateway != o.Gateway || !slices.Equal(r.Exclude, o.Exclude) {
			return false
		}
	}
	return true
}

// Clone returns a deep copy of p.
func (p Pool) Clone() Pool { return p.clone() }

// clone is a deep copy.
func (p Pool) clone() Pool {
	p.Ranges = slices.Clone(p.Ranges)
	for i := range p.Ranges {
		p.Ranges[i].Exclude = slices.Clone(p.Ranges[i].Exclude)
	}
	p.BlockBits = slices.Clone(p.BlockBits)
	return p
}

// BlockOf returns the block of range i that holds a: the prefix of length
// BlockBits[i] (or the default block length when BlockBits is not filled
// in) around a.
func (p Pool) BlockOf(i int, a netip.Addr) netip.Prefix {
	bits := defaultBlockBits(a)
	if i < len(p.BlockBits) {
		bits = p.BlockBits[i]
	} else if i < len(p.Ranges) {
		bits = max(bits, p.Ranges[i].Subnet.Bits())
	}
	b, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return b
}

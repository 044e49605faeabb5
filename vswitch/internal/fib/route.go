package fib

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// MaxNextHop is the largest next-hop ID a table stores: IDs are 24 bits in
// the table entries. 0 is reserved for "no route".
const MaxNextHop = 1<<24 - 1

// Limits bound the memory of a table. The zero value picks the defaults.
type Limits struct {
	// Groups is the most 256-entry groups (1 KiB each): tbl8 groups of a
	// Table4, trie nodes of a Table6. 0: DefaultGroups4 or DefaultGroups6.
	Groups int
	// Leaves is the most leaves (32 B each) of a Table6; Table4 ignores it.
	// 0: DefaultLeaves6.
	Leaves int
}

// Defaults and ceilings of Limits.
const (
	// DefaultGroups4 holds 131072 prefixes longer than /24 in distinct /24s,
	// 128 MiB: several times what a full Internet table needs.
	DefaultGroups4 = 1 << 17
	// DefaultGroups6 holds 256 MiB of IPv6 trie nodes.
	DefaultGroups6 = 1 << 18
	// DefaultLeaves6 holds 4M IPv6 leaves, 128 MiB.
	DefaultLeaves6 = 1 << 22
	// MaxGroups is the ceiling of Limits.Groups (24-bit group index).
	MaxGroups = 1 << 24
	// MaxLeaves is the ceiling of Limits.Leaves (30-bit leaf index, 0
	// unused).
	MaxLeaves = 1<<30 - 1
)

func (l Limits) groups(def int) int {
	if l.Groups <= 0 {
		return def
	}
	return min(l.Groups, MaxGroups)
}

func (l Limits) leaves() int {
	if l.Leaves <= 0 {
		return DefaultLeaves6
	}
	return min(l.Leaves, MaxLeaves)
}

func checkNextHop(nh uint32) error {
	if nh == 0 || nh > MaxNextHop {
		return fmt.Errorf("%d not in [1, %d]: %w", nh, MaxNextHop, ErrInvalidNextHop)
	}
	return nil
}

// prefix4 validates an IPv4 prefix and returns its address and length.
func prefix4(p netip.Prefix) (uint32, int, error) {
	if !p.IsValid() || !p.Addr().Is4() {
		return 0, 0, fmt.Errorf("%v is not an IPv4 prefix: %w", p, ErrInvalidPrefix)
	}
	if p.Masked() != p {
		return 0, 0, fmt.Errorf("%v has host bits set: %w", p, ErrInvalidPrefix)
	}
	a := p.Addr().As4()
	return binary.BigEndian.Uint32(a[:]), p.Bits(), nil
}

// prefix6 validates an IPv6 prefix (IPv4-mapped ones included) and returns
// its address as two halves and its length.
func prefix6(p netip.Prefix) (key6, error) {
	if !p.IsValid() || !p.Addr().Is6() {
		return key6{}, fmt.Errorf("%v is not an IPv6 prefix: %w", p, ErrInvalidPrefix)
	}
	if p.Masked() != p {
		return key6{}, fmt.Errorf("%v has host bits set: %w", p, ErrInvalidPrefix)
	}
	a := p.Addr().As16()
	return key6{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]), uint8(p.Bits())}, nil
}

// key6 is an IPv6 prefix: address halves and length.
type key6 struct {
	hi, lo uint64
	bits   uint8
}

func (k key6) prefix() netip.Prefix {
	var a [16]byte
	binary.BigEndian.PutUint64(a[:8], k.hi)
	binary.BigEndian.PutUint64(a[8:], k.lo)
	return netip.PrefixFrom(netip.AddrFrom16(a), int(k.bits))
}

// mask6 is the network mask of a /bits IPv6 prefix, as two halves.
func mask6(bits int) (uint64, uint64) {
	switch {
	case bits == 0:
		return 0, 0
	case bits <= 64:
		return ^uint64(0) << (64 - bits), 0
	default:
		return ^uint64(0), ^uint64(0) << (128 - bits)
	}
}

// masked is k truncated to its first bits bits.
func (k key6) masked(bits int) key6 {
	mh, ml := mask6(bits)
	return key6{k.hi & mh, k.lo & ml, uint8(bits)}
}

// ctlBytesPerRoute estimates what one prefix costs in the control-side
// record: a Go map slot (16 or 32 bytes with its control byte) at a load
// between 7/16 and 7/8, checked by TestControlRecordBytes.
const (
	ctlBytesPerRoute4 = 28
	ctlBytesPerRoute6 = 56
)

package ipam

import (
	"math/big"
	"net/netip"
)

// u128 is an address as a 128-bit unsigned integer (IPv4 addresses as
// their IPv4-mapped IPv6 form), so that ranges as large as an IPv6 /64
// are walked and measured with arithmetic, never materialized.
type u128 struct{ hi, lo uint64 }

func fromAddr(a netip.Addr) u128 {
	b := a.As16()
	var u u128
	for i := range 8 {
		u.hi = u.hi<<8 | uint64(b[i])
		u.lo = u.lo<<8 | uint64(b[8+i])
	}
	return u
}

// addr converts back; is4 selects the IPv4 form.
func (u u128) addr(is4 bool) netip.Addr {
	var b [16]byte
	for i := range 8 {
		b[7-i] = byte(u.hi >> (8 * i))
		b[15-i] = byte(u.lo >> (8 * i))
	}
	a := netip.AddrFrom16(b)
	if is4 {
		return a.Unmap()
	}
	return a
}

func (u u128) less(v u128) bool {
	return u.hi < v.hi || (u.hi == v.hi && u.lo < v.lo)
}

func (u u128) add1() u128 {
	lo := u.lo + 1
	hi := u.hi
	if lo == 0 {
		hi++
	}
	return u128{hi, lo}
}

func (u u128) sub1() u128 {
	lo := u.lo - 1
	hi := u.hi
	if u.lo == 0 {
		hi--
	}
	return u128{hi, lo}
}

func (u u128) add(v u128) u128 {
	lo := u.lo + v.lo
	hi := u.hi + v.hi
	if lo < u.lo {
		hi++
	}
	return u128{hi, lo}
}

func (u u128) sub(v u128) u128 {
	lo := u.lo - v.lo
	hi := u.hi - v.hi
	if u.lo < v.lo {
		hi--
	}
	return u128{hi, lo}
}

// uint64Sat returns u, or the largest uint64 when u does not fit.
func (u u128) uint64Sat() uint64 {
	if u.hi != 0 {
		return ^uint64(0)
	}
	return u.lo
}

func (u u128) String() string {
	b := new(big.Int).SetUint64(u.hi)
	b.Lsh(b, 64)
	b.Or(b, new(big.Int).SetUint64(u.lo))
	return b.String()
}

// hostMask has ones in the low bits host bits of a prefix of length bits
// (counted in the 128-bit form).
func hostMask(bits int) u128 {
	switch host := 128 - bits; {
	case host <= 0:
		return u128{}
	case host >= 128:
		return u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		return u128{^uint64(0) >> (128 - host), ^uint64(0)}
	default:
		return u128{0, ^uint64(0) >> (64 - host)}
	}
}

// span is the first and last address of a prefix, inclusive.
func prefixSpan(p netip.Prefix) (lo, hi u128) {
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	lo = fromAddr(p.Masked().Addr())
	m := hostMask(bits)
	return lo, u128{lo.hi | m.hi, lo.lo | m.lo}
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	_, hi := prefixSpan(p)
	return hi.addr(p.Addr().Is4())
}

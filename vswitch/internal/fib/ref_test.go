package fib

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
)

// ref4 and ref6 are the reference models: a list of prefixes and a linear
// scan for the longest one containing the address.
type ref4 struct{ r []route4 }

type route4 struct {
	addr uint32
	bits int
	nh   uint32
}

func (m *ref4) find(addr uint32, bits int) int {
	for i, r := range m.r {
		if r.addr == addr && r.bits == bits {
			return i
		}
	}
	return -1
}

func (m *ref4) insert(addr uint32, bits int, nh uint32) {
	if i := m.find(addr, bits); i >= 0 {
		m.r[i].nh = nh
		return
	}
	m.r = append(m.r, route4{addr, bits, nh})
}

func (m *ref4) delete(addr uint32, bits int) bool {
	i := m.find(addr, bits)
	if i < 0 {
		return false
	}
	m.r[i] = m.r[len(m.r)-1]
	m.r = m.r[:len(m.r)-1]
	return true
}

func (m *ref4) lookup(a uint32) uint32 {
	best, nh := -1, uint32(0)
	for _, r := range m.r {
		if r.bits > best && (r.bits == 0 || (a^r.addr)>>(32-r.bits) == 0) {
			best, nh = r.bits, r.nh
		}
	}
	return nh
}

type ref6 struct{ r []route6 }

type route6 struct {
	k  key6
	nh uint32
}

func (m *ref6) find(k key6) int {
	for i, r := range m.r {
		if r.k == k {
			return i
		}
	}
	return -1
}

func (m *ref6) insert(k key6, nh uint32) {
	if i := m.find(k); i >= 0 {
		m.r[i].nh = nh
		return
	}
	m.r = append(m.r, route6{k, nh})
}

func (m *ref6) delete(k key6) bool {
	i := m.find(k)
	if i < 0 {
		return false
	}
	m.r[i] = m.r[len(m.r)-1]
	m.r = m.r[:len(m.r)-1]
	return true
}

func (m *ref6) lookup(hi, lo uint64) uint32 {
	best, nh := -1, uint32(0)
	for _, r := range m.r {
		if b := int(r.k.bits); b > best {
			mh, ml := mask6(b)
			if (hi^r.k.hi)&mh|(lo^r.k.lo)&ml == 0 {
				best, nh = b, r.nh
			}
		}
	}
	return nh
}

func pfx4(addr uint32, bits int) netip.Prefix {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], addr)
	return netip.PrefixFrom(netip.AddrFrom4(a), bits)
}

func addr4(s string) uint32 {
	a := netip.MustParseAddr(s).As4()
	return binary.BigEndian.Uint32(a[:])
}

func addr6(s string) (uint64, uint64) {
	a := netip.MustParseAddr(s).As16()
	return binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
}

// inside4 is a random address inside addr/bits.
func inside4(rng *rand.Rand, addr uint32, bits int) uint32 {
	if bits == 32 {
		return addr
	}
	return addr | rng.Uint32()&(1<<(32-bits)-1)
}

// inside6 is a random address inside k.
func inside6(rng *rand.Rand, k key6) (uint64, uint64) {
	mh, ml := mask6(int(k.bits))
	return k.hi | rng.Uint64()&^mh, k.lo | rng.Uint64()&^ml
}

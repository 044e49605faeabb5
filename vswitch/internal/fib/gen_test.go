package fib

import (
	"math/rand/v2"
	"net/netip"
)

// genRoutes4 draws n IPv4 prefixes with the length mix of an Internet
// table plus a share of longer ones: /24 57%, /20-/23 32%, /16-/19 5.5%,
// /8-/15 0.3%, /25-/32 5%, uniformly over 1.0.0.0-223.255.255.255. Some
// may repeat (an insert then replaces).
func genRoutes4(rng *rand.Rand, n int) []route4 {
	rs := make([]route4, n)
	for i := range rs {
		var bits int
		switch x := rng.IntN(1000); {
		case x < 3:
			bits = 8 + rng.IntN(8)
		case x < 55:
			bits = 16 + rng.IntN(4)
		case x < 375:
			bits = 20 + rng.IntN(4)
		case x < 950:
			bits = 24
		default:
			bits = 25 + rng.IntN(8)
		}
		a := (1<<24 + rng.Uint32N(223<<24)) &^ (1<<(32-bits) - 1)
		rs[i] = route4{a, bits, 1 + uint32(i)%MaxNextHop}
	}
	return rs
}

// genRoutes6 draws n IPv6 prefixes uniformly over 2000::/3, which shares
// fewer nodes than a real table: /32 15%, /33-/39 10%, /40 8%, /41-/47
// 12%, /48 40%, /49-/63 5%, /64 5%, /128 5%.
func genRoutes6(rng *rand.Rand, n int) []route6 {
	rs := make([]route6, n)
	for i := range rs {
		var bits int
		switch x := rng.IntN(100); {
		case x < 15:
			bits = 32
		case x < 25:
			bits = 33 + rng.IntN(7)
		case x < 33:
			bits = 40
		case x < 45:
			bits = 41 + rng.IntN(7)
		case x < 85:
			bits = 48
		case x < 90:
			bits = 49 + rng.IntN(15)
		case x < 95:
			bits = 64
		default:
			bits = 128
		}
		k := key6{1<<61 | rng.Uint64()>>3, rng.Uint64(), 128}
		rs[i] = route6{k.masked(bits), 1 + uint32(i)%MaxNextHop}
	}
	return rs
}

func (r route4) prefix() netip.Prefix { return pfx4(r.addr, r.bits) }

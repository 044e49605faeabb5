package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

// In blocks mode a wanted address must be in one of this host's blocks:
// another host hands out the addresses of its own. Outside them Allocate
// asks for the block that holds it, and nothing changes.
func TestAllocateWantedNeedsItsBlock(t *testing.T) {
	a := newAlloc(t, map[string]string{"subnet": "10.77.0.0/24,fd00:77::/120", "block": "28,124"})
	blocks := [][]netip.Prefix{{mustPrefix("10.77.0.0/28")}, {mustPrefix("fd00:77::/124")}}
	if l, err := a.Allocate("a1", nil, blocks); err != nil || l.Addrs[0].Addr() != mustAddr("10.77.0.2") {
		t.Fatalf("first lease: %v %v", l, err)
	}
	for _, tc := range []struct {
		want  string
		block string
		rng   int
	}{
		{"10.77.0.17", "10.77.0.16/28", 0},    // another host's block, or nobody's
		{"10.77.0.255", "", -1},               // the broadcast address: not in range
		{"fd00:77::42", "fd00:77::40/124", 1}, // IPv6 too
	} {
		_, err := a.Allocate("fx", []netip.Addr{mustAddr(tc.want)}, blocks)
		b, addr, ok := WantedBlock(err)
		if tc.block == "" {
			if ok || !errors.Is(err, ErrNotInRange) {
				t.Errorf("%s: %v (block %s)", tc.want, err, b)
			}
			continue
		}
		i, need := NeedBlockRange(err)
		if !ok || !need || !errors.Is(err, ErrNeedBlock) || b != mustPrefix(tc.block) || addr != mustAddr(tc.want) || i != tc.rng {
			t.Errorf("%s: %v: block %s %v, addr %s, range %d %v", tc.want, err, b, ok, addr, i, need)
		}
		if _, held := a.Lease("fx"); held || len(a.Leases()) != 1 {
			t.Fatalf("%s: a failed Allocate changed the leases: %v", tc.want, a.Leases())
		}
	}
	// The dynamic need for a block says no block in particular.
	full := [][]netip.Prefix{nil, blocks[1]}
	if _, err := a.Allocate("x", nil, full); err == nil {
		t.Fatal("allocation without IPv4 blocks")
	} else if _, _, ok := WantedBlock(err); ok {
		t.Errorf("dynamic need named a block: %v", err)
	}
	if _, _, ok := WantedBlock(errors.New("x")); ok {
		t.Error("WantedBlock of another error")
	}
	// With the block claimed, the address is given; in use is ErrInUse
	// whether or not the block is this host's.
	blocks[0] = append(blocks[0], mustPrefix("10.77.0.16/28"))
	l, err := a.Allocate("fx", []netip.Addr{mustAddr("10.77.0.17")}, blocks)
	if err != nil || l.Addrs[0].Addr() != mustAddr("10.77.0.17") {
		t.Fatalf("after the claim: %v %v", l, err)
	}
	if _, err := a.Allocate("fy", []netip.Addr{mustAddr("10.77.0.17")}, blocks); !errors.Is(err, ErrInUse) {
		t.Errorf("in use: %v", err)
	}
	// Single-host mode (no blocks): any allocatable address.
	if _, err := a.Allocate("fz", []netip.Addr{mustAddr("10.77.0.200")}, nil); err != nil {
		t.Errorf("single host: %v", err)
	}
}

// Round-robin in blocks mode runs over this host's blocks: when they are
// full, a released address is reused before another block is asked for
// (the documented behaviour, ipam's doc and docs/cni.md).
func TestAllocateBlocksReuseBeforeNewBlock(t *testing.T) {
	a := newAlloc(t, map[string]string{"subnet": "10.77.0.0/24", "block": "28"})
	blocks := [][]netip.Prefix{{mustPrefix("10.77.0.0/28")}}
	for i := range 14 { // .2 to .15
		if _, err := a.Allocate(fmt.Sprint("o", i), nil, blocks); err != nil {
			t.Fatal(err)
		}
	}
	a.Release("o4") // 10.77.0.6
	l, err := a.Allocate("n", nil, blocks)
	if err != nil || l.Addrs[0].Addr() != mustAddr("10.77.0.6") {
		t.Fatalf("full blocks, one released: %v %v", l, err)
	}
	if _, err := a.Allocate("m", nil, blocks); !errors.Is(err, ErrNeedBlock) {
		t.Errorf("full again: %v", err)
	}
	// With a second block the search goes on after the last address
	// handed out, so a released one waits.
	blocks[0] = append(blocks[0], mustPrefix("10.77.0.16/28"))
	a.Release("o1") // 10.77.0.3, before the last one handed out (.6)
	if l, err := a.Allocate("m", nil, blocks); err != nil || l.Addrs[0].Addr() != mustAddr("10.77.0.16") {
		t.Errorf("with a new block: %v %v", l, err)
	}
}

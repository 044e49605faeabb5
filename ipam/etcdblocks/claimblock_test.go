package etcdblocks

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/vecswitch/vecswitch/internal/etcdtest"
	"github.com/vecswitch/vecswitch/ipam"
)

// ClaimBlock takes the block of a wanted address: a free one becomes
// this host's, this host's own is fine, another host's is ErrNotHeld
// (also ipam.ErrInUse) naming the holder.
func TestClaimBlock(t *testing.T) {
	e := etcdtest.Start(t)
	ctx := context.Background()
	a, b := newClaims(t, e, "a"), newClaims(t, e, "b")
	p := pool(t, "qdp", map[string]string{"subnet": "10.77.0.0/24,fd00:77::/120", "block": "28,124"})
	if err := a.Register(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, a, p, 0); got != netip.MustParsePrefix("10.77.0.0/28") {
		t.Fatalf("a claimed %s", got)
	}
	if got := claim(t, b, p, 0); got != netip.MustParsePrefix("10.77.0.16/28") {
		t.Fatalf("b claimed %s", got)
	}
	blk := netip.MustParsePrefix("10.77.0.16/28")
	err := a.ClaimBlock(ctx, p, 0, blk)
	if !errors.Is(err, ErrNotHeld) || !errors.Is(err, ipam.ErrInUse) || !strings.Contains(err.Error(), `held by host "b"`) || !strings.Contains(err.Error(), "10.77.0.16/28") {
		t.Errorf("another host's block: %v", err)
	}
	if err := b.ClaimBlock(ctx, p, 0, blk); err != nil {
		t.Errorf("own block: %v", err)
	}
	// A block nobody holds becomes this host's, IPv6 too.
	for _, s := range []string{"10.77.0.64/28", "fd00:77::40/124"} {
		i := 0
		if strings.Contains(s, ":") {
			i = 1
		}
		if err := a.ClaimBlock(ctx, p, i, netip.MustParsePrefix(s)); err != nil {
			t.Fatalf("free block %s: %v", s, err)
		}
	}
	owned, err := a.Owned(ctx, p)
	if err != nil || fmt.Sprint(owned) != "[[10.77.0.0/28 10.77.0.64/28] [fd00:77::40/124]]" {
		t.Errorf("a owns %v %v", owned, err)
	}
	if err := b.ClaimBlock(ctx, p, 0, netip.MustParsePrefix("10.77.0.64/28")); !errors.Is(err, ErrNotHeld) {
		t.Errorf("b claimed a's block: %v", err)
	}
	// Claim does not hand out a block taken by name.
	if got := claim(t, b, p, 0); got != netip.MustParsePrefix("10.77.0.32/28") {
		t.Errorf("next free block %s", got)
	}
	// A key of another block length covers the blocks under it.
	if _, err := e.Client.Put(ctx, testPrefix+"blocks/qdp/10.77.0.128-25", "a"); err != nil {
		t.Fatal(err)
	}
	if err := a.ClaimBlock(ctx, p, 0, netip.MustParsePrefix("10.77.0.144/28")); !errors.Is(err, ErrNotHeld) || !strings.Contains(err.Error(), "10.77.0.128/25") {
		t.Errorf("block under a /25 key: %v", err)
	}
	// Not a block of the range: invalid.
	for _, bad := range []struct {
		i int
		b string
	}{{0, "10.77.0.8/28"}, {0, "10.77.0.0/27"}, {0, "10.78.0.0/28"}, {0, "fd00:77::/124"}, {2, "10.77.0.0/28"}} {
		if err := a.ClaimBlock(ctx, p, bad.i, netip.MustParsePrefix(bad.b)); !errors.Is(err, ipam.ErrInvalid) {
			t.Errorf("range %d block %s: %v", bad.i, bad.b, err)
		}
	}
	// A definition mismatch is checked first.
	other := pool(t, "qdp", map[string]string{"subnet": "10.77.0.0/24", "block": "27"})
	if err := a.ClaimBlock(ctx, other, 0, netip.MustParsePrefix("10.77.0.96/27")); !errors.Is(err, ErrPoolMismatch) || !errors.Is(err, ipam.ErrInvalid) {
		t.Errorf("claim with another definition: %v", err)
	}
}

// Two hosts ask for the same free block at once: one gets it.
func TestClaimBlockRace(t *testing.T) {
	e := etcdtest.Start(t)
	p := pool(t, "r", map[string]string{"subnet": "10.78.0.0/24", "block": "28"})
	for round := range 8 {
		blk := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 78, 0, byte(16 * round)}), 28)
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for h := range errs {
			c := newClaims(t, e, fmt.Sprint("h", h))
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[h] = c.ClaimBlock(context.Background(), p, 0, blk)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrNotHeld):
				t.Errorf("round %d: %v", round, err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d hosts got block %s: %v", round, won, blk, errs)
		}
	}
}

// A pool of another name whose subnet overlaps one in etcd is refused:
// hosts would give out the same addresses from both.
func TestRegisterOverlap(t *testing.T) {
	e := etcdtest.Start(t)
	ctx := context.Background()
	a, b := newClaims(t, e, "a"), newClaims(t, e, "b")
	if err := a.Register(ctx, pool(t, "qdx", map[string]string{"subnet": "10.79.0.0/24,fd00:79::/64"})); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"10.79.0.0/24", "10.79.0.128/25", "10.79.0.0/16", "10.0.0.0/8", "fd00:79::/120", "10.1.0.0/16,fd00::/16"} {
		err := b.Register(ctx, pool(t, "qdy", map[string]string{"subnet": sub}))
		if !errors.Is(err, ErrPoolOverlap) || !errors.Is(err, ipam.ErrInvalid) || !strings.Contains(err.Error(), "of pool qdx") {
			t.Errorf("%s: %v", sub, err)
		}
	}
	if _, err := b.Claim(ctx, pool(t, "qdy", map[string]string{"subnet": "10.79.0.0/24"}), 0); !errors.Is(err, ErrPoolOverlap) {
		t.Errorf("Claim creating an overlapping pool: %v", err)
	}
	if err := b.ClaimBlock(ctx, pool(t, "qdy", map[string]string{"subnet": "10.79.0.0/24"}), 0, netip.MustParsePrefix("10.79.0.0/26")); !errors.Is(err, ErrPoolOverlap) {
		t.Errorf("ClaimBlock creating an overlapping pool: %v", err)
	}
	if got, _ := e.Client.Get(ctx, testPrefix+"pools/qdy"); len(got.Kvs) != 0 {
		t.Error("the overlapping pool was stored")
	}
	// Disjoint subnets are fine, and a pool overlaps not itself.
	if err := b.Register(ctx, pool(t, "qdz", map[string]string{"subnet": "10.80.0.0/24"})); err != nil {
		t.Errorf("disjoint pool: %v", err)
	}
	if err := b.Register(ctx, pool(t, "qdx", map[string]string{"subnet": "10.79.0.0/24,fd00:79::/64"})); err != nil {
		t.Errorf("the same pool again: %v", err)
	}
	// Once qdx is gone from etcd, its subnet is free.
	if err := a.ReleaseAll(ctx, "qdx"); err != nil {
		t.Fatal(err)
	}
	if err := b.Register(ctx, pool(t, "qdy", map[string]string{"subnet": "10.79.0.0/24"})); err != nil {
		t.Errorf("after qdx was deleted: %v", err)
	}
	// and qdx cannot come back through a Claim either.
	if _, err := a.Claim(ctx, pool(t, "qdx", map[string]string{"subnet": "10.79.0.0/24,fd00:79::/64"}), 0); !errors.Is(err, ErrPoolOverlap) {
		t.Errorf("Claim recreating qdx over qdy: %v", err)
	}
}

// Hosts that register overlapping pools at the same time: one wins.
func TestRegisterOverlapRace(t *testing.T) {
	e := etcdtest.Start(t)
	for round := range 8 {
		sub := fmt.Sprintf("10.%d.0.0/24", 100+round)
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for h := range errs {
			c := newClaims(t, e, fmt.Sprint("h", h))
			p := pool(t, fmt.Sprintf("r%d-%d", round, h), map[string]string{"subnet": sub})
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[h] = c.Register(context.Background(), p)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrPoolOverlap):
				t.Errorf("round %d: %v", round, err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d overlapping pools registered: %v", round, won, errs)
		}
	}
}

package fib

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// readers runs n goroutines that call check in a loop, each counting its
// passes in an epoch, the way the switch's workers mark quiescent states.
type readers struct {
	stop   atomic.Bool
	epochs []atomic.Uint64
	wg     sync.WaitGroup
	errs   chan error
}

func startReaders(n int, check func() error) *readers {
	r := &readers{epochs: make([]atomic.Uint64, n), errs: make(chan error, n)}
	for i := range n {
		r.wg.Go(func() {
			for !r.stop.Load() {
				if err := check(); err != nil {
					r.errs <- err
					return
				}
				r.epochs[i].Add(1)
				runtime.Gosched() // 2 cores, 3 goroutines: let the writer run
			}
		})
	}
	return r
}

// quiesce waits until every reader has finished the pass it was in.
func (r *readers) quiesce() {
	snap := make([]uint64, len(r.epochs))
	for i := range r.epochs {
		snap[i] = r.epochs[i].Load()
	}
	for i := range r.epochs {
		for r.epochs[i].Load() == snap[i] && len(r.errs) == 0 {
			runtime.Gosched()
		}
	}
}

func (r *readers) finish(t *testing.T) {
	r.stop.Store(true)
	r.wg.Wait()
	close(r.errs)
	for err := range r.errs {
		t.Error(err)
	}
}

func TestTable4Concurrent(t *testing.T) {
	tb := newTable4(t, Limits{})
	require.NoError(t, tb.Insert(netip.MustParsePrefix("10.1.0.0/16"), 7))
	// Stable addresses: the .5 of a few /24s of 10.1/16. The writer churns
	// prefixes beside them in the same /24s (tbl8 groups come and go),
	// shorter ones above them, and others elsewhere.
	var stable []uint32
	for i := range 16 {
		stable = append(stable, 0x0a010005|uint32(i*7)<<8)
	}
	r := startReaders(2, func() error {
		for _, a := range stable {
			if nh := tb.Lookup(a); nh != 7 {
				return fmt.Errorf("Lookup(%v) = %d, want 7", pfx4(a, 32).Addr(), nh)
			}
		}
		return nil
	})

	rng := rand.New(rand.NewPCG(1, 2))
	live := map[netip.Prefix]bool{}
	for step := range 3000 {
		var p netip.Prefix
		switch rng.IntN(4) {
		case 0: // beside a stable address, in its /24
			base := stable[rng.IntN(len(stable))] &^ 0xff
			bits := 25 + rng.IntN(8)
			a := base | (0x80+rng.Uint32N(0x80))&^(1<<(32-bits)-1)
			p = pfx4(a, bits)
		case 1: // above
			p = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/12"), netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("10.0.0.0/15")}[rng.IntN(3)]
		default: // elsewhere in 10.1/16, clear of the stable /24s
			bits := 17 + rng.IntN(16)
			a := 0x0a018000 | rng.Uint32N(0x8000)&^(1<<(32-bits)-1)
			p = pfx4(a, bits)
		}
		if live[p] && rng.IntN(2) == 0 {
			require.NoError(t, tb.Delete(p))
			delete(live, p)
		} else {
			require.NoError(t, tb.Insert(p, 100+rng.Uint32N(100)))
			live[p] = true
		}
		if step%200 == 0 {
			r.quiesce()
			tb.Reclaim()
		}
	}
	r.finish(t)
}

func TestTable6Concurrent(t *testing.T) {
	tb := newTable6(t, Limits{})
	require.NoError(t, tb.Insert(netip.MustParsePrefix("2001:db8::/32"), 7))
	require.NoError(t, tb.Insert(netip.MustParsePrefix("2001:db8:aa::/48"), 8))
	type want struct {
		hi, lo uint64
		nh     uint32
	}
	var stable []want
	for i := range 8 {
		hi, lo := addr6(fmt.Sprintf("2001:db8:aa:%x::5", i*0x1111))
		stable = append(stable, want{hi, lo, 8})
		hi, lo = addr6(fmt.Sprintf("2001:db8:%x::5", 0x100+i*0x10))
		stable = append(stable, want{hi, lo, 7})
	}
	r := startReaders(2, func() error {
		for _, w := range stable {
			if nh := tb.Lookup(w.hi, w.lo); nh != w.nh {
				return fmt.Errorf("Lookup(%v) = %d, want %d", key6{w.hi, w.lo, 128}.prefix().Addr(), nh, w.nh)
			}
		}
		return nil
	})

	rng := rand.New(rand.NewPCG(1, 3))
	live := map[netip.Prefix]bool{}
	for step := range 3000 {
		var k key6
		switch rng.IntN(4) {
		case 0: // beside the stable /48, sharing its nodes down to bit 40
			k = key6{0x20010db800ab0000 | rng.Uint64()&0xffff, rng.Uint64(), uint8(48 + rng.IntN(81))}
		case 1: // above
			k = key6{0x20010db800000000, 0, []uint8{0, 12, 16, 24}[rng.IntN(4)]}
		case 2: // beside stable addresses of the /32: same /40, other /48s
			w := stable[1+2*rng.IntN(8)]
			k = key6{w.hi&^0xffffffff | 0x8000_0000 | rng.Uint64()&0x7fffffff, rng.Uint64(), uint8(49 + rng.IntN(80))}
		default: // elsewhere
			k = key6{0x20010db900000000 | rng.Uint64()&0xffffffff, rng.Uint64(), uint8(33 + rng.IntN(96))}
		}
		p := k.masked(int(k.bits)).prefix()
		if live[p] && rng.IntN(2) == 0 {
			require.NoError(t, tb.Delete(p))
			delete(live, p)
		} else {
			require.NoError(t, tb.Insert(p, 100+rng.Uint32N(100)))
			live[p] = true
		}
		if step%200 == 0 {
			r.quiesce()
			tb.Reclaim()
		}
	}
	r.finish(t)
}

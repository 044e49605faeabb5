package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func newAlloc(t testing.TB, opts map[string]string, leases ...Lease) *Allocator {
	t.Helper()
	p, err := ParsePool("p", opts)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAllocator(p, leases)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func alloc(t testing.TB, a *Allocator, owner string, want ...string) Lease {
	t.Helper()
	var w []netip.Addr
	for _, s := range want {
		w = append(w, mustAddr(s))
	}
	l, err := a.Allocate(owner, w, nil)
	if err != nil {
		t.Fatalf("Allocate(%s, %v): %v", owner, want, err)
	}
	return l
}

func addrs(l Lease) string {
	var s []string
	for _, p := range l.Addrs {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

func TestAllocateRoundRobin(t *testing.T) {
	a := newAlloc(t, map[string]string{"subnet": "10.0.0.0/29"}) // .2 to .6
	for i, want := range []string{"10.0.0.2/29", "10.0.0.3/29", "10.0.0.4/29"} {
		if got := addrs(alloc(t, a, fmt.Sprint("o", i))); got != want {
			t.Errorf("allocation %d: %s, want %s", i, got, want)
		}
	}
	// A released address is not handed out again at once.
	a.Release("o1") // .3
	if got := addrs(alloc(t, a, "o3")); got != "10.0.0.5/29" {
		t.Errorf("after release: %s, want 10.0.0.5/29", got)
	}
	if got := addrs(alloc(t, a, "o4")); got != "10.0.0.6/29" {
		t.Errorf("%s, want 10.0.0.6/29", got)
	}
	// The search wraps and finds the released one.
	if got := addrs(alloc(t, a, "o5")); got != "10.0.0.3/29" {
		t.Errorf("after wrap: %s, want 10.0.0.3/29", got)
	}
	l, ok := a.Lease("o5")
	if !ok || l.Pool != "p" || l.Owner != "o5" {
		t.Errorf("Lease: %+v %v", l, ok)
	}
	if h, ok := a.Holder(mustAddr("10.0.0.3")); !ok || h != "o5" {
		t.Errorf("Holder = %q %v", h, ok)
	}
	if _, ok := a.Holder(mustAddr("10.0.0.1")); ok {
		t.Error("the gateway has a holder")
	}
}

func TestAllocateRestartHint(t *testing.T) {
	a := newAlloc(t, map[string]string{"subnet": "10.0.0.0/24"})
	for i := range 5 {
		alloc(t, a, fmt.Sprint("o", i)) // .2 .. .6
	}
	a.Release("o4")
	b, err := NewAllocator(a.Pool(), a.Leases())
	if err != nil {
		t.Fatal(err)
	}
	// Continues after the highest lease: .6 was released, so .6 may come
	// back (the hint is not stored), but nothing below it does.
	if got := addrs(alloc(t, b, "new")); got != "10.0.0.6/24" {
		t.Errorf("after restart: %s", got)
	}
}

func TestAllocateIdempotent(t *testing.T) {
	a := newAlloc(t, map[string]string{"subnet": "10.0.0.0/24"})
	l1 := alloc(t, a, "c1")
	l2 := alloc(t, a, "c1")
	if addrs(l1) != addrs(l2) || len(a.Leases()) != 1 {
		t.Errorf("second Allocate: %v then %v, %d leases", l1, l2, len(a.Leases()))
	}
	if l3 := alloc(t, a, "c1", "10.0.0.2"); addrs(l3) != addrs(l1) {
		t.Errorf("same wanted address: %v", l3)
	}
	_, err := a.Allocate("c1", []netip.Addr{mustAddr("10.0.0.50")}, nil)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `"c1" already holds 10.0.0.2, not 10.0.0.50`) {
		t.Errorf("other wanted address: %v", err)
	}
	// The returned lease is a copy.
	l1.Addrs[0] = mustPrefix("10.0.0.99/24")
	if l, _ := a.Lease("c1"); addrs(l) != "10.0.0.2/24" {
		t.Errorf("lease changed through a returned copy: %v", l)
	}
	if _, ok := a.Release("c1"); !ok {
		t.Error("Release of a lease: false")
	}
	if _, ok := a.Release("c1"); ok {
		t.Error("second Release: true")
	}
	if _, err := a.Allocate("", nil, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty owner: %v", err)
	}
}

func TestAllocateWanted(t *testing.T) {
	a := newAlloc(t, map[string]string{"subnet": "10.0.0.0/24", "range": "10.0.0.10-10.0.0.100", "exclude": "10.0.0.20/30"})
	if got := addrs(alloc(t, a, "a", "10.0.0.50")); got != "10.0.0.50/24" {
		t.Errorf("free wanted address: %s", got)
	}
	cases := []struct {
		want string
		kind error
		msg  string
	}{
		{"10.0.0.50", ErrInUse, `10.0.0.50 is in use by "a"`},
		{"10.0.0.5", ErrNotInRange, "outside the range 10.0.0.10-10.0.0.100"},
		{"10.0.0.200", ErrNotInRange, "outside the range"},
		{"10.0.0.255", ErrNotInRange, "outside the range"},
		{"10.0.1.5", ErrNotInRange, "outside the range"},
		{"10.0.0.22", ErrNotInRange, "10.0.0.22 is excluded"},
		{"fd00::5", ErrNotInRange, "no IPv6 range"},
	}
	for _, c := range cases {
		_, err := a.Allocate("b", []netip.Addr{mustAddr(c.want)}, nil)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("want %s: got %v, want %v saying %q", c.want, err, c.kind, c.msg)
		}
	}
	_, err := a.Allocate("b", []netip.Addr{mustAddr("10.0.0.60"), mustAddr("10.0.0.61")}, nil)
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("two IPv4 wanted: %v", err)
	}
	if _, ok := a.Lease("b"); ok {
		t.Error("a failed Allocate left a lease")
	}

	g := newAlloc(t, map[string]string{"subnet": "10.0.0.0/24", "gateway": "10.0.0.7"})
	_, err = g.Allocate("b", []netip.Addr{mustAddr("10.0.0.7")}, nil)
	if !errors.Is(err, ErrNotInRange) || !strings.Contains(err.Error(), "gateway") {
		t.Errorf("gateway: %v", err)
	}
	// The automatic search skips the gateway and the excluded addresses.
	for i := range 10 {
		alloc(t, g, fmt.Sprint("o", i))
	}
	if _, ok := g.Holder(mustAddr("10.0.0.7")); ok {
		t.Error("the gateway was allocated")
	}
}

func TestAllocateSkipsExcluded(t *testing.T) {
	a := newAlloc(t, map[string]string{"subnet": "10.0.0.0/24", "exclude": "10.0.0.3,10.0.0.4/30,10.0.0.8/29"})
	var got []string
	for i := range 4 {
		got = append(got, addrs(alloc(t, a, fmt.Sprint("o", i))))
	}
	if s := strings.Join(got, " "); s != "10.0.0.2/24 10.0.0.16/24 10.0.0.17/24 10.0.0.18/24" {
		t.Errorf("got %s", s)
	}
	if st := a.Stats()[0]; st.Size != fmt.Sprint(253-1-4-8) || st.Used != 4 || st.Free != 253-1-4-8-4 {
		t.Errorf("stats %+v", st)
	}
}

func TestAllocateDualStack(t *testing.T) {
	a := newAlloc(t, map[string]string{"subnet": "10.0.0.0/24,fd00::/64"})
	l := alloc(t, a, "c")
	if got := addrs(l); got != "10.0.0.2/24,fd00::2/64" {
		t.Errorf("dual stack lease: %s", got)
	}
	l = alloc(t, a, "d", "fd00::99")
	if got := addrs(l); got != "10.0.0.3/24,fd00::99/64" {
		t.Errorf("wanted IPv6 only: %s", got)
	}
	// The wanted address does not move the round-robin hint.
	if got := addrs(alloc(t, a, "e")); got != "10.0.0.4/24,fd00::3/64" {
		t.Errorf("next: %s", got)
	}
	for _, st := range a.Stats() {
		if st.Used != 3 {
			t.Errorf("stats %+v", st)
		}
	}
	if st := a.Stats()[1]; st.Size != "18446744073709551614" || st.Free != 18446744073709551614-3 {
		t.Errorf("IPv6 /64 stats %+v", st)
	}
}

func TestAllocateIPv6Slash64(t *testing.T) {
	a := newAlloc(t, map[string]string{"subnet": "fd00:1:2:3::/64", "range": "fd00:1:2:3:ffff:ffff:ffff:fff0-fd00:1:2:3:ffff:ffff:ffff:ffff",
		"exclude": "fd00:1:2:3:ffff:ffff:ffff:fff0/126"})
	var got []string
	for i := range 3 {
		got = append(got, alloc(t, a, fmt.Sprint("o", i)).Addrs[0].Addr().String())
	}
	if s := strings.Join(got, " "); s != "fd00:1:2:3:ffff:ffff:ffff:fff4 fd00:1:2:3:ffff:ffff:ffff:fff5 fd00:1:2:3:ffff:ffff:ffff:fff6" {
		t.Errorf("got %s", s)
	}
	// The top of the address space: the range ends at the last address.
	b := newAlloc(t, map[string]string{"subnet": "fd00:1:2:3::/64", "range": "fd00:1:2:3:ffff:ffff:ffff:fffe-fd00:1:2:3:ffff:ffff:ffff:ffff"})
	alloc(t, b, "x")
	alloc(t, b, "y")
	if _, err := b.Allocate("z", nil, nil); !errors.Is(err, ErrExhausted) {
		t.Errorf("third in a two-address range: %v", err)
	}
	// A whole /64 range allocates from its start.
	c := newAlloc(t, map[string]string{"subnet": "fd00::/64"})
	if got := addrs(alloc(t, c, "x")); got != "fd00::2/64" {
		t.Errorf("got %s", got)
	}
}

func TestAllocateExhaustion(t *testing.T) {
	a := newAlloc(t, map[string]string{"subnet": "192.168.7.0/29"}) // .2-.6: 5 addresses
	if st := a.Stats()[0]; st.Size != "5" || st.Free != 5 {
		t.Fatalf("stats %+v", st)
	}
	seen := map[string]bool{}
	for i := range 5 {
		s := addrs(alloc(t, a, fmt.Sprint("o", i)))
		if seen[s] {
			t.Fatalf("%s given twice", s)
		}
		seen[s] = true
	}
	_, err := a.Allocate("o5", nil, nil)
	if !errors.Is(err, ErrExhausted) || !strings.Contains(err.Error(), "pool p: no free address in 192.168.7.0/29") {
		t.Fatalf("sixth allocation: %v", err)
	}
	if st := a.Stats()[0]; st.Used != 5 || st.Free != 0 {
		t.Errorf("stats %+v", st)
	}
	a.Release("o2")
	if got := addrs(alloc(t, a, "o5")); got != "192.168.7.4/29" {
		t.Errorf("after release: %s", got)
	}
	// An exhausted IPv6 range fails the dual-stack lease as a whole.
	d := newAlloc(t, map[string]string{"subnet": "10.0.0.0/24,fd00::/120", "range": "fd00::10-fd00::10"})
	alloc(t, d, "x")
	if _, err := d.Allocate("y", nil, nil); !errors.Is(err, ErrExhausted) || !strings.Contains(err.Error(), "fd00::/120") {
		t.Errorf("IPv6 exhausted: %v", err)
	}
	if len(d.Leases()) != 1 || d.Stats()[0].Used != 1 {
		t.Error("a failed Allocate took an address")
	}
}

func TestNewAllocatorRejects(t *testing.T) {
	p, _ := ParsePool("p", map[string]string{"subnet": "10.0.0.0/24,fd00::/64"})
	l := func(owner, v4, v6 string) Lease {
		return Lease{Pool: "p", Owner: owner, Addrs: []netip.Prefix{mustPrefix(v4), mustPrefix(v6)}}
	}
	cases := []struct {
		name   string
		leases []Lease
		msg    string
	}{
		{"same address", []Lease{l("a", "10.0.0.5/24", "fd00::5/64"), l("b", "10.0.0.5/24", "fd00::6/64")}, `10.0.0.5 is leased to both "a" and "b"`},
		{"same owner", []Lease{l("a", "10.0.0.5/24", "fd00::5/64"), l("a", "10.0.0.6/24", "fd00::6/64")}, `owner "a" holds two leases`},
		{"outside", []Lease{l("a", "10.0.1.5/24", "fd00::5/64")}, "not an address of 10.0.0.0/24"},
		{"bits", []Lease{l("a", "10.0.0.5/32", "fd00::5/64")}, "not an address of"},
		{"gateway", []Lease{l("a", "10.0.0.1/24", "fd00::5/64")}, "outside the range"},
		{"broadcast", []Lease{l("a", "10.0.0.255/24", "fd00::5/64")}, "outside the range"},
		{"family order", []Lease{l("a", "fd00::5/64", "10.0.0.5/24")}, "not an address of"},
		{"other pool", []Lease{{Pool: "q", Owner: "a", Addrs: l("", "10.0.0.5/24", "fd00::5/64").Addrs}}, `lease of pool "q"`},
		{"no owner", []Lease{l("", "10.0.0.5/24", "fd00::5/64")}, "without owner"},
		{"one address", []Lease{{Pool: "p", Owner: "a", Addrs: []netip.Prefix{mustPrefix("10.0.0.5/24")}}}, "has 1 addresses"},
	}
	for _, c := range cases {
		_, err := NewAllocator(p, c.leases)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: got %v, want ErrInvalid saying %q", c.name, err, c.msg)
		}
	}
	g, _ := ParsePool("p", map[string]string{"subnet": "10.0.0.0/24", "gateway": "10.0.0.7"})
	if _, err := NewAllocator(g, []Lease{{Pool: "p", Owner: "a", Addrs: []netip.Prefix{mustPrefix("10.0.0.7/24")}}}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "gateway") {
		t.Errorf("lease of the gateway: %v", err)
	}
	if _, err := NewAllocator(Pool{Name: "bad"}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid pool: %v", err)
	}
	a, err := NewAllocator(p, []Lease{l("b", "10.0.0.9/24", "fd00::9/64"), l("a", "10.0.0.5/24", "fd00::5/64")})
	if err != nil {
		t.Fatal(err)
	}
	if ls := a.Leases(); len(ls) != 2 || ls[0].Owner != "a" || ls[1].Owner != "b" {
		t.Errorf("Leases not sorted by owner: %+v", ls)
	}
}

func TestAllocateBlocks(t *testing.T) {
	a := newAlloc(t, map[string]string{"subnet": "10.22.0.0/24,fd00::/120", "block": "28,124"})
	_, err := a.Allocate("c", nil, [][]netip.Prefix{nil, nil})
	if i, ok := NeedBlockRange(err); !ok || i != 0 || !errors.Is(err, ErrNeedBlock) {
		t.Fatalf("no blocks: %v (range %d, %v)", err, i, ok)
	}
	b4 := mustPrefix("10.22.0.32/28")
	_, err = a.Allocate("c", nil, [][]netip.Prefix{{b4}})
	if i, ok := NeedBlockRange(err); !ok || i != 1 {
		t.Fatalf("no IPv6 block: %v (range %d)", err, i)
	}
	if _, ok := NeedBlockRange(errors.New("x")); ok {
		t.Error("NeedBlockRange of another error")
	}
	blocks := [][]netip.Prefix{{b4}, {mustPrefix("fd00::f0/124")}}
	for i := range 16 {
		l, err := a.Allocate(fmt.Sprint("o", i), nil, blocks)
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		if !b4.Contains(l.Addrs[0].Addr()) || !blocks[1][0].Contains(l.Addrs[1].Addr()) {
			t.Fatalf("allocation %d outside the blocks: %v", i, l)
		}
	}
	if n := a.UsedInBlock(0, b4); n != 16 {
		t.Errorf("UsedInBlock = %d", n)
	}
	if n := a.UsedInBlock(0, mustPrefix("10.22.0.0/24")); n != 16 {
		t.Errorf("UsedInBlock of another size = %d", n)
	}
	if n := a.UsedInBlock(1, mustPrefix("fd00::/124")); n != 0 {
		t.Errorf("UsedInBlock of an empty block = %d", n)
	}
	_, err = a.Allocate("o16", nil, blocks)
	if i, ok := NeedBlockRange(err); !ok || i != 0 {
		t.Fatalf("full blocks: %v", err)
	}
	// A wanted address needs no block; the first block is partly
	// outside the range (network address, gateway).
	alloc(t, a, "w", "10.22.0.200")
	blocks[0] = append(blocks[0], mustPrefix("10.22.0.0/28"))
	blocks[1] = append(blocks[1], mustPrefix("fd00::/124"))
	l, err := a.Allocate("o16", nil, blocks)
	if err != nil || l.Addrs[0].Addr() != mustAddr("10.22.0.2") {
		t.Errorf("after a new block: %v %v", l, err)
	}
	a.Release("o3")
	if n := a.UsedInBlock(0, b4); n != 15 {
		t.Errorf("UsedInBlock after release = %d", n)
	}
}

func TestAllocateBlocksExhausted(t *testing.T) {
	a := newAlloc(t, map[string]string{"subnet": "10.0.0.0/29", "block": "30"})
	blocks := [][]netip.Prefix{{mustPrefix("10.0.0.0/30"), mustPrefix("10.0.0.4/30")}}
	for i := range 5 {
		if _, err := a.Allocate(fmt.Sprint("o", i), nil, blocks); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Allocate("x", nil, blocks); !errors.Is(err, ErrExhausted) {
		t.Errorf("full range in blocks mode: %v", err)
	}
}

func TestAllocate10000InSlash16(t *testing.T) {
	a := newAlloc(t, map[string]string{"subnet": "10.30.0.0/16"})
	seen := make(map[netip.Addr]bool, 10000)
	for i := range 10000 {
		l, err := a.Allocate(fmt.Sprint("c", i), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ad := l.Addrs[0].Addr(); seen[ad] {
			t.Fatalf("%s given twice", ad)
		} else {
			seen[ad] = true
		}
	}
	// Release every other lease and allocate again: the search goes on
	// after the last address, not into the holes.
	for i := 0; i < 10000; i += 2 {
		a.Release(fmt.Sprint("c", i))
	}
	l := alloc(t, a, "next")
	if got := l.Addrs[0].Addr(); got != mustAddr("10.30.39.18") { // .2 + 10000
		t.Errorf("after releases: %s", got)
	}
	if st := a.Stats()[0]; st.Used != 5001 || st.Size != "65533" {
		t.Errorf("stats %+v", st)
	}
}

func BenchmarkAllocateRelease(b *testing.B) {
	a := newAlloc(b, map[string]string{"subnet": "10.30.0.0/16"})
	for i := range 10000 {
		a.Allocate(fmt.Sprint("c", i), nil, nil)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Allocate("bench", nil, nil); err != nil {
			b.Fatal(err)
		}
		a.Release("bench")
	}
}

// BenchmarkAllocateNearlyFull is the worst case of the round-robin
// search: a full /16 with one hole just behind the hint, so the search
// walks the whole range (every address is a map lookup).
func BenchmarkAllocateNearlyFull(b *testing.B) {
	a := newAlloc(b, map[string]string{"subnet": "10.30.0.0/16"})
	for i := range 65533 {
		if _, err := a.Allocate(fmt.Sprint("c", i), nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		a.Release("c100")
		if _, err := a.Allocate("c100", nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

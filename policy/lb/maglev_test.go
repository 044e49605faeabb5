package lb

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func backends(n int, w ...uint32) []Backend {
	bs := make([]Backend, n)
	for i := range bs {
		bs[i] = Backend{Key: fmt.Sprintf("10.1.%d.%d:8080", i/256, i%256), Weight: 1}
		if i < len(w) {
			bs[i].Weight = w[i]
		}
	}
	return bs
}

func mustNew(t testing.TB, bs []Backend, size int) *Table {
	t.Helper()
	tab, err := New(bs, size)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// refTable is the slow reference: the paper's Listing 1 with whole
// permutation arrays, (offset + j*skip) mod M computed afresh, and turns
// given by rounds over every backend in Key order, a backend of weight w
// taking one in round 0 and one in round r whenever floor(r*w/W) grows.
func refTable(bs []Backend, m int) []int {
	type rb struct {
		key  string
		idx  int
		w    uint64
		perm []int
		next int
	}
	var act []*rb
	var maxW uint64
	for i, b := range bs {
		if b.Weight != 0 && !b.Drained {
			act = append(act, &rb{key: b.Key, idx: i, w: uint64(b.Weight)})
			maxW = max(maxW, uint64(b.Weight))
		}
	}
	if len(act) == 0 {
		return nil
	}
	sort := func(a, b *rb) int { return strings.Compare(a.key, b.key) }
	slices.SortFunc(act, sort)
	for _, b := range act {
		h1, h2 := permHashes(b.key)
		off, skip := h1%uint64(m), h2%uint64(m-1)+1
		b.perm = make([]int, m)
		for j := range m {
			b.perm[j] = int((off + uint64(j)*skip) % uint64(m))
		}
	}
	entry := make([]int, m)
	for i := range entry {
		entry[i] = -1
	}
	n := 0
	for r := uint64(0); ; r++ {
		for _, b := range act {
			if r > 0 && r*b.w/maxW == (r-1)*b.w/maxW {
				continue
			}
			c := b.perm[b.next]
			for entry[c] >= 0 {
				b.next++
				c = b.perm[b.next]
			}
			entry[c] = b.idx
			b.next++
			if n++; n == m {
				return entry
			}
		}
	}
}

func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{2, 3, 7, 13, 251, 1021, 4093}
	for it := range 300 {
		m := sizes[rng.IntN(len(sizes))]
		n := rng.IntN(20)
		if rng.IntN(10) == 0 {
			n = m + rng.IntN(5) // more backends than slots
		}
		bs := backends(n)
		for i := range bs {
			switch rng.IntN(6) {
			case 0:
				bs[i].Weight = 0
			case 1:
				bs[i].Drained = true
			case 2:
				bs[i].Weight = rng.Uint32()
			default:
				bs[i].Weight = 1 + rng.Uint32N(10)
			}
		}
		rng.Shuffle(len(bs), func(i, j int) { bs[i], bs[j] = bs[j], bs[i] })
		tab := mustNew(t, bs, m)
		want := refTable(bs, m)
		if want == nil {
			if tab.Size() != 0 || tab.Lookup(rng.Uint64()) != -1 {
				t.Fatalf("%d: no active backend, table of %d", it, tab.Size())
			}
			continue
		}
		for s := range m {
			if tab.Slot(s) != want[s] {
				t.Fatalf("%d: m %d, %d backends: slot %d is %d, reference %d", it, m, n, s, tab.Slot(s), want[s])
			}
		}
	}
}

// share counts, per backend index, the hashes of 100k random ones that
// Lookup sends to it.
func share(tab *Table, n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 7))
	c := make([]int, n)
	for range 100_000 {
		c[tab.Lookup(rng.Uint64())]++
	}
	return c
}

func TestWeights(t *testing.T) {
	for _, w := range [][]uint32{{1, 2, 3}, {1, 1, 1}, {5, 1, 10}, {100, 200, 300}} {
		bs := backends(3, w...)
		tab := mustNew(t, bs, 0)
		c := share(tab, 3, 1)
		sum := float64(w[0] + w[1] + w[2])
		for i := range 3 {
			want := 100_000 * float64(w[i]) / sum
			if d := float64(c[i]) - want; d > want/10 || d < -want/10 {
				t.Errorf("weights %v: backend %d got %d of 100k, want %.0f ±10%%", w, i, c[i], want)
			}
			// The slots themselves follow the weights to within a turn.
			if ws := float64(DefaultSize) * float64(w[i]) / sum; float64(tab.Slots(i)) < ws-2 || float64(tab.Slots(i)) > ws+2 {
				t.Errorf("weights %v: backend %d holds %d slots, want %.1f", w, i, tab.Slots(i), ws)
			}
		}
	}
}

func TestDrained(t *testing.T) {
	bs := backends(4, 1, 0, 1, 1)
	bs[2].Drained = true
	tab := mustNew(t, bs, 251)
	if tab.Slots(1) != 0 || tab.Slots(2) != 0 || tab.Slots(0)+tab.Slots(3) != 251 {
		t.Fatalf("slots %d %d %d %d", tab.Slots(0), tab.Slots(1), tab.Slots(2), tab.Slots(3))
	}
	all := backends(3, 0, 0, 0)
	if e := mustNew(t, all, 0); e.Lookup(42) != -1 || e.Size() != 0 {
		t.Fatal("all weights 0: not empty")
	}
	if e := mustNew(t, nil, 0); e.Lookup(42) != -1 {
		t.Fatal("no backends: not empty")
	}
}

// moved compares two tables over every slot (the whole hash space, each
// slot equally likely): of the slots a keeps backend k in, how many b
// gives to another. ka, kb map a table's index to a key.
func moved(a, b *Table, ka, kb func(int) string) (movedFrom map[string]int, held map[string]int) {
	movedFrom, held = map[string]int{}, map[string]int{}
	for s := range a.Size() {
		x, y := ka(a.Slot(s)), kb(b.Slot(s))
		held[x]++
		if x != y {
			movedFrom[x]++
		}
	}
	return movedFrom, held
}

func TestRemoveOne(t *testing.T) {
	for _, n := range []int{3, 5, 10, 50, 200} {
		bs := backends(n)
		for i := range bs {
			bs[i].Weight = 1 + uint32(i%3)
		}
		a := mustNew(t, bs, 0)
		for _, r := range []int{0, n / 2, n - 1} {
			less := slices.Delete(slices.Clone(bs), r, r+1)
			b := mustNew(t, less, 0)
			mv, held := moved(a, b, func(i int) string { return bs[i].Key }, func(i int) string { return less[i].Key })
			if mv[bs[r].Key] != held[bs[r].Key] {
				t.Errorf("n %d: removed backend kept %d of its %d slots", n, held[bs[r].Key]-mv[bs[r].Key], held[bs[r].Key])
			}
			others, otherMoved := 0, 0
			for k, h := range held {
				if k != bs[r].Key {
					others += h
					otherMoved += mv[k]
				}
			}
			f := float64(otherMoved) / float64(others)
			t.Logf("n %d, remove %d: %.2f%% of the others' slots moved", n, r, 100*f)
			if f > 0.05 {
				t.Errorf("n %d, remove %d: %.2f%% of the other backends' slots moved (want < 5%%)", n, r, 100*f)
			}
		}
	}
}

func TestAddOne(t *testing.T) {
	for _, n := range []int{2, 4, 9, 49, 199} {
		bs := backends(n + 1)
		a := mustNew(t, bs[:n], 0)
		b := mustNew(t, bs, 0)
		mv, held := moved(a, b, func(i int) string { return bs[i].Key }, func(i int) string { return bs[i].Key })
		total := 0
		for k := range held {
			total += mv[k]
		}
		f := float64(total) / float64(a.Size())
		ideal := 1 / float64(n+1)
		gained := float64(b.Slots(n)) / float64(b.Size())
		t.Logf("n %d -> %d: %.2f%% of slots moved (ideal %.2f%%), new backend holds %.2f%%", n, n+1, 100*f, 100*ideal, 100*gained)
		if f > ideal+0.05 || f < ideal*0.9 {
			t.Errorf("n %d -> %d: %.2f%% moved, want about %.2f%%", n, n+1, 100*f, 100*ideal)
		}
	}
}

func TestDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bs := backends(40)
	for i := range bs {
		bs[i].Weight = 1 + rng.Uint32N(5)
	}
	bs[7].Drained = true
	a := mustNew(t, bs, 4093)
	for range 5 {
		sh := slices.Clone(bs)
		rng.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
		b := mustNew(t, sh, 4093)
		for s := range a.Size() {
			if bs[a.Slot(s)].Key != sh[b.Slot(s)].Key {
				t.Fatalf("slot %d: %s, shuffled %s", s, bs[a.Slot(s)].Key, sh[b.Slot(s)].Key)
			}
		}
	}
	// A fixed point: the hashes are constants of the code, so tables
	// agree across hosts and releases unless this test is changed on
	// purpose.
	h1, h2 := permHashes("10.0.0.1:80")
	if h1 != 0x368ece9cc420a261 || h2 != 0x268a799647807a4c {
		t.Fatalf("permHashes changed: %#x %#x", h1, h2)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		bs   []Backend
		size int
		err  error
	}{
		{backends(2), 65536, ErrSize},
		{backends(2), 1, ErrSize},
		{backends(2), -3, ErrSize},
		{backends(2), 16777259, ErrSize},
		{[]Backend{{Key: "a", Weight: 1}, {Key: "b"}, {Key: "a", Weight: 2}}, 0, ErrDuplicate},
		{make([]Backend, MaxBackends+1), 0, ErrTooMany},
	} {
		if _, err := New(c.bs, c.size); !errors.Is(err, c.err) {
			t.Errorf("size %d: %v, want %v", c.size, err, c.err)
		}
	}
}

func TestLookupAllocations(t *testing.T) {
	tab := mustNew(t, backends(10), 0)
	h := uint64(1)
	if n := testing.AllocsPerRun(1000, func() { h = h*0x9e3779b97f4a7c15 + uint64(tab.Lookup(h)) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func FuzzNew(f *testing.F) {
	f.Add([]byte{1, 1, 2, 0, 3, 5}, uint16(251))
	f.Add([]byte{0, 0, 0, 0}, uint16(2))
	f.Add([]byte{255, 255, 255, 255, 1, 0, 0, 0, 7}, uint16(13))
	f.Fuzz(func(t *testing.T, data []byte, size uint16) {
		// Each 3 bytes: a key byte, a weight byte (scaled up sometimes to
		// mix tiny and huge weights), a flags byte.
		var bs []Backend
		for i := 0; i+3 <= len(data); i += 3 {
			w := uint32(data[i+1])
			if data[i+2]&2 != 0 {
				w <<= 24
			}
			bs = append(bs, Backend{Key: string([]byte{data[i], byte(i)}), Weight: w, Drained: data[i+2]&1 != 0})
		}
		if len(data)%3 == 1 { // duplicate keys too
			bs = append(bs, Backend{Key: string([]byte{data[0], 0}), Weight: 1})
		}
		tab, err := New(bs, int(size))
		if err != nil {
			if !errors.Is(err, ErrSize) && !errors.Is(err, ErrDuplicate) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		m := int(size)
		if m == 0 {
			m = DefaultSize
		}
		active := 0
		for i := range bs {
			if bs[i].Active() {
				active++
			}
		}
		if active == 0 {
			if tab.Size() != 0 || tab.Lookup(1) != -1 {
				t.Fatal("no active backend but a table")
			}
			return
		}
		sum := 0
		for i := range bs {
			s := tab.Slots(i)
			sum += s
			switch {
			case !bs[i].Active() && s != 0:
				t.Fatalf("inactive backend %d holds %d slots", i, s)
			case bs[i].Active() && active <= m && s == 0:
				t.Fatalf("active backend %d of %d holds no slot in %d", i, active, m)
			}
		}
		if sum != m || tab.Size() != m {
			t.Fatalf("slots %d, size %d, want %d", sum, tab.Size(), m)
		}
		for s := range m {
			if b := tab.Slot(s); !bs[b].Active() {
				t.Fatalf("slot %d: inactive backend %d", s, b)
			}
		}
	})
}

func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{3, 100, 1000} {
		for _, m := range []int{4093, DefaultSize} {
			bs := backends(n)
			for i := range bs {
				bs[i].Weight = 1 + uint32(i%3)
			}
			b.Run(fmt.Sprintf("backends=%d/M=%d", n, m), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := New(bs, m); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	// Skewed weights: one backend 1000 times heavier (the heap path).
	bs := backends(100)
	bs[0].Weight = 1000
	b.Run("skewed/backends=100/M=65537", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := New(bs, DefaultSize); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	tab := mustNew(b, backends(100), 0)
	h := uint64(1)
	s := 0
	for b.Loop() {
		h = h*0x9e3779b97f4a7c15 + 1
		s += tab.Lookup(h)
	}
	if s < 0 {
		b.Fatal(s)
	}
}

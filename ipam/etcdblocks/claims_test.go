package etcdblocks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vecswitch/vecswitch/internal/etcdtest"
	"github.com/vecswitch/vecswitch/ipam"
)

const testPrefix = "/test/ipam/"

func newClaims(t *testing.T, e *etcdtest.Etcd, host string) *Claims {
	t.Helper()
	c, err := New(Config{Endpoints: []string{e.URL}, Prefix: "/test/ipam", Host: host})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func pool(t *testing.T, name string, opts map[string]string) ipam.Pool {
	t.Helper()
	p, err := ipam.ParsePool(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func claim(t *testing.T, c *Claims, p ipam.Pool, i int) netip.Prefix {
	t.Helper()
	b, err := c.Claim(context.Background(), p, i)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return b
}

func TestNewConfig(t *testing.T) {
	if _, err := New(Config{Host: "a"}); err == nil {
		t.Error("no endpoints accepted")
	}
	if _, err := New(Config{Endpoints: []string{"http://127.0.0.1:1"}}); err == nil {
		t.Error("no host accepted")
	}
}

func TestRegister(t *testing.T) {
	e := etcdtest.Start(t)
	ctx := context.Background()
	a, b := newClaims(t, e, "a"), newClaims(t, e, "b")
	p := pool(t, "podnet", map[string]string{"subnet": "10.22.0.0/16"})
	if err := a.Register(ctx, p); err != nil {
		t.Fatal(err)
	}
	// The same definition written out in full matches.
	same := pool(t, "podnet", map[string]string{"subnet": "10.22.0.0/16", "gateway": "10.22.0.1", "range": "10.22.0.2-10.22.255.254", "block": "26"})
	if err := b.Register(ctx, same); err != nil {
		t.Errorf("same definition: %v", err)
	}
	if err := a.Register(ctx, p); err != nil {
		t.Errorf("registering again: %v", err)
	}
	for _, other := range []map[string]string{
		{"subnet": "10.23.0.0/16"},
		{"subnet": "10.22.0.0/16", "block": "24"},
		{"subnet": "10.22.0.0/16", "exclude": "10.22.0.5"},
		{"subnet": "10.22.0.0/16,fd00::/64"},
	} {
		err := b.Register(ctx, pool(t, "podnet", other))
		if !errors.Is(err, ErrPoolMismatch) || !strings.Contains(err.Error(), "another host defined it as") {
			t.Errorf("%v: got %v, want ErrPoolMismatch", other, err)
		}
	}
	// Claim checks the definition too.
	if _, err := b.Claim(ctx, pool(t, "podnet", map[string]string{"subnet": "10.23.0.0/16"}), 0); !errors.Is(err, ErrPoolMismatch) {
		t.Errorf("Claim with another definition: %v", err)
	}
	// A stored definition that does not parse matches nothing.
	if _, err := e.Client.Put(ctx, testPrefix+"pools/broken", "{"); err != nil {
		t.Fatal(err)
	}
	if err := a.Register(ctx, pool(t, "broken", map[string]string{"subnet": "10.9.0.0/24"})); !errors.Is(err, ErrPoolMismatch) {
		t.Errorf("broken stored definition: %v", err)
	}
	if err := a.Register(ctx, ipam.Pool{Name: "bad"}); !errors.Is(err, ipam.ErrInvalid) {
		t.Errorf("invalid pool: %v", err)
	}
	got, err := e.Client.Get(ctx, testPrefix+"pools/podnet")
	if err != nil || len(got.Kvs) != 1 || !strings.Contains(string(got.Kvs[0].Value), `"subnet":"10.22.0.0/16"`) {
		t.Errorf("stored definition: %v %v", got, err)
	}
}

func TestClaimReleaseOwned(t *testing.T) {
	e := etcdtest.Start(t)
	ctx := context.Background()
	a, b := newClaims(t, e, "a"), newClaims(t, e, "b")
	p := pool(t, "podnet", map[string]string{"subnet": "10.22.0.0/16,fd00:22::/64"})
	if err := a.Register(ctx, p); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range []*Claims{a, a, b, a} {
		got = append(got, claim(t, c, p, 0).String())
	}
	if s := strings.Join(got, " "); s != "10.22.0.0/26 10.22.0.64/26 10.22.0.128/26 10.22.0.192/26" {
		t.Errorf("claimed %s", s)
	}
	if b6 := claim(t, b, p, 1); b6 != netip.MustParsePrefix("fd00:22::/122") {
		t.Errorf("IPv6 block %s", b6)
	}
	kv, err := e.Client.Get(ctx, testPrefix+"blocks/podnet/10.22.0.64-26")
	if err != nil || len(kv.Kvs) != 1 || string(kv.Kvs[0].Value) != "a" {
		t.Fatalf("block key: %v %v", kv, err)
	}
	owned, err := a.Owned(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(owned) != "[[10.22.0.0/26 10.22.0.64/26 10.22.0.192/26] []]" {
		t.Errorf("a owns %v", owned)
	}
	if owned, _ = b.Owned(ctx, p); fmt.Sprint(owned) != "[[10.22.0.128/26] [fd00:22::/122]]" {
		t.Errorf("b owns %v", owned)
	}

	// b cannot give back a's block.
	if err := b.Release(ctx, "podnet", netip.MustParsePrefix("10.22.0.64/26")); !errors.Is(err, ErrNotHeld) || !strings.Contains(err.Error(), `held by host "a"`) {
		t.Errorf("release of another host's block: %v", err)
	}
	if err := a.Release(ctx, "podnet", netip.MustParsePrefix("10.22.0.64/26")); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, "podnet", netip.MustParsePrefix("10.22.0.64/26")); err != nil {
		t.Errorf("second release: %v", err)
	}
	if err := a.Release(ctx, "podnet", netip.MustParsePrefix("10.22.0.65/26")); !errors.Is(err, ipam.ErrInvalid) {
		t.Errorf("release of an unmasked block: %v", err)
	}
	if owned, _ = a.Owned(ctx, p); fmt.Sprint(owned[0]) != "[10.22.0.0/26 10.22.0.192/26]" {
		t.Errorf("a owns %v after release", owned)
	}
	// The first free block is the one given back.
	if blk := claim(t, b, p, 0); blk != netip.MustParsePrefix("10.22.0.64/26") {
		t.Errorf("after release b claimed %s", blk)
	}
	if _, err := a.Claim(ctx, p, 2); !errors.Is(err, ipam.ErrInvalid) {
		t.Errorf("claim in range 2: %v", err)
	}
}

func TestClaimRecreatesPool(t *testing.T) {
	e := etcdtest.Start(t)
	a := newClaims(t, e, "a")
	p := pool(t, "p", map[string]string{"subnet": "10.1.0.0/24"})
	claim(t, a, p, 0) // no Register: the claim writes the definition
	got, err := e.Client.Get(context.Background(), testPrefix+"pools/p")
	if err != nil || len(got.Kvs) != 1 {
		t.Fatalf("pool definition after Claim: %v %v", got, err)
	}
}

func TestClaimExhausted(t *testing.T) {
	e := etcdtest.Start(t)
	ctx := context.Background()
	a, b := newClaims(t, e, "a"), newClaims(t, e, "b")
	// 10.5.0.0/24 in /26: 4 blocks; the one 10.5.0.128/26 is excluded whole.
	p := pool(t, "small", map[string]string{"subnet": "10.5.0.0/24", "exclude": "10.5.0.128/26"})
	var got []string
	for _, c := range []*Claims{a, b, a} {
		got = append(got, claim(t, c, p, 0).String())
	}
	if s := strings.Join(got, " "); s != "10.5.0.0/26 10.5.0.64/26 10.5.0.192/26" {
		t.Errorf("claimed %s", s)
	}
	_, err := b.Claim(ctx, p, 0)
	if !errors.Is(err, ErrExhausted) || !errors.Is(err, ipam.ErrExhausted) || !strings.Contains(err.Error(), "10.5.0.0/24") {
		t.Errorf("claim in a full range: %v", err)
	}
	// A range smaller than the subnet has fewer blocks.
	q := pool(t, "q", map[string]string{"subnet": "10.6.0.0/24", "range": "10.6.0.70-10.6.0.130"})
	if got := claim(t, a, q, 0).String() + " " + claim(t, a, q, 0).String(); got != "10.6.0.64/26 10.6.0.128/26" {
		t.Errorf("claimed %s", got)
	}
	if _, err := a.Claim(ctx, q, 0); !errors.Is(err, ErrExhausted) {
		t.Errorf("third block of a short range: %v", err)
	}
}

func TestReleaseAll(t *testing.T) {
	e := etcdtest.Start(t)
	ctx := context.Background()
	a, b := newClaims(t, e, "a"), newClaims(t, e, "b")
	p := pool(t, "p", map[string]string{"subnet": "10.7.0.0/24"})
	if err := a.Register(ctx, p); err != nil {
		t.Fatal(err)
	}
	a1, a2, b1 := claim(t, a, p, 0), claim(t, a, p, 0), claim(t, b, p, 0)
	claim(t, b, p, 0)
	if _, err := b.Claim(ctx, p, 0); !errors.Is(err, ErrExhausted) {
		t.Fatalf("full: %v", err)
	}
	if err := a.ReleaseAll(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if owned, _ := a.Owned(ctx, p); len(owned[0]) != 0 {
		t.Errorf("a still owns %v", owned)
	}
	// b holds blocks: the definition stays.
	if got, _ := e.Client.Get(ctx, testPrefix+"pools/p"); len(got.Kvs) != 1 {
		t.Error("pool definition deleted while b holds blocks")
	}
	if got := []netip.Prefix{claim(t, b, p, 0), claim(t, b, p, 0)}; !slices.Equal(got, []netip.Prefix{a1, a2}) {
		t.Errorf("b claimed %v after a left, want %v", got, []netip.Prefix{a1, a2})
	}
	if owned, _ := b.Owned(ctx, p); len(owned[0]) != 4 || !slices.Contains(owned[0], b1) {
		t.Errorf("b owns %v", owned)
	}
	if err := b.ReleaseAll(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Client.Get(ctx, testPrefix+"pools/p"); len(got.Kvs) != 0 {
		t.Error("pool definition kept after the last host left")
	}
	// The name is free for another definition now.
	if err := a.Register(ctx, pool(t, "p", map[string]string{"subnet": "10.8.0.0/24"})); err != nil {
		t.Errorf("register after the pool was released: %v", err)
	}
	if err := a.ReleaseAll(ctx, "../x"); !errors.Is(err, ipam.ErrInvalid) {
		t.Errorf("bad pool name: %v", err)
	}
}

func TestMalformedKeysIgnored(t *testing.T) {
	e := etcdtest.Start(t)
	ctx := context.Background()
	a := newClaims(t, e, "a")
	p := pool(t, "p", map[string]string{"subnet": "10.9.0.0/24"})
	for _, k := range []string{
		"garbage", "10.9.0.64-26x", "10.9.0.65-26", "10.9.0.64-026", "10.9.0.64", "10.9.0.64-33", "::ffff:10.9.0.64-122", "",
	} {
		if _, err := e.Client.Put(ctx, testPrefix+"blocks/p/"+k, "a"); err != nil {
			t.Fatal(err)
		}
	}
	owned, err := a.Owned(ctx, p)
	if err != nil || len(owned[0]) != 0 {
		t.Errorf("Owned with malformed keys: %v %v", owned, err)
	}
	if b := claim(t, a, p, 0); b != netip.MustParsePrefix("10.9.0.0/26") {
		t.Errorf("claimed %s", b)
	}
	// A well-formed key of another block length is no one's to hand out,
	// but the blocks under it are not claimed.
	if _, err := e.Client.Put(ctx, testPrefix+"blocks/p/10.9.0.128-25", "a"); err != nil {
		t.Fatal(err)
	}
	if b := claim(t, a, p, 0); b != netip.MustParsePrefix("10.9.0.64/26") {
		t.Errorf("claimed %s next to a /25 key", b)
	}
	if _, err := a.Claim(ctx, p, 0); !errors.Is(err, ErrExhausted) {
		t.Errorf("claim of blocks under a /25 key: %v", err)
	}
	if owned, _ = a.Owned(ctx, p); fmt.Sprint(owned) != "[[10.9.0.0/26 10.9.0.64/26]]" {
		t.Errorf("owned %v", owned)
	}
}

func TestParseBlock(t *testing.T) {
	for _, b := range []string{"10.22.0.64/26", "fd00:22::1:80/122", "0.0.0.0/0", "::/0", "10.0.0.1/32"} {
		p := netip.MustParsePrefix(b)
		got, err := parseBlock(formatBlock(p))
		if err != nil || got != p {
			t.Errorf("%s -> %q -> %v %v", b, formatBlock(p), got, err)
		}
	}
}

func FuzzParseBlock(f *testing.F) {
	f.Add("10.22.0.64-26")
	f.Add("fd00::40-122")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseBlock(s)
		if err != nil {
			return
		}
		if formatBlock(b) != s || b != b.Masked() {
			t.Fatalf("%q parsed to %s, which formats as %q", s, b, formatBlock(b))
		}
	})
}

// host is one host of the parallel test: a Claims, an Allocator and the
// blocks it holds, serialized by a mutex as the daemon does.
type host struct {
	mu     sync.Mutex
	claims *Claims
	alloc  *ipam.Allocator
	blocks [][]netip.Prefix
	pool   ipam.Pool
}

func (h *host) allocate(owner string) (ipam.Lease, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		l, err := h.alloc.Allocate(owner, nil, h.blocks)
		i, need := ipam.NeedBlockRange(err)
		if !need {
			return l, err
		}
		b, err := h.claims.Claim(context.Background(), h.pool, i)
		if err != nil {
			return l, err
		}
		h.blocks[i] = append(h.blocks[i], b)
	}
}

// Two hosts on one etcd allocate 500 addresses each in parallel from one
// /22 in /26 blocks: no address is given twice, and the blocks are
// disjoint.
func TestTwoHostsParallel(t *testing.T) {
	e := etcdtest.Start(t)
	ctx := context.Background()
	p := pool(t, "pods", map[string]string{"subnet": "10.50.0.0/22", "block": "26"})
	hosts := map[string]*host{}
	for _, id := range []string{"a", "b"} {
		c := newClaims(t, e, id)
		if err := c.Register(ctx, p); err != nil {
			t.Fatal(err)
		}
		al, err := ipam.NewAllocator(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		hosts[id] = &host{claims: c, alloc: al, blocks: make([][]netip.Prefix, 1), pool: p}
	}
	const perHost, workers = 500, 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*perHost)
	for id, h := range hosts {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := w; n < perHost; n += workers {
					if _, err := h.allocate(fmt.Sprintf("%s/%d", id, n)); err != nil {
						errs <- fmt.Errorf("host %s, lease %d: %w", id, n, err)
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[netip.Addr]string{}
	blockHost := map[netip.Prefix]string{}
	for id, h := range hosts {
		owned, err := h.claims.Owned(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(h.blocks[0], func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
		if !slices.Equal(owned[0], h.blocks[0]) {
			t.Errorf("host %s: etcd says it owns %v, it claimed %v", id, owned[0], h.blocks[0])
		}
		for _, b := range owned[0] {
			if other, dup := blockHost[b]; dup {
				t.Errorf("block %s held by %s and %s", b, other, id)
			}
			blockHost[b] = id
		}
		leases := h.alloc.Leases()
		if len(leases) != perHost {
			t.Errorf("host %s: %d leases", id, len(leases))
		}
		for _, l := range leases {
			ad := l.Addrs[0].Addr()
			if other, dup := seen[ad]; dup {
				t.Errorf("%s given to %s and %s", ad, other, l.Owner)
			}
			seen[ad] = l.Owner
			if !slices.ContainsFunc(owned[0], func(b netip.Prefix) bool { return b.Contains(ad) }) {
				t.Errorf("host %s leased %s outside its blocks %v", id, ad, owned[0])
			}
		}
	}
	if len(seen) != 2*perHost {
		t.Errorf("%d distinct addresses, want %d", len(seen), 2*perHost)
	}
	t.Logf("blocks: a %d, b %d", len(hosts["a"].blocks[0]), len(hosts["b"].blocks[0]))
}

// Eight hosts claim blocks of one range at once, without any lock between
// them: etcd's transactions give each block to one host, the losers of a
// race retry with the next block, and when all are taken Claim says so.
func TestConcurrentClaims(t *testing.T) {
	e := etcdtest.Start(t)
	p := pool(t, "race", map[string]string{"subnet": "10.10.0.0/24", "block": "28"}) // 16 blocks
	const hosts = 8
	got := make([][]netip.Prefix, hosts)
	var lost atomic.Int64
	log := slog.New(countHandler{msg: "lost a race for a block; trying again", n: &lost})
	var wg sync.WaitGroup
	for h := range hosts {
		c, err := New(Config{Endpoints: []string{e.URL}, Prefix: testPrefix, Host: fmt.Sprint("h", h), Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b, err := c.Claim(context.Background(), p, 0)
				if errors.Is(err, ErrExhausted) {
					return
				}
				if err != nil {
					t.Errorf("host %d: %v", h, err)
					return
				}
				got[h] = append(got[h], b)
			}
		}()
	}
	wg.Wait()
	holder := map[netip.Prefix]int{}
	for h, bs := range got {
		for _, b := range bs {
			if o, dup := holder[b]; dup {
				t.Errorf("block %s claimed by h%d and h%d", b, o, h)
			}
			holder[b] = h
		}
	}
	t.Logf("%d lost races retried", lost.Load())
	if len(holder) != 16 {
		t.Errorf("%d blocks claimed, want 16", len(holder))
	}
	resp, err := e.Client.Get(context.Background(), testPrefix+"blocks/race/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		b, _ := parseBlock(strings.TrimPrefix(string(kv.Key), testPrefix+"blocks/race/"))
		if want := fmt.Sprint("h", holder[b]); string(kv.Value) != want {
			t.Errorf("%s is %s's in etcd, Claim told %s", kv.Key, kv.Value, want)
		}
	}
}

// countHandler counts log records with one message.
type countHandler struct {
	msg string
	n   *atomic.Int64
}

func (h countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countHandler) WithGroup(string) slog.Handler      { return h }

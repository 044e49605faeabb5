package ipam

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// FuzzParsePool: ParsePool never panics; a pool it accepts is valid, and
// survives a JSON round trip as an Equal pool.
func FuzzParsePool(f *testing.F) {
	f.Add("p", "10.22.0.0/16", "", "", "", "")
	f.Add("dual", "10.22.0.0/16,fd00:22::/64", "10.22.1.0-10.22.1.255", "10.22.0.254,fd00:22::1", "10.22.1.10,fd00:22::/120", "24,120")
	f.Add("x.y-z", "fd00::/127", "fd00::1-fd00::1", "", "", "128")
	f.Add("t", "10.0.0.0/30", "", "10.0.0.2", "10.0.0.0/31", "")
	f.Fuzz(func(t *testing.T, name, subnet, rng, gw, excl, block string) {
		opts := map[string]string{"subnet": subnet}
		for k, v := range map[string]string{"range": rng, "gateway": gw, "exclude": excl, "block": block} {
			if v != "" {
				opts[k] = v
			}
		}
		p, err := ParsePool(name, opts)
		if err != nil {
			return
		}
		q := p.clone()
		if err := q.Validate(); err != nil {
			t.Fatalf("accepted pool does not validate: %v", err)
		}
		if !q.Equal(p) {
			t.Fatalf("Validate changed a valid pool: %+v -> %+v", p, q)
		}
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Pool
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatalf("unmarshal %s: %v", js, err)
		}
		if err := back.Validate(); err != nil || !back.Equal(p) {
			t.Fatalf("JSON round trip %s: %+v, %v", js, back, err)
		}
		if _, err := NewAllocator(p, nil); err != nil {
			t.Fatalf("NewAllocator of a valid pool: %v", err)
		}
	})
}

// FuzzAllocator runs a random sequence of allocations and releases on a
// small dual-stack pool (and a blocks-mode view of it) and checks, after
// every step, that no address has two owners, that every address is
// allocatable, and that the index agrees with a plain model.
func FuzzAllocator(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 0x80, 0x81, 4, 5, 0x40, 0x41, 0xc2, 6})
	f.Add([]byte(strings.Repeat("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f", 3)))
	f.Fuzz(func(t *testing.T, ops []byte) {
		p, err := ParsePool("f", map[string]string{"subnet": "10.0.0.0/27,fd00::/123", "exclude": "10.0.0.8/30,10.0.0.17,fd00::4/126", "block": "29,125"})
		if err != nil {
			t.Fatal(err)
		}
		a, err := NewAllocator(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		var blocks [][]netip.Prefix // nil: single host
		model := map[string]Lease{}
		for step, op := range ops {
			owner := fmt.Sprint("o", op&0x0f)
			switch op >> 6 {
			case 0, 1: // allocate, maybe a wanted address
				var want []netip.Addr
				if op&0x30 == 0x10 {
					want = []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 0, op & 0x1f})}
				}
				l, err := a.Allocate(owner, want, blocks)
				if i, need := NeedBlockRange(err); need {
					blocks[i] = append(blocks[i], p.BlockOf(i, netip.AddrFrom4([4]byte{10, 0, 0, op & 0x1f})))
					if i == 1 {
						blocks[i][len(blocks[i])-1] = p.BlockOf(i, netip.AddrFrom16([16]byte{0: 0xfd, 15: op & 0x1f}))
					}
					continue
				}
				if err == nil {
					old, ok := model[owner]
					if ok && addrsOf(old) != addrsOf(l) {
						t.Fatalf("step %d: %s changed lease %v -> %v", step, owner, old, l)
					}
					// A new lease in blocks mode, wanted addresses too, is in
					// this host's blocks.
					for i, ad := range l.Addrs {
						if !ok && blocks != nil && !inBlocks(blocks, i, ad.Addr()) {
							t.Fatalf("step %d: %s got %s outside the blocks %v", step, owner, ad, blocks[i])
						}
					}
					model[owner] = l
				}
			case 2: // release
				_, ok := a.Release(owner)
				if _, had := model[owner]; had != ok {
					t.Fatalf("step %d: Release(%s) = %v, model %v", step, owner, ok, had)
				}
				delete(model, owner)
			case 3: // switch to blocks mode (keeps leases)
				if blocks == nil {
					blocks = make([][]netip.Prefix, 2)
				}
			}
			held := map[netip.Addr]string{}
			for o, l := range model {
				for i, ad := range l.Addrs {
					if prev, dup := held[ad.Addr()]; dup {
						t.Fatalf("step %d: %s given to %s and %s", step, ad, prev, o)
					}
					held[ad.Addr()] = o
					if err := a.ranges[i].check("f", ad.Addr()); err != nil {
						t.Fatalf("step %d: leased an unallocatable address: %v", step, err)
					}
					if h, _ := a.Holder(ad.Addr()); h != o {
						t.Fatalf("step %d: Holder(%s) = %s, want %s", step, ad, h, o)
					}
				}
			}
			if got := len(a.Leases()); got != len(model) {
				t.Fatalf("step %d: %d leases, model %d", step, got, len(model))
			}
			for _, st := range a.Stats() {
				if st.Used != len(model) {
					t.Fatalf("step %d: stats %+v, model %d", step, st, len(model))
				}
			}
		}
		if _, err := NewAllocator(p, a.Leases()); err != nil {
			t.Fatalf("leases do not restore: %v", err)
		}
	})
}

func addrsOf(l Lease) string { return fmt.Sprint(l.Addrs) }

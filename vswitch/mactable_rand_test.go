package vswitch

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMACTableRandom holds macTable to a map: random put, del, lookup, each
// (with deletions) and grown, with keys drawn from small spaces (many
// overwrites and deletes of present keys), a clustered space (sequential
// MACs, as a real segment has) and a huge one (mostly new keys, full
// buckets, growth).
func TestMACTableRandom(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  func(r *rand.Rand) uint64
		ops  int
		// learnerGrowth grows the table ahead at 3/4 full, as the learner
		// does; otherwise it grows only when a put finds both buckets full
		// or, up to growTo buckets, now and then at random.
		learnerGrowth bool
		growTo        int
	}{
		{name: "small", ops: 6000, growTo: 8 * minBuckets, key: func(r *rand.Rand) uint64 {
			return macKey(uint16(1+r.IntN(2)), uint64(r.IntN(40)))
		}},
		{name: "medium", ops: 8000, growTo: 4 * minBuckets, key: func(r *rand.Rand) uint64 {
			return macKey(uint16(1+r.IntN(4)), 0x020000000000|uint64(r.IntN(400)))
		}},
		{name: "clustered", ops: 8000, learnerGrowth: true, growTo: 8 * minBuckets, key: func(r *rand.Rand) uint64 {
			return macKey(1, 0x020000000000|uint64(r.IntN(5000)))
		}},
		{name: "large", ops: 8000, key: func(r *rand.Rand) uint64 {
			return macKey(uint16(1+r.IntN(0xFFFE)), r.Uint64())
		}},
		{name: "large learner growth", ops: 8000, learnerGrowth: true, key: func(r *rand.Rand) uint64 {
			return macKey(uint16(1+r.IntN(0xFFFE)), r.Uint64())
		}},
	} {
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("%s/seed%d", tc.name, seed), func(t *testing.T) {
				testMACTableAgainstModel(t, rand.New(rand.NewPCG(seed, 0x5eed)), tc.key, tc.ops, tc.learnerGrowth, tc.growTo)
			})
		}
	}
}

func testMACTableAgainstModel(t *testing.T, rng *rand.Rand, newKey func(*rand.Rand) uint64, ops int, learnerGrowth bool, growTo int) {
	mt := newMACTable(minBuckets)
	model := map[uint64]uint64{}
	var keys []uint64 // every key ever used, to draw present and absent keys
	key := func() uint64 {
		if len(keys) > 0 && rng.IntN(2) == 0 {
			return keys[rng.IntN(len(keys))]
		}
		k := newKey(rng)
		keys = append(keys, k)
		return k
	}
	val := func() uint64 {
		if rng.IntN(50) == 0 {
			return 0 // a zero value is a value like any other
		}
		return rng.Uint64()
	}
	grow := func() {
		nt := mt.grown()
		require.GreaterOrEqual(t, len(nt.b), 2*len(mt.b))
		requireTableEquals(t, nt, model)
		mt = nt
	}
	fullPuts, grows := 0, 0
	for i := range ops {
		switch op := rng.IntN(100); {
		case op < 45: // put
			k, v := key(), val()
			if learnerGrowth {
				if _, present := model[k]; !present && (mt.count+1)*4 > mt.slots()*3 {
					grow()
					grows++
				}
			}
			_, present := model[k]
			ok, added := mt.put(k, v)
			if present {
				require.True(t, ok, "op %d: overwrite of a present key failed", i)
			}
			if !ok {
				fullPuts++
				_, _, found := mt.lookup(k)
				require.False(t, found, "op %d: failed put left the key behind", i)
				if rng.IntN(4) == 0 {
					break // the caller gives up; nothing changed
				}
				for !ok {
					grow()
					grows++
					ok, added = mt.put(k, v)
				}
			}
			require.Equal(t, !present, added, "op %d: put(%#x) added", i, k)
			model[k] = v
		case op < 65: // del
			k := key()
			_, present := model[k]
			require.Equal(t, present, mt.del(k), "op %d: del(%#x)", i, k)
			delete(model, k)
		case op < 90: // lookup
			k := key()
			want, present := model[k]
			slot, got, found := mt.lookup(k)
			require.Equal(t, present, found, "op %d: lookup(%#x) found", i, k)
			if present {
				require.Equal(t, want, got, "op %d: lookup(%#x)", i, k)
				require.Equal(t, want, slot.Load())
			} else {
				require.Nil(t, slot)
			}
		case op < 92:
			if len(mt.b) < growTo {
				grow()
				grows++
			}
		case op < 96: // each over a range, deleting some of what it visits
			from := rng.IntN(len(mt.b) + 1)
			to := from + rng.IntN(len(mt.b)+2-from)
			seen := map[uint64]bool{}
			mt.each(from, to, func(k, v uint64) bool {
				require.False(t, seen[k], "each visited %#x twice", k)
				seen[k] = true
				want, present := model[k]
				require.True(t, present, "each visited %#x, not in the model", k)
				require.Equal(t, want, v)
				if rng.IntN(3) == 0 {
					delete(model, k)
					return true
				}
				return false
			})
		default:
			requireTableEquals(t, mt, model)
		}
		require.Equal(t, len(model), mt.count, "op %d: count", i)
	}
	requireTableEquals(t, mt, model)
	for k := range model { // empty it through del
		require.True(t, mt.del(k))
	}
	require.Zero(t, mt.count)
	requireTableEquals(t, mt, map[uint64]uint64{})
	t.Logf("%d keys used, %d buckets at the end; %d puts found both buckets full; %d grows", len(keys), len(mt.b), fullPuts, grows)
}

// TestMACTableFill fills tables without growing them until puts fail
// because both buckets of the key are full: a failed put changes nothing,
// present keys can still be overwritten and deleted, freed slots are
// reused, and grown keeps every entry.
func TestMACTableFill(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 0xf111))
		mt := newMACTable(minBuckets)
		model := map[uint64]uint64{}
		var present []uint64
		failed := 0
		for failed < 200 {
			k := macKey(uint16(1+rng.IntN(0xFFFE)), rng.Uint64())
			if _, dup := model[k]; dup {
				continue
			}
			v := rng.Uint64()
			ok, added := mt.put(k, v)
			if !ok {
				failed++
				require.False(t, added)
				_, _, found := mt.lookup(k)
				require.False(t, found)
				require.Equal(t, len(model), mt.count)
				// An overwrite of a present key still succeeds.
				pk := present[rng.IntN(len(present))]
				ok, added = mt.put(pk, v)
				require.True(t, ok)
				require.False(t, added)
				model[pk] = v
				continue
			}
			require.True(t, added)
			model[k] = v
			present = append(present, k)
		}
		load := float64(mt.count) / float64(mt.slots())
		require.Greater(t, load, 0.75, "two 4-slot choices should fill most of the table")
		requireTableEquals(t, mt, model)

		// Deleting makes room that the next put of a key in those buckets
		// uses.
		for _, k := range present[:len(present)/2] {
			require.True(t, mt.del(k))
			delete(model, k)
		}
		for range 100 {
			k := macKey(1, rng.Uint64())
			ok, added := mt.put(k, 7)
			if ok {
				require.True(t, added)
				model[k] = 7
			}
		}
		requireTableEquals(t, mt, model)
		nt := mt.grown()
		requireTableEquals(t, nt, model)
		t.Logf("seed %d: %.0f%% full after 200 failed puts", seed, 100*load)
	}
}

// requireTableEquals checks that each visits exactly model's entries, once
// each, that every key sits in one of its two buckets, and that lookup
// finds every entry.
func requireTableEquals(t *testing.T, mt *macTable, model map[uint64]uint64) {
	t.Helper()
	seen := map[uint64]bool{}
	mt.each(0, len(mt.b), func(k, v uint64) bool {
		require.False(t, seen[k], "each visited %#x twice", k)
		seen[k] = true
		want, ok := model[k]
		require.True(t, ok, "table holds %#x, model does not", k)
		require.Equal(t, want, v, "value of %#x", k)
		return false
	})
	require.Len(t, seen, len(model))
	require.Equal(t, len(model), mt.count)
	for bi := range mt.b {
		bk := &mt.b[bi]
		for i := range bucketSlots {
			k := bk.key[i].Load()
			if k == 0 {
				if v := bk.val[i].Load(); v != 0 {
					t.Fatalf("empty slot %d.%d holds value %#x", bi, i, v)
				}
				continue
			}
			if a, b := mt.buckets(k); bk != a && bk != b {
				t.Fatalf("%#x is in bucket %d, not one of its own", k, bi)
			}
		}
	}
	for k, v := range model {
		_, got, ok := mt.lookup(k)
		require.True(t, ok, "lookup(%#x)", k)
		require.Equal(t, v, got)
	}
}

// TestLearnerRandom drives a switch with random traffic, aging, port
// removal and re-attachment, VLAN changes and a static MAC, and holds the
// MAC table, the forwarding decisions and the learner's counters to a
// simple model: an entry per (VLAN, MAC) with its port and last-seen time,
// a per-bridge limit, flush on port removal or VLAN change, static entries
// that neither move nor age.
func TestLearnerRandom(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			testLearnerRandom(t, rand.New(rand.NewPCG(seed, 0x1ea4)), 1500)
		})
	}
}

func testLearnerRandom(t *testing.T, rng *rand.Rand, ops int) {
	const (
		age      = 30
		limit    = 6
		nMACs    = 10
		staticID = 50 // macN(50) is pinned to a in VLAN 0
	)
	type key struct {
		vlan uint16
		mac  int
	}
	type entry struct {
		port   string
		ts     uint32
		static bool
	}
	r := newL2Rig(t, Options{})
	bVLAN := uint16(0)
	config := func() Config {
		c := oneBridge(acc("a", 0), acc("b", bVLAN), trunk("t", 0, 10))
		c.Bridges[0].MACAgeSeconds = age
		c.Bridges[0].MACLimit = limit
		c.Bridges[0].StaticMACs = []StaticMAC{{MAC: macN(staticID), Port: "a"}}
		return c
	}
	r.reconf(config())
	r.attach("a", "b", "t")

	model := map[key]entry{{0, staticID}: {port: "a", static: true}}
	attached := map[string]bool{"a": true, "b": true, "t": true}
	var now uint32
	var moved, refused uint64
	carries := func(p string, vlan uint16) bool {
		switch p {
		case "a":
			return vlan == 0
		case "b":
			return vlan == bVLAN
		default:
			return vlan == 0 || vlan == 10
		}
	}
	flushPort := func(p string) {
		for k, e := range model {
			if e.port == p {
				delete(model, k)
			}
		}
	}
	names := func() []string {
		var out []string
		for _, p := range []string{"a", "b", "t"} {
			if attached[p] {
				out = append(out, p)
			}
		}
		return out
	}
	mac := func(id int) string {
		if id < 0 {
			return bcast()
		}
		return macN(id)
	}
	var log []string
	check := func() {
		t.Helper()
		for _, vlan := range []uint16{0, 10} {
			for id := 1; id <= staticID; id++ {
				if id > nMACs && id != staticID {
					continue
				}
				want, ok := model[key{vlan, id}]
				got, found := r.fdb("br0", vlan, macN(id))
				require.Equal(t, ok, found, "VLAN %d MAC %d; log:\n%v", vlan, id, log)
				if ok {
					require.Equal(t, fdbEntry{port: want.port, static: want.static}, got, "VLAN %d MAC %d", vlan, id)
				}
			}
		}
		require.Equal(t, moved, r.s.lrn.moved.Load(), "moves")
		require.Equal(t, refused, limitHits(r.s, "br0"), "refused by the limit")

		// The operator's views agree.
		var want []FDBEntry
		for k, e := range model {
			fe := FDBEntry{Bridge: "br0", VLAN: k.vlan, MAC: macN(k.mac), Port: e.port, Static: e.static}
			if !e.static {
				fe.AgeSeconds = now - e.ts
			}
			want = append(want, fe)
		}
		require.ElementsMatch(t, want, r.s.FDB())
		st := r.s.MACStats()
		require.Equal(t, moved, st.Moved)
		require.Equal(t, refused, st.LimitDrops["br0"])
	}

	for i := range ops {
		switch op := rng.IntN(100); {
		case op < 75: // a frame
			ps := names()
			in := ps[rng.IntN(len(ps))]
			vlan, tag := uint16(0), -1
			switch in {
			case "b":
				vlan = bVLAN
			case "t":
				if rng.IntN(2) == 0 {
					vlan, tag = 10, 10
				} else if rng.IntN(2) == 0 {
					tag = 0 // priority-tagged: native VLAN
				}
			}
			src := 1 + rng.IntN(nMACs)
			if rng.IntN(10) == 0 {
				src = staticID
			}
			dst := -1
			if rng.IntN(4) != 0 {
				dst = 1 + rng.IntN(nMACs+2) // nMACs+1, +2: never a source
				if dst == nMACs+1 {
					dst = staticID
				}
			}
			log = append(log, fmt.Sprintf("%d: %s VLAN %d %d->%d", i, in, vlan, src, dst))

			// Forwarding uses the table as it was before this frame.
			var want []string
			dropReason := ""
			if dst == src { // a forged source: dropped, never learned
				dropReason = nodeL2Input + "/src-mac-is-dst"
			} else if e, ok := model[key{vlan, dst}]; ok && dst >= 0 {
				if e.port == in {
					dropReason = nodeL2Fwd + "/dst-on-ingress-port"
				} else {
					want = []string{e.port}
				}
			} else {
				for _, p := range names() {
					if p != in && carries(p, vlan) {
						want = append(want, p)
					}
				}
				if len(want) == 0 {
					dropReason = nodeL2Flood + "/no-flood-port"
				}
			}
			before := allDrops(r.s)
			f := frame(mac(dst), macN(src), tag)
			r.send(in, f)
			got := r.recv()
			require.Equal(t, want, keys(got), "op %d: %s", i, log[len(log)-1])
			for p, fs := range got {
				require.Len(t, fs, 1)
				wantTag := -1
				if p == "t" && vlan != 0 {
					wantTag = int(vlan)
				}
				require.Equal(t, frame(mac(dst), macN(src), wantTag), fs[0], "op %d: to %s", i, p)
			}
			if dropReason != "" {
				require.Equal(t, map[string]uint64{dropReason: 1}, dropsSince(r.s, before), "op %d", i)
			} else {
				require.Empty(t, dropsSince(r.s, before), "op %d", i)
			}

			// Then the source is learned.
			k := key{vlan, src}
			switch e, ok := model[k]; {
			case dst == src:
			case ok && e.static:
			case ok && e.port == in:
				e.ts = now
				model[k] = e
			case ok:
				model[k] = entry{port: in, ts: now}
				moved++
			case len(model) >= limit:
				refused++
			default:
				model[k] = entry{port: in, ts: now}
			}
		case op < 85: // time passes; the ager runs
			d := 1 + rng.IntN(age-5)
			log = append(log, fmt.Sprintf("%d: +%ds", i, d))
			r.clock.advance(time.Duration(d) * time.Second)
			now += uint32(d)
			r.s.Age()
			for k, e := range model {
				if !e.static && now-e.ts > age {
					delete(model, k)
				}
			}
		case op < 92: // a port goes or comes back
			var gone []string
			for _, p := range []string{"a", "b", "t"} {
				if !attached[p] {
					gone = append(gone, p)
				}
			}
			if len(gone) > 0 && (rng.IntN(2) == 0 || len(gone) == 2) {
				p := gone[rng.IntN(len(gone))]
				log = append(log, fmt.Sprintf("%d: attach %s", i, p))
				r.attach(p)
				attached[p] = true
				break
			}
			// a, the static MAC's port, stays: re-installing a static entry
			// may take the bridge past its limit, which the model leaves
			// out (TestStaticMACFollowsAttachment covers it).
			var ps []string
			for _, p := range names() {
				if p != "a" {
					ps = append(ps, p)
				}
			}
			if len(ps) == 0 {
				break
			}
			p := ps[rng.IntN(len(ps))]
			log = append(log, fmt.Sprintf("%d: remove %s", i, p))
			require.NoError(t, r.s.RemovePort(p))
			delete(r.ports, p)
			attached[p] = false
			flushPort(p)
		default: // b changes VLAN
			bVLAN = 10 - bVLAN
			log = append(log, fmt.Sprintf("%d: b to VLAN %d", i, bVLAN))
			r.reconf(config())
			flushPort("b")
		}
		check()
	}
	t.Logf("%d moves, %d refused by the limit, %d entries at the end", moved, refused, len(model))
}

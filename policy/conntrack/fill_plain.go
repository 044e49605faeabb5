//go:build !race

package conntrack

import "unsafe"

// entryPlain is entry's layout without the atomic types, for fill.
type entryPlain struct {
	seq, mark uint32
	state     uint64
	key0      [5]uint64
	label     uint64
	key1      [5]uint64
	_         [24]byte
}

func init() {
	var e entry
	var p entryPlain
	if unsafe.Sizeof(p) != unsafe.Sizeof(e) || unsafe.Offsetof(p.key0) != unsafe.Offsetof(e.key0) ||
		unsafe.Offsetof(p.label) != unsafe.Offsetof(e.label) || unsafe.Offsetof(p.key1) != unsafe.Offsetof(e.key1) ||
		unsafe.Offsetof(p.state) != unsafe.Offsetof(e.state) || unsafe.Offsetof(p.mark) != unsafe.Offsetof(e.mark) {
		panic("conntrack: entryPlain does not match entry")
	}
}

// fill writes a dead entry's keys, mark, label (0) and state word, for
// commitKeys, with plain stores. Nobody reads them until the entry's
// sequence word, stored atomically after them, says live: a reader
// holding a stale slot word sees it dead or changed and drops what it
// read (the seqlock), and the atomic store orders these before it (a
// release on every architecture Go supports; on amd64 the stores are
// in order anyway). An atomic store is an XCHG on amd64, a full barrier;
// the thirteen of them cost about 100 ns a commit (BenchmarkNewFlows,
// batch-room-prepared: 444-460 ns a flow with them, 345-369 without).
// The race detector would report a seqlock reader's loads racing with
// these stores, so under -race fill is fill_race.go's atomic stores
// (and the concurrency tests run both ways).
func (e *entry) fill(k, rk *Key, mark uint32, state uint64) {
	p := (*entryPlain)(unsafe.Pointer(e))
	p.key0 = [5]uint64{k.Src.Hi, k.Src.Lo, k.Dst.Hi, k.Dst.Lo, k.word4()}
	p.key1 = [5]uint64{rk.Src.Hi, rk.Src.Lo, rk.Dst.Hi, rk.Dst.Lo, rk.word4()}
	p.mark, p.label, p.state = mark, 0, state
}

//go:build !race

package conntrack

import "unsafe"

// tagWords is the view of a bucket findFirst searches: its slot words as
// 32-bit words (bucket.tags' layout), read with plain loads. The
// compiler folds a plain load into the compare (CMP mem, reg); an atomic
// one it computes each address for first, two instructions more per
// slot. The tags are only a hint: TrackBatch checks a candidate's entry
// under its sequence word like any slot (a torn or stale tag costs a
// lookup, never a wrong answer), and on every architecture Go supports
// an aligned 32-bit load is not torn anyway. The race detector would
// report these loads racing with other workers' atomic stores to the
// slots, so under -race tagWords is tags_race.go's atomic view (and
// TestPlainBuild runs the tests without -race too).
type tagWords = [2 * bucketSlots]uint32

func (b *bucket) tagWords() *tagWords { return (*tagWords)(unsafe.Pointer(b)) }

func tagAt(t *tagWords, i int) uint32 { return t[i] }

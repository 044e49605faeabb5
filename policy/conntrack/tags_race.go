//go:build race

package conntrack

import "sync/atomic"

// tagWords is the view of a bucket findFirst searches, atomic under the
// race detector (tags_plain.go has the plain view of other builds, and
// why).
type tagWords = [2 * bucketSlots]atomic.Uint32

func (b *bucket) tagWords() *tagWords { return b.tags() }

func tagAt(t *tagWords, i int) uint32 { return t[i].Load() }

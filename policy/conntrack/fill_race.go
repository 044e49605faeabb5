//go:build race

package conntrack

// fill writes a dead entry's keys, mark, label (0) and state word, for
// commitKeys: with atomic stores under the race detector, which checks
// the seqlock's readers against them (fill_plain.go has the plain
// stores of other builds, and why).
func (e *entry) fill(k, rk *Key, mark uint32, state uint64) {
	e.storeKey(Original, k)
	e.storeKey(Reply, rk)
	e.mark.Store(mark)
	e.label.Store(0)
	e.state.Store(state)
}

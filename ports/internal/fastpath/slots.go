package fastpath

// slots hands out the indexes 0..n-1 of a counter array. A released index
// is quarantined until the next grace period (quiesced), so that a frame
// that looked its owner up before the release cannot count into the next
// owner, whose counters start at zero. Not safe for concurrent use.
type slots struct {
	n       uint32
	next    uint32   // next..n-1 were never handed out
	free    []uint32 // released before the last grace period
	pending []uint32 // released since
}

func newSlots(n int) *slots { return &slots{n: uint32(n)} }

// alloc returns a free index, or false when every index is in use or
// quarantined.
func (s *slots) alloc() (uint32, bool) {
	if k := len(s.free); k > 0 {
		x := s.free[k-1]
		s.free = s.free[:k-1]
		return x, true
	}
	if s.next < s.n {
		s.next++
		return s.next - 1, true
	}
	return 0, false
}

// release quarantines x.
func (s *slots) release(x uint32) { s.pending = append(s.pending, x) }

// starved reports whether alloc fails now but would succeed after a grace
// period.
func (s *slots) starved() bool {
	return len(s.free) == 0 && s.next == s.n && len(s.pending) > 0
}

// quiesced ends the quarantine of every index released before the grace
// period that just ended.
func (s *slots) quiesced() {
	s.free = append(s.free, s.pending...)
	s.pending = s.pending[:0]
}

// inUse is the number of indexes handed out and not released.
func (s *slots) inUse() int { return int(s.next) - len(s.free) - len(s.pending) }

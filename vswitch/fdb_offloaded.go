package vswitch

import "slices"

// FastPathFDB lists the MAC-table entries the kernel fast path holds, with
// their hit counters: what /metrics exports per offloaded MAC. It walks
// the fast path's own set (bounded by the kernel map), not the MAC table,
// so a scrape costs the same with a million learned MACs as with none.
func (s *Switch) FastPathFDB() []FDBEntry {
	t := s.tables.Load()
	l := s.lrn
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.fpath == nil || len(s.fpath.entries) == 0 {
		return nil
	}
	now := s.now.Load()
	mt := l.macs.Load()
	out := make([]FDBEntry, 0, len(s.fpath.entries))
	keys := make([]uint64, 0, len(s.fpath.entries))
	for k := range s.fpath.entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		dom := uint16(k >> 48)
		if int(dom) >= len(t.domains) || !t.domains[dom].valid {
			continue
		}
		_, v, ok := mt.lookup(k)
		if !ok || !l.valid(v) {
			continue
		}
		out = append(out, s.fdbEntry(t, k, v, now))
	}
	return out
}

package fib

// tbl24 geometry: 2^24 entries of 4 bytes in 4 KiB pages, grouped in 2 MiB
// regions for the bookkeeping.
const (
	tbl24Len      = 1 << 24
	pageEntries   = 1024
	regionPages   = 512
	regionEntries = regionPages * pageEntries
	tbl24Regions  = tbl24Len / regionEntries
)

// pages24 accounts for the tbl24 memory the writer has touched, page by
// page, so MemoryBytes is honest and empty pages can be given back.
//
// A page is resident from its first non-zero write until Reclaim finds it
// empty again and releases it. Pages stay 4 KiB: huge pages (MADV_HUGEPAGE
// and MADV_COLLAPSE on each 2 MiB region as it filled) were measured at 1M
// routes and did not make lookups faster, so they were left out.
type pages24 struct {
	nz       [tbl24Regions]*[regionPages]uint16 // non-empty entries per page; nil: none in the region
	resident [tbl24Regions][regionPages / 64]uint64
	count    [tbl24Regions]int // resident pages per region
}

// note records that entry i goes from old to v (not equal).
func (p *pages24) note(i, old, v uint32) {
	if old != 0 && v != 0 {
		return
	}
	r, pg := i/regionEntries, i/pageEntries%regionPages
	nz := p.nz[r]
	if nz == nil {
		nz = new([regionPages]uint16)
		p.nz[r] = nz
	}
	if v == 0 {
		nz[pg]--
		return
	}
	nz[pg]++
	if w, b := pg/64, uint64(1)<<(pg%64); p.resident[r][w]&b == 0 {
		p.resident[r][w] |= b
		p.count[r]++
	}
}

// releaseEmpty gives the empty resident pages back to the kernel. Safe
// with concurrent readers: they read zeros either way.
func (p *pages24) releaseEmpty(m tbl24Mem, t *[tbl24Len]uint32) {
	for r, nz := range p.nz {
		if nz == nil {
			continue
		}
		for pg, n := range nz {
			w, b := pg/64, uint64(1)<<(pg%64)
			if n == 0 && p.resident[r][w]&b != 0 && m.release(t, (r*regionPages+pg)*pageEntries, pageEntries) {
				p.resident[r][w] &^= b
				p.count[r]--
			}
		}
		if p.count[r] == 0 {
			p.nz[r] = nil
		}
	}
}

// bytes is the tbl24 memory resident plus this bookkeeping.
func (p *pages24) bytes() int {
	n := 0
	for r, c := range p.count {
		n += c * 4096
		if p.nz[r] != nil {
			n += regionPages * 2
		}
	}
	return n
}

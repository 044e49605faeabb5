package fib

import "sync/atomic"

// dir24 is a directly indexed array of 2^24 entries: Table4's tbl24 and
// Table6's root. It is reserved address space (see mapTbl24), committed
// page by page as entries become non-zero; pages accounts for it.
type dir24 struct {
	tbl   *[tbl24Len]uint32 // nil once closed
	mem   tbl24Mem
	pages pages24
}

func (d *dir24) open() error {
	tbl, mem, err := mapTbl24()
	if err != nil {
		return err
	}
	d.tbl, d.mem = tbl, mem
	return nil
}

func (d *dir24) close() error {
	d.tbl, d.pages = nil, pages24{}
	return d.mem.unmap()
}

// store publishes v in entry i, which holds old (the writer's own last
// store), and accounts for the page.
func (d *dir24) store(i, old, v uint32) {
	d.pages.note(i, old, v)
	atomic.StoreUint32(&d.tbl[i], v)
}

// releaseEmpty gives pages that became empty back to the kernel.
func (d *dir24) releaseEmpty() { d.pages.releaseEmpty(d.mem, d.tbl) }

// bytes is the memory resident, with bookkeeping.
func (d *dir24) bytes() int { return d.pages.bytes() }

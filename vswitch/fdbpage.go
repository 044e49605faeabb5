package vswitch

import (
	"container/heap"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Page sizes of FDBPage.
const (
	DefaultFDBPageLimit = 1000
	MaxFDBPageLimit     = 10000
)

// ErrInvalidQuery is wrapped by FDBPage's errors about its query.
var ErrInvalidQuery = errors.New("invalid MAC table query")

// FDBQuery selects one page of a bridge's MAC table. Entries come in
// (VLAN, MAC) order; a page starts after the cursor After.
type FDBQuery struct {
	Bridge string
	// Port keeps the entries on this port (as FDBEntry.Port names it:
	// a port, "rif:NAME" for a router interface's MACs); "" all.
	Port string
	// VLAN keeps one VLAN; nil all.
	VLAN *uint16
	// MAC keeps one MAC; "" all.
	MAC string
	// Limit is the most entries returned (0: DefaultFDBPageLimit; at most
	// MaxFDBPageLimit).
	Limit int
	// After is the cursor of the previous page (FDBPage.Next); "" starts
	// at the beginning.
	After string
}

// FDBPage is one page of MAC table entries.
type FDBPage struct {
	Entries []FDBEntry `json:"entries"`
	// Total is the number of entries that match the query's filters, on
	// all pages.
	Total int `json:"total"`
	// Next is the cursor for the following page ("VLAN/MAC" of this
	// page's last entry); empty on the last page.
	Next string `json:"next,omitempty"`
}

// FDBCursor is the cursor that starts a page after (vlan, mac).
func FDBCursor(vlan uint16, mac string) string { return fmt.Sprintf("%d/%s", vlan, mac) }

func parseFDBCursor(s string) (uint64, error) {
	v, m, ok := strings.Cut(s, "/")
	vlan, err := strconv.ParseUint(v, 10, 16)
	if !ok || err != nil || vlan > MaxVLAN {
		return 0, fmt.Errorf("%w: cursor %q: want VLAN/MAC", ErrInvalidQuery, s)
	}
	mac, err := parseMAC(m)
	if err != nil {
		return 0, fmt.Errorf("%w: cursor %q: want VLAN/MAC", ErrInvalidQuery, s)
	}
	return fdbOrder(uint16(vlan), mac), nil
}

// fdbOrder is an entry's place in a page: VLAN, then MAC.
func fdbOrder(vlan uint16, mac uint64) uint64 { return uint64(vlan)<<48 | mac&(1<<48-1) }

// fdbHit is an entry kept for a page.
type fdbHit struct{ order, key, val uint64 }

// fdbHeap keeps the smallest entries seen, largest on top.
type fdbHeap []fdbHit

func (h fdbHeap) Len() int           { return len(h) }
func (h fdbHeap) Less(i, j int) bool { return h[i].order > h[j].order }
func (h fdbHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *fdbHeap) Push(x any)        { *h = append(*h, x.(fdbHit)) }
func (h *fdbHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// FDBPage returns one page of a bridge's valid MAC entries. It reads the
// table as the workers do, without the learner's lock (learning goes on),
// and keeps only the page's entries in memory however large the table is;
// the learner's lock is taken only to read the page's fast-path counters.
// A table that changes between pages may make an entry appear on two
// pages or on none, as any paged listing of a live table.
func (s *Switch) FDBPage(q FDBQuery) (FDBPage, error) {
	limit := q.Limit
	if limit == 0 {
		limit = DefaultFDBPageLimit
	}
	if limit < 0 || limit > MaxFDBPageLimit {
		return FDBPage{}, fmt.Errorf("%w: limit %d: want 1 to %d", ErrInvalidQuery, q.Limit, MaxFDBPageLimit)
	}
	var after uint64
	hasAfter := q.After != ""
	if hasAfter {
		var err error
		if after, err = parseFDBCursor(q.After); err != nil {
			return FDBPage{}, err
		}
	}
	var mac uint64
	if q.MAC != "" {
		var err error
		if mac, err = parseMAC(q.MAC); err != nil {
			return FDBPage{}, fmt.Errorf("%w: mac %q: %v", ErrInvalidQuery, q.MAC, err)
		}
	}
	if q.VLAN != nil && *q.VLAN > MaxVLAN {
		return FDBPage{}, fmt.Errorf("%w: VLAN %d out of range 0..%d", ErrInvalidQuery, *q.VLAN, MaxVLAN)
	}
	t := s.tables.Load()
	bid := slices.IndexFunc(t.bridges, func(b bridgeEntry) bool { return b.valid && b.name == q.Bridge })
	page := FDBPage{Entries: []FDBEntry{}}
	if bid < 0 {
		return page, nil
	}
	portOK := func(uint16, *domainEntry) bool { return true }
	if q.Port != "" {
		rif, isRIF := strings.CutPrefix(q.Port, "rif:")
		idx := slices.IndexFunc(t.ports, func(p portEntry) bool { return p.name == q.Port && (p.up || p.tunnel != 0) })
		portOK = func(p uint16, d *domainEntry) bool {
			if p == routerPort {
				return isRIF && int(d.rif) < len(t.ifaces) && t.ifaces[d.rif].name == rif
			}
			return int(p) == idx
		}
	}

	l := s.lrn
	mt := l.macs.Load()
	h := make(fdbHeap, 0, min(limit, 1024))
	more := 0 // matching entries after the cursor
	for bi := range mt.b {
		bk := &mt.b[bi]
		for i := range bucketSlots {
			k := bk.key[i].Load()
			if k == 0 {
				continue
			}
			v := bk.val[i].Load()
			if bk.key[i].Load() != k {
				continue
			}
			dom := uint16(k >> 48)
			if int(dom) >= len(t.domains) {
				continue
			}
			d := &t.domains[dom]
			if !d.valid || int(d.bridge) != bid || !l.valid(v) ||
				q.VLAN != nil && d.vlan != *q.VLAN || q.MAC != "" && k&(1<<48-1) != mac || !portOK(valPort(v), d) {
				continue
			}
			page.Total++
			o := fdbOrder(d.vlan, k)
			if hasAfter && o <= after {
				continue
			}
			more++
			switch {
			case len(h) < limit:
				heap.Push(&h, fdbHit{o, k, v})
			case o < h[0].order:
				h[0] = fdbHit{o, k, v}
				heap.Fix(&h, 0)
			}
		}
	}
	slices.SortFunc(h, func(a, b fdbHit) int {
		if a.order < b.order {
			return -1
		}
		return 1
	})
	now := s.now.Load()
	l.mu.Lock()
	for _, e := range h {
		page.Entries = append(page.Entries, s.fdbEntry(t, e.key, e.val, now))
	}
	l.mu.Unlock()
	if more > len(h) && len(h) > 0 {
		last := page.Entries[len(page.Entries)-1]
		page.Next = FDBCursor(last.VLAN, last.MAC)
	}
	return page, nil
}

package conntrack

import "sync/atomic"

// Control-plane API: reading, deleting and expiring flows. These may run
// on any goroutine at the same time as the workers; they take no lock a
// worker takes and allocate only in Walk's and Flush's callbacks' hands.

// Flow is a snapshot of one entry.
type Flow struct {
	// Conn is the entry index (Meta.Conn).
	Conn uint32
	// Orig is the key of the original direction, Reply that of the reply
	// direction (Orig.Reverse() unless the flow is translated).
	Orig, Reply Key
	// TCP is the TCP state (TCP flows only).
	TCP TCPState
	// Replied: a packet was seen in the reply direction.
	Replied bool
	// LastSeen is the time of the last packet, in the callers' seconds.
	LastSeen uint32
	// Mark and Label are the entry's user data (see SetMark, SetLabel).
	Mark  uint32
	Label uint64
}

// Get returns a snapshot of entry idx, if it holds a committed flow.
func (t *Table) Get(idx uint32) (Flow, bool) {
	if idx == 0 || int(idx) >= len(t.entries) {
		return Flow{}, false
	}
	f, _, ok := t.snapshot(idx)
	return f, ok
}

func (t *Table) snapshot(idx uint32) (Flow, uint32, bool) {
	e := &t.entries[idx]
	for {
		s := e.seq.Load()
		if s&3 != 0 || s == 0 {
			return Flow{}, 0, false
		}
		f := Flow{Conn: idx, Mark: e.mark.Load(), Label: e.label.Load()}
		e.loadKey(Original, &f.Orig)
		e.loadKey(Reply, &f.Reply)
		st := e.state.Load()
		if e.seq.Load() != s {
			continue
		}
		f.TCP = tcpOf(st)
		f.Replied = st&stReplied != 0
		f.LastSeen = uint32(st >> stTimeShift)
		return f, s, true
	}
}

// Keys reads both keys of entry idx, consistently (under its sequence
// word), into orig and reply, and reports whether the entry holds a
// committed flow. It is Get without the rest of the snapshot, for a
// node that needs a flow's keys per packet (NAT translates a packet to
// the reverse of the other direction's key) and checks that the entry
// still holds the packet's key. It allocates nothing and takes no lock.
func (t *Table) Keys(idx uint32, orig, reply *Key) bool {
	if idx == 0 || int(idx) >= len(t.entries) {
		return false
	}
	e := &t.entries[idx]
	for {
		s := e.seq.Load()
		if s&3 != 0 || s == 0 {
			return false
		}
		e.loadKey(Original, orig)
		e.loadKey(Reply, reply)
		if e.seq.Load() == s {
			return true
		}
	}
}

// OtherIPv4 is Keys for a node that has an IPv4 packet's key already
// (NAT's fast path): it reports ok if entry idx holds a committed flow
// with key cur in direction d (compared in place, not copied out) whose
// keys are both IPv4 (IPv4-mapped addresses, no KeyIPv6 flag), and
// returns the other direction's source and destination addresses and
// fifth word (SrcPort | DstPort<<16 | Zone<<32 | Proto<<48 | Flags<<56),
// read consistently under the entry's sequence word. It allocates
// nothing and takes no lock.
func (t *Table) OtherIPv4(idx uint32, d Dir, cur *Key) (src, dst uint32, w4 uint64, ok bool) {
	if idx == 0 || int(idx) >= len(t.entries) {
		return 0, 0, 0, false
	}
	e := &t.entries[idx]
	kw, ow := e.key(d&1), e.key(d^1&1)
	cw := cur.word4()
	// Both addresses IPv4-mapped and the flag clear; no branches.
	notV4 := cur.Src.Hi | cur.Dst.Hi | (cur.Src.Lo>>32 ^ 0xffff) | (cur.Dst.Lo>>32 ^ 0xffff) | cw>>56&KeyIPv6
	for {
		s := e.seq.Load()
		if s&3 != 0 || s == 0 {
			return 0, 0, 0, false
		}
		diff := (kw[4].Load() ^ cw) | (kw[1].Load() ^ cur.Src.Lo) | (kw[3].Load() ^ cur.Dst.Lo) |
			(kw[0].Load() ^ cur.Src.Hi) | (kw[2].Load() ^ cur.Dst.Hi)
		sh, sl, dh, dl, w := ow[0].Load(), ow[1].Load(), ow[2].Load(), ow[3].Load(), ow[4].Load()
		if e.seq.Load() == s {
			ok = diff|notV4|sh|dh|(sl>>32^0xffff)|(dl>>32^0xffff)|w>>56&KeyIPv6 == 0
			return uint32(sl), uint32(dl), w, ok
		}
	}
}

// Lookup finds the flow holding key k in either direction.
func (t *Table) Lookup(k Key) (idx uint32, d Dir, ok bool) {
	idx, d, _, ok = t.lookup(&k, k.hash(t.seed))
	return idx, d, ok
}

// Mark returns entry idx's mark (0 for an unused index). A node may call
// it for the Conn that Track returned.
func (t *Table) Mark(idx uint32) uint32 { return t.entries[idx].mark.Load() }

// SetMark sets entry idx's mark: 32 bits for the features above
// conntrack (a policy verdict, a load balancer's backend).
func (t *Table) SetMark(idx, mark uint32) { t.entries[idx].mark.Store(mark) }

// Label returns entry idx's 64-bit label.
func (t *Table) Label(idx uint32) uint64 { return t.entries[idx].label.Load() }

// SetLabel sets entry idx's 64-bit label.
func (t *Table) SetLabel(idx uint32, v uint64) { t.entries[idx].label.Store(v) }

// Delete removes flow idx; it reports whether there was one.
func (t *Table) Delete(idx uint32) bool {
	if idx == 0 || int(idx) >= len(t.entries) {
		return false
	}
	s := t.entries[idx].seq.Load()
	if s&3 != 0 || s == 0 {
		return false
	}
	return t.ctlKill(idx, s, &t.ctl.deleted)
}

// DeleteKey removes the flow holding key k in either direction.
func (t *Table) DeleteKey(k Key) bool {
	idx, _, s, ok := t.lookup(&k, k.hash(t.seed))
	return ok && t.ctlKill(idx, s, &t.ctl.deleted)
}

func (t *Table) ctlKill(idx, s uint32, why *atomic.Uint64) bool {
	killed, mustFree := t.kill(idx, s)
	if killed {
		why.Add(1)
		if mustFree {
			t.ctl.freed.Add(1)
			t.free.push(idx)
		}
	}
	return killed
}

// Walk calls fn with a snapshot of every committed flow, until fn
// returns false. Flows committed or deleted during the walk may or may
// not be seen.
func (t *Table) Walk(fn func(*Flow) bool) {
	n := min(int(t.free.used.Load()), len(t.entries)-1)
	for i := 1; i <= n; i++ {
		if f, _, ok := t.snapshot(uint32(i)); ok && !fn(&f) {
			return
		}
	}
}

// Flush deletes every flow for which match returns true (nil matches
// all) and returns how many it deleted: for "a rule was removed: stop
// the flows it allowed", or a zone going away. A flow whose entry changed
// between the snapshot match saw and the delete is left alone.
func (t *Table) Flush(match func(*Flow) bool) int {
	n, del := min(int(t.free.used.Load()), len(t.entries)-1), 0
	for i := 1; i <= n; i++ {
		f, s, ok := t.snapshot(uint32(i))
		if ok && (match == nil || match(&f)) && t.ctlKill(uint32(i), s, &t.ctl.deleted) {
			del++
		}
	}
	return del
}

// FlushZone deletes every flow of zone.
func (t *Table) FlushZone(zone uint16) int {
	return t.Flush(func(f *Flow) bool { return f.Orig.Zone == zone })
}

// Expire deletes the flows idle past their timeout at now among the n
// entries from index from on, and returns where to go on next time
// (wrapping to 1) and how many it deleted. An ager calls it periodically
// with a budget n; lookups also drop expired flows they meet, and a full
// table reuses them first.
func (t *Table) Expire(now uint32, from uint32, n int) (next uint32, expired int) {
	used := min(t.free.used.Load(), uint32(len(t.entries)-1))
	if from == 0 || from > used {
		from = 1
	}
	i := from
	for ; n > 0 && i <= used; i, n = i+1, n-1 {
		e := &t.entries[i]
		s := e.seq.Load()
		if s&3 != 0 || s == 0 {
			continue
		}
		st := e.state.Load()
		if uint32(st>>stGenShift)&stGenMask != s>>2&stGenMask || !t.expired(st, now) {
			continue
		}
		if t.ctlKill(i, s, &t.ctl.expired) {
			expired++
		}
	}
	if i > used {
		i = 1
	}
	return i, expired
}

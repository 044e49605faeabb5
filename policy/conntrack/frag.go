package conntrack

// The fragment table: a later fragment gets its first fragment's ports
// (the package doc's "Fragments" says why and what it leaves out).

const (
	fragSlots   = 1024 // per Worker, direct-mapped
	fragTimeout = 2    // seconds since the datagram's last piece seen
)

// fragEntry is one first fragment remembered: the key with its ports (in
// the first fragment's direction), its kind, the identification, and when.
type fragEntry struct {
	key  Key
	id   uint32
	seen uint32
	kind Kind
	used bool
}

// fragSlot is where a datagram's fragments are remembered: a hash of
// what every fragment of it shares (the key without ports, and the
// identification).
func (w *Worker) fragSlot(k *Key, id uint32) *fragEntry {
	h := mum(k.Src.Lo^k.Src.Hi^w.t.seed, k.Dst.Lo^k.Dst.Hi^uint64(id)<<16^uint64(k.Proto)<<8^uint64(k.Zone)<<48)
	return &w.frags[h&(fragSlots-1)]
}

// matches reports whether e is the first fragment of the datagram of
// fragment p: same addresses, protocol, zone and flags, same
// identification.
func (e *fragEntry) matches(p *Packet) bool {
	k, f := &p.Key, &e.key
	return e.used && e.id == p.FragID && f.Src == k.Src && f.Dst == k.Dst &&
		f.Proto == k.Proto && f.Zone == k.Zone && f.Flags == k.Flags
}

// inheritable is whether a first fragment of kind k can pass its ports on.
func inheritable(k Kind) bool {
	return k == KindUDP || k == KindICMPRequest || k == KindICMPReply || k == KindOther
}

// fragment applies the fragment table to p (p.Frag != FragNone). A first
// fragment takes its datagram's slot: remembered if it can pass its ports
// on, else the slot is emptied, so a later piece of this datagram is not
// matched to an earlier datagram of the same identity (IPv4's 16-bit
// identification repeats within seconds between two busy hosts). A later
// one whose first fragment is remembered gets its ports and kind and
// becomes trackable (true: its key changed); the last one also empties
// the slot, its datagram complete.
func (w *Worker) fragment(p *Packet, now uint32) bool {
	switch p.Frag {
	case FragFirst:
		e := w.fragSlot(&p.Key, p.FragID)
		*e = fragEntry{key: p.Key, id: p.FragID, seen: now, kind: p.Kind, used: p.Reason == ReasonNone && inheritable(p.Kind)}
	case FragLater, FragLast:
		if p.Reason != ReasonFragment {
			return false // given its ports already (a batch handed twice)
		}
		e := w.fragSlot(&p.Key, p.FragID)
		if !e.matches(p) || int32(now-e.seen) > fragTimeout || int32(now-e.seen) < 0 {
			return false
		}
		p.Key.SrcPort, p.Key.DstPort = e.key.SrcPort, e.key.DstPort
		p.Kind, p.Reason = e.kind, ReasonNone
		e.seen = now
		if p.Frag == FragLast {
			e.used = false
		}
		w.n.fragments++
		return true
	}
	return false
}

// fragments applies the fragment table to a vector whose keys were just
// hashed into hs, in the vector's order (a first fragment is remembered
// before the later ones behind it look), hashing again the keys it
// changes.
func (w *Worker) fragments(ps []Packet, hs []uint64, now uint32) {
	for i := range ps {
		if ps[i].Frag != FragNone && w.fragment(&ps[i], now) {
			hs[i] = ps[i].Key.hash(w.t.seed)
		}
	}
}

package conntrack

import (
	"runtime"

	"errors"
	"fmt"
	"github.com/vecswitch/vecswitch/internal/hugemem"
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Dir is the direction of a packet within its flow.
type Dir uint8

const (
	// Original is the direction of the packet that created the flow.
	Original Dir = 0
	// Reply is the other direction.
	Reply Dir = 1
)

// State is the connection-tracking state of one packet, as OVS's ct_state
// or Linux's ctinfo.
type State uint8

const (
	// StateNew: the packet starts a flow (no entry yet: Commit creates
	// one) or belongs to one that has not seen a reply yet.
	StateNew State = iota + 1
	// StateEstablished: the packet belongs to a flow that has seen
	// packets in both directions.
	StateEstablished
	// StateRelated: an ICMP error about a tracked flow, addressed to the
	// sender of the packet it quotes.
	StateRelated
	// StateInvalid: the packet is malformed or not allowed by its flow's
	// state; Result.Reason says why.
	StateInvalid
	// StateUntracked: conntrack leaves the packet alone (non-first
	// fragments, ICMPv6 neighbour discovery and MLD); Result.Reason says
	// which.
	StateUntracked
)

var stateNames = [...]string{"", "new", "established", "related", "invalid", "untracked"}

func (s State) String() string {
	if int(s) < len(stateNames) && s != 0 {
		return stateNames[s]
	}
	return "state-" + itoa(int(s))
}

// Result is the outcome of tracking one packet. A node writes Conn into
// Meta.Conn.
type Result struct {
	// Conn is the flow's entry index, 0 if none.
	Conn uint32
	// Dir is the packet's direction in the flow (for StateRelated: the
	// direction of the error, opposite to the quoted packet's).
	Dir    Dir
	State  State
	Reason Reason
	// TCP is the connection's state after this packet (TCP flows only).
	TCP TCPState
}

// Timeouts are the idle times, in seconds, after which a flow expires,
// per protocol and state. Zero fields take the defaults.
type Timeouts struct {
	TCPSynSent, TCPSynRecv, TCPEstablished          uint32
	TCPFinWait, TCPCloseWait, TCPLastAck            uint32
	TCPTimeWait, TCPClose                           uint32
	UDPUnreplied, UDPReplied, ICMP, Other, OtherRep uint32
}

// DefaultTimeouts are Linux's, except for a shorter SYN-sent (30 s rather
// than 120 s) and established (1 day, as OVS, rather than 5 days).
var DefaultTimeouts = Timeouts{
	TCPSynSent: 30, TCPSynRecv: 30, TCPEstablished: 86400,
	TCPFinWait: 120, TCPCloseWait: 60, TCPLastAck: 30,
	TCPTimeWait: 120, TCPClose: 10,
	UDPUnreplied: 30, UDPReplied: 120, ICMP: 30, Other: 30, OtherRep: 600,
}

// Config configures a Table.
type Config struct {
	// Capacity is the largest number of flows (entries), 1 to MaxCapacity.
	Capacity int
	// Timeouts; zero fields take DefaultTimeouts'.
	Timeouts Timeouts
	// TCPLoose lets a TCP segment without SYN start a flow in the
	// established state (picking up connections that existed before the
	// switch started, Linux's nf_conntrack_tcp_loose). Off by default: a
	// new flow must start with a SYN.
	TCPLoose bool
	// BothKeys makes TrackBatch bring both keys of each packet's flow
	// into the cache, not only the one the packet matched: for a caller
	// that reads both per packet (Keys: NAT rewrites a packet to the
	// reverse of the other direction's key). It costs one more cache
	// miss per packet when the flows do not fit in the cache, and saves
	// one that is not overlapped with the rest of the vector's.
	BothKeys bool
	// Seed seeds the hash; 0 draws a random one.
	Seed uint64
}

// MaxCapacity is the largest Config.Capacity: entry indices take 31 bits
// of a slot word.
const MaxCapacity = 1<<31 - 2

// ErrConfig is returned by New for a bad configuration.
var ErrConfig = errors.New("conntrack: bad config")

// A bucket is one cache line of 8 slot words. A slot word is
// tag<<32 | dir<<31 | index: tag is the low 32 bits of the key's hash
// (a lookup compares it before touching the entry), dir the direction the
// key belongs to in the entry, index the entry. 0 is an empty slot.
type bucket struct {
	s [bucketSlots]atomic.Uint64
}

const (
	bucketSlots = 8
	idxMask     = 1<<31 - 1
)

// entry is one flow: two cache lines, the first holding what an
// original-direction hit touches (sequence, state, original key), the
// second the reply key.
//
// seq is a generation count and lock word: bits 2 and up count
// generations; bit 0 set means dead (free, or being deleted); bit 1 set
// means live but still being committed (its committer, not its deleter,
// frees it). A reader believes a key it read only if seq was even before
// and unchanged after.
//
// state packs last-seen time (bits 32-63, seconds), the low 12 bits of
// the generation (20-31: a state update that raced with a delete and
// reuse of the entry fails its compare-and-swap), and the flow state
// (0-15, see st* below).
//
// A flow without address translation whose reply key is the original's
// with addresses and ports swapped (not ICMP: its types change) has
// stPlain set at commit; TrackBatch checks its reply packets against the
// first line's key reversed, so every packet of such a flow reads one
// entry line. key1 is written all the same: every other reader uses it.
type entry struct {
	seq   atomic.Uint32
	mark  atomic.Uint32
	state atomic.Uint64
	key0  [5]atomic.Uint64
	label atomic.Uint64
	key1  [5]atomic.Uint64
	_     [24]byte
}

func init() {
	if unsafe.Sizeof(entry{}) != 128 || unsafe.Sizeof(bucket{}) != 64 {
		panic("conntrack: entry or bucket size changed")
	}
}

// Flow state bits in entry.state.
const (
	stTCPMask   = 0xf    // TCPState
	stReplied   = 1 << 4 // a packet was seen in the reply direction
	stClassShft = 5      // bits 5-6: protocol class (class*)
	stFinReply  = 1 << 7 // the first FIN came from the reply side
	stPlain     = 1 << 8 // reply key is the original reversed, ports swapped (plainReply)
	stLow       = 0xffff // all flow-state bits
	stGenShift  = 20     // generation bits 20-31
	stGenMask   = 0xfff  // 12 bits
	stTimeShift = 32     // last seen
	stTOIndex   = 0x7f   // bits indexing Table.timeouts: TCP state, replied, class
)

// Protocol classes.
const (
	classTCP = iota
	classUDP
	classICMP
	classOther
)

// Table is a connection-tracking table shared by all workers. Lookups and
// state updates take no lock; see the package doc for the protocol.
type Table struct {
	buckets []bucket
	shift   uint // 64 - log2(len(buckets))
	mask    uint64
	entries []entry // [0] unused: index 0 means none
	seed    uint64
	loose   bool
	// bothKeys: TrackBatch brings in both key lines of each entry.
	bothKeys bool
	// timeouts[state & stTOIndex] is the idle timeout.
	timeouts [128]uint32

	free freeList

	// moves counts cuckoo moves (displace). A scan of a key's two
	// buckets that found nothing is sure only if no move ran meanwhile:
	// a slot moving from the second bucket to the first between the two
	// reads is seen in neither (DPDK rte_hash's tbl_chng_cnt). Alone on
	// its cache line: written per move, read per lookup.
	_     [64]byte
	moves atomic.Uint64
	_     [56]byte

	mu      sync.Mutex // guards workers
	workers []*Worker
	ctl     counters // control-plane deletions (atomic adds)
}

// New makes a table for cfg.Capacity flows. Memory: 128 bytes per flow
// plus about 43 bytes of buckets (2 keys per flow at most 75% bucket
// load, rounded to a power of two).
func New(cfg Config) (*Table, error) {
	if cfg.Capacity < 1 || cfg.Capacity > MaxCapacity {
		return nil, fmt.Errorf("%w: capacity %d not in 1-%d", ErrConfig, cfg.Capacity, MaxCapacity)
	}
	nb := max(2, 1<<bits.Len(uint((2*cfg.Capacity+5)/6-1)))
	// The two arrays come from huge pages when large (internal/hugemem:
	// at a million flows, TLB misses cost as much as the cache misses),
	// freed when the table is unreachable.
	buckets, freeB := hugemem.Alloc[bucket](nb)
	entries, freeE := hugemem.Alloc[entry](cfg.Capacity + 1)
	t := &Table{
		buckets:  buckets,
		shift:    uint(64 - bits.TrailingZeros(uint(nb))),
		mask:     uint64(nb - 1),
		entries:  entries,
		seed:     cfg.Seed,
		loose:    cfg.TCPLoose,
		bothKeys: cfg.BothKeys,
	}
	runtime.AddCleanup(t, func(f [2]func()) { f[0](); f[1]() }, [2]func(){freeB, freeE})
	if t.seed == 0 {
		t.seed = rand.Uint64() | 1
	}
	t.free.init(uint32(cfg.Capacity))
	t.setTimeouts(cfg.Timeouts)
	return t, nil
}

func (t *Table) setTimeouts(to Timeouts) {
	d := DefaultTimeouts
	def := func(v, dv uint32) uint32 {
		if v == 0 {
			return dv
		}
		return v
	}
	tcp := [numTCPStates]uint32{
		TCPNone:        def(to.TCPSynSent, d.TCPSynSent),
		TCPSynSent:     def(to.TCPSynSent, d.TCPSynSent),
		TCPSynRecv:     def(to.TCPSynRecv, d.TCPSynRecv),
		TCPEstablished: def(to.TCPEstablished, d.TCPEstablished),
		TCPFinWait:     def(to.TCPFinWait, d.TCPFinWait),
		TCPCloseWait:   def(to.TCPCloseWait, d.TCPCloseWait),
		TCPLastAck:     def(to.TCPLastAck, d.TCPLastAck),
		TCPTimeWait:    def(to.TCPTimeWait, d.TCPTimeWait),
		TCPClose:       def(to.TCPClose, d.TCPClose),
	}
	for i := range t.timeouts {
		replied := i&stReplied != 0
		switch i >> stClassShft & 3 {
		case classTCP:
			if s := i & stTCPMask; s < int(numTCPStates) {
				t.timeouts[i] = tcp[s]
			}
		case classUDP:
			t.timeouts[i] = def(to.UDPUnreplied, d.UDPUnreplied)
			if replied {
				t.timeouts[i] = def(to.UDPReplied, d.UDPReplied)
			}
		case classICMP:
			t.timeouts[i] = def(to.ICMP, d.ICMP)
		case classOther:
			t.timeouts[i] = def(to.Other, d.Other)
			if replied {
				t.timeouts[i] = def(to.OtherRep, d.OtherRep)
			}
		}
		t.timeouts[i] = min(t.timeouts[i], 1<<31-1) // ages compare as int32
	}
}

// Capacity is the largest number of flows.
func (t *Table) Capacity() int { return len(t.entries) - 1 }

// bucketOf is the first bucket of hash h; the second is a hash-chosen,
// never-zero distance away (as the MAC table's).
func (t *Table) bucketOf(h uint64) uint64 { return h >> (t.shift & 63) }

func (t *Table) second(b1, h uint64) uint64 {
	return (b1 + 1 + (h>>7)&(t.mask>>1)) & t.mask
}

func slotWord(h uint64, d Dir, idx uint32) uint64 {
	return h<<32 | uint64(d)<<31 | uint64(idx)
}

func (e *entry) key(d Dir) *[5]atomic.Uint64 {
	if d == Original {
		return &e.key0
	}
	return &e.key1
}

func (e *entry) loadKey(d Dir, k *Key) {
	w := e.key(d)
	k.Src.Hi, k.Src.Lo = w[0].Load(), w[1].Load()
	k.Dst.Hi, k.Dst.Lo = w[2].Load(), w[3].Load()
	k.setWord4(w[4].Load())
}

func (e *entry) storeKey(d Dir, k *Key) {
	w := e.key(d)
	w[0].Store(k.Src.Hi)
	w[1].Store(k.Src.Lo)
	w[2].Store(k.Dst.Hi)
	w[3].Store(k.Dst.Lo)
	w[4].Store(k.word4())
}

// keyIs reports whether e holds key k (fifth word w4) in direction d. It
// compares all five words without branching: they are one or two cache
// lines, and a lookup compares only entries whose tag matched.
func (e *entry) keyIs(d Dir, k *Key, w4 uint64) bool {
	w := e.key(d)
	return (w[4].Load()^w4)|(w[1].Load()^k.Src.Lo)|(w[3].Load()^k.Dst.Lo)|
		(w[0].Load()^k.Src.Hi)|(w[2].Load()^k.Dst.Hi) == 0
}

// lookup finds key k (hash h): the entry, the direction k has in it and
// the entry's sequence word when read. A miss is sure: it is retried if a
// cuckoo move ran during the scan (Table.moves).
func (t *Table) lookup(k *Key, h uint64) (idx uint32, d Dir, seq uint32, ok bool) {
	w4 := k.word4()
	b1 := t.bucketOf(h)
	b2 := t.second(b1, h)
	for {
		m := t.moves.Load()
		if idx, d, seq, ok = t.lookupIn(&t.buckets[b1], k, h, w4); ok {
			return
		}
		if idx, d, seq, ok = t.lookupIn(&t.buckets[b2], k, h, w4); ok || t.moves.Load() == m {
			return
		}
	}
}

// find returns the last slot word of b whose tag is tag, 0 if none,
// branching on no tag (see findFirst). trackBatch's pass over the second
// buckets of the few keys findFirst found nothing for uses it.
func (b *bucket) find(tag uint32) uint64 {
	tw, m := b.tags(), uint32(0)
	for i := bucketSlots - 1; i >= 0; i-- {
		m = m*2 + b2u(tw[tagHalf+2*i].Load() == tag)
	}
	return b.slotOf(m)
}

// slotOf returns the word of the highest slot whose bit is set in m
// (bit i: slot i), 0 if m is 0, without a branch: bits.Len32(m)-1 is -1
// for 0, masked to slot 7, whose word is then cleared ((m+0xff)>>8 is 1
// if any of the 8 bits is set).
func (b *bucket) slotOf(m uint32) uint64 {
	return b.s[(bits.Len32(m)-1)&(bucketSlots-1)].Load() & -uint64((m+0xff)>>8)
}

// findFirst sets cand[i] to the candidate slot word of hash hs[i] in its
// first bucket (bucket.find's answer for the hash's tag), and returns
// how many found none. It reads every slot's tag as a 32-bit word in
// place (bucket.tagWords: plain loads, atomic ones under -race),
// unrolled, and branches on none of them: a bit per slot whose tag
// matches (b2u: the compare's flag, SETcc; m*2+bit: one LEA), then
// slotOf. Written with an if per slot, the compiler emitted a
// conditional jump per slot, and in a table with a few keys per bucket
// the matching slot is random, so about one jump per lookup was
// mispredicted: tracking cost 36 ns/pkt at 1k flows with them, 29
// without (BenchmarkEstablished, flows=1000/batch). One call per vector:
// the unrolled search is too large to inline into a loop.
func findFirst(buckets []bucket, shift uint, hs, cand []uint64) (none int) {
	cand = cand[:len(hs)]
	for i, h := range hs {
		b := &buckets[h>>(shift&63)]
		tw, tag := b.tagWords(), uint32(h)
		m := b2u(tagAt(tw, tagHalf+14) == tag)
		m = m*2 + b2u(tagAt(tw, tagHalf+12) == tag)
		m = m*2 + b2u(tagAt(tw, tagHalf+10) == tag)
		m = m*2 + b2u(tagAt(tw, tagHalf+8) == tag)
		m = m*2 + b2u(tagAt(tw, tagHalf+6) == tag)
		m = m*2 + b2u(tagAt(tw, tagHalf+4) == tag)
		m = m*2 + b2u(tagAt(tw, tagHalf+2) == tag)
		m = m*2 + b2u(tagAt(tw, tagHalf) == tag)
		c := b.slotOf(m)
		cand[i] = c
		none += int(zero64(c))
	}
	return none
}

// b2u is 1 for true, 0 for false; the compiler makes it the flag a
// compare sets (SETcc), no branch.
func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// zero64 is 1 if x is 0, else 0, computed without a branch.
func zero64(x uint64) uint64 { return ((x - 1) &^ x) >> 63 }

func (t *Table) lookupIn(b *bucket, k *Key, h uint64, w4 uint64) (uint32, Dir, uint32, bool) {
	tag := uint32(h)
	for i := range bucketSlots {
		w := b.s[i].Load()
		if uint32(w>>32) != tag || w == 0 {
			continue
		}
		idx, d := uint32(w)&idxMask, Dir(w>>31&1)
		e := &t.entries[idx]
		for {
			s := e.seq.Load()
			if s&1 != 0 || !e.keyIs(d, k, w4) {
				break
			}
			if e.seq.Load() == s {
				return idx, d, s, true
			}
			// Its sequence changed while we read its key (a commit
			// finished, or it died): look again.
		}
	}
	return 0, 0, 0, false
}

// insertSlot puts word w into an empty slot of hash h's buckets, the
// first bucket first. It fails if both are full.
func (t *Table) insertSlot(h, w uint64) bool {
	b1 := t.bucketOf(h)
	for _, bi := range [2]uint64{b1, t.second(b1, h)} {
		b := &t.buckets[bi]
		for i := range bucketSlots {
			if b.s[i].Load() == 0 && b.s[i].CompareAndSwap(0, w) {
				return true
			}
		}
	}
	return false
}

// displace makes room in hash h's buckets by moving one of their slots
// to the other bucket of its key (one cuckoo step, no chain). The copy
// is placed before the original is cleared, so a lookup finds the key in
// one place or the other; only a scan that reads the destination just
// before the copy lands and the source just after it leaves misses it,
// and moves, counted between the two, tells that scan to look again
// (lookup, checkClash). If the entry is deleted meanwhile (its original
// slot cleared under us), the copy is taken back.
func (t *Table) displace(h uint64) bool {
	b1 := t.bucketOf(h)
	for _, bi := range [2]uint64{b1, t.second(b1, h)} {
		b := &t.buckets[bi]
		for i := range bucketSlots {
			sw := b.s[i].Load()
			if sw == 0 {
				return true // room appeared
			}
			idx, d := uint32(sw)&idxMask, Dir(sw>>31&1)
			e := &t.entries[idx]
			s := e.seq.Load()
			if s&1 != 0 {
				continue
			}
			var k Key
			e.loadKey(d, &k)
			kh := k.hash(t.seed)
			if e.seq.Load() != s || slotWord(kh, d, idx) != sw {
				continue
			}
			alt := t.bucketOf(kh)
			if alt == bi {
				alt = t.second(alt, kh)
			}
			ab := &t.buckets[alt]
			for j := range bucketSlots {
				if ab.s[j].Load() == 0 && ab.s[j].CompareAndSwap(0, sw) {
					t.moves.Add(1)
					if b.s[i].CompareAndSwap(sw, 0) {
						return true
					}
					ab.s[j].CompareAndSwap(sw, 0)
					break
				}
			}
		}
	}
	return false
}

// unlinkSlot clears the slot holding w in hash h's buckets, if any.
func (t *Table) unlinkSlot(h, w uint64) {
	b1 := t.bucketOf(h)
	for _, bi := range [2]uint64{b1, t.second(b1, h)} {
		b := &t.buckets[bi]
		for i := range bucketSlots {
			if b.s[i].Load() == w && b.s[i].CompareAndSwap(w, 0) {
				return
			}
		}
	}
}

// kill marks entry idx of sequence seq dead. It returns whether this
// call killed it and whether the caller must free it. A committed entry
// is the killer's: kill unlinks its slots and the caller frees it. An
// entry still being committed stays its committer's, which unlinks and
// frees it when it sees it dead; kill must not touch its slots then, for
// by the time it read the entry's keys the committer could have freed
// it and another commit reused it, and the slots it removed would be
// that new flow's (a committed flow invisible to lookups and clash
// checks: two NAT flows given one port).
func (t *Table) kill(idx, seq uint32) (killed, mustFree bool) {
	e := &t.entries[idx]
	if seq&1 != 0 || !e.seq.CompareAndSwap(seq, seq|1) {
		return false, false
	}
	if seq&2 != 0 {
		return true, false
	}
	t.unlinkEntry(idx)
	return true, true
}

// unlinkEntry removes both keys of entry idx from the buckets. The caller
// owns the entry (it is dead and nobody else frees it).
func (t *Table) unlinkEntry(idx uint32) {
	e := &t.entries[idx]
	var k Key
	for d := Original; d <= Reply; d++ {
		e.loadKey(d, &k)
		h := k.hash(t.seed)
		t.unlinkSlot(h, slotWord(h, d, idx))
	}
}

// expired reports whether state word st has been idle longer than its
// timeout at now. Times compare as serial numbers: workers' clocks may
// differ by a little, and a last-seen time ahead of now is not old.
func (t *Table) expired(st uint64, now uint32) bool {
	return age(st, now) > int32(t.timeouts[st&stTOIndex])
}

// age is how long before now the flow of state word st was last seen.
func age(st uint64, now uint32) int32 { return int32(now - uint32(st>>stTimeShift)) }

func packState(now uint32, gen uint32, flow uint64) uint64 {
	return uint64(now)<<stTimeShift | uint64(gen&stGenMask)<<stGenShift | flow&stLow
}

package fastpath

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// Maps are the fast path's tables, shared by the programs of all the ports
// of one switch: the fdb, the port configuration, the trunk VLANs, the
// DEVMAP of egress ports and the hit counters. The methods are the control
// plane's; they are safe for concurrent use (one mutex: control
// operations are serialized, a few of them wait out an RCU grace period
// while holding it).
//
// Lock order: Maps.mu is a leaf; nothing else is locked while it is held.
type Maps struct {
	cfg MapsConfig

	// The kernel objects; immutable after NewMaps, closed by Close.
	fdb, ports, vlans, devmap  *ebpf.Map
	portMax                    *ebpf.Map // by port slot: MaxFrame
	allow4, allow6             *ebpf.Map // secured ports' sources
	entryCtr, portCtr, missCtr *ebpf.Map
	barrier, barrierInner      *ebpf.Map

	mu sync.Mutex
	// Guarded by mu: the Go shadow of the maps, which the flushes walk.
	closed  bool
	entries map[fdbKey]entryState
	portsBy map[int]*portState
	vlanN   int    // elements in vlans
	srcN    [2]int // elements in allow4, allow6
	// orphans: source prefixes DelPort failed to remove, by ifindex.
	orphans  map[int][]netip.Prefix
	eslots   *slots // entry counter slots
	pslots   *slots // port counter slots
	dirty    bool   // a hash element was freed since the last grace period
	syncs    uint64 // grace periods waited
	zeroEnt  []entryCounters
	zeroPort []portCounters
	zeroMiss []uint64
}

type entryState struct {
	slot uint32
	e    Entry
}

type portState struct {
	slot     uint32
	cfg      PortConfig            // VLANs: a private copy, what the vlans map holds
	val      portValue             // what the ports map holds, if inPorts
	maxFrame uint32                // what the port limit array holds at slot
	srcs     map[netip.Prefix]bool // what allow4 and allow6 hold for it
	inPorts  bool
	inDevmap bool
}

// NewMaps creates the maps. Close frees them; programs attached with them
// keep them alive in the kernel until the programs are closed too.
func NewMaps(cfg MapsConfig) (*Maps, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("fastpath: %w", err)
	}
	m := &Maps{cfg: cfg,
		entries: map[fdbKey]entryState{}, portsBy: map[int]*portState{}, orphans: map[int][]netip.Prefix{},
		eslots: newSlots(cfg.MaxEntries), pslots: newSlots(cfg.MaxPorts),
		zeroEnt: make([]entryCounters, ncpu), zeroPort: make([]portCounters, ncpu), zeroMiss: make([]uint64, ncpu)}
	specs := []struct {
		dst  **ebpf.Map
		spec *ebpf.MapSpec
	}{
		{&m.fdb, &ebpf.MapSpec{Name: "vs_fdb", Type: ebpf.Hash, KeySize: 8, ValueSize: 16, MaxEntries: uint32(cfg.MaxEntries)}},
		{&m.ports, &ebpf.MapSpec{Name: "vs_ports", Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: uint32(cfg.MaxPorts)}},
		{&m.vlans, &ebpf.MapSpec{Name: "vs_vlans", Type: ebpf.Hash, KeySize: 8, ValueSize: 4, MaxEntries: uint32(cfg.MaxVLANs)}},
		{&m.devmap, &ebpf.MapSpec{Name: "vs_devmap", Type: ebpf.DevMapHash, KeySize: 4, ValueSize: 4, MaxEntries: uint32(cfg.MaxPorts)}},
		{&m.portMax, &ebpf.MapSpec{Name: "vs_port_max", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: uint32(cfg.MaxPorts)}},
		{&m.allow4, &ebpf.MapSpec{Name: "vs_allow4", Type: ebpf.LPMTrie, KeySize: 12, ValueSize: 4, MaxEntries: uint32(cfg.MaxSources),
			Flags: unix.BPF_F_NO_PREALLOC}},
		{&m.allow6, &ebpf.MapSpec{Name: "vs_allow6", Type: ebpf.LPMTrie, KeySize: 24, ValueSize: 4, MaxEntries: uint32(cfg.MaxSources),
			Flags: unix.BPF_F_NO_PREALLOC}},
		{&m.entryCtr, &ebpf.MapSpec{Name: "vs_entry_ctr", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 16, MaxEntries: uint32(cfg.MaxEntries)}},
		{&m.portCtr, &ebpf.MapSpec{Name: "vs_port_ctr", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: portCtrSize, MaxEntries: uint32(cfg.MaxPorts)}},
		{&m.missCtr, &ebpf.MapSpec{Name: "vs_miss_ctr", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: uint32(cfg.MaxPorts * missRow)}},
		{&m.barrierInner, &ebpf.MapSpec{Name: "vs_barrier_in", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1}},
		{&m.barrier, &ebpf.MapSpec{Name: "vs_barrier", Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: 1,
			InnerMap: &ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1}}},
	}
	for _, s := range specs {
		if *s.dst, err = ebpf.NewMap(s.spec); err != nil {
			m.closeMaps()
			return nil, fmt.Errorf("fastpath: create map %s: %w", s.spec.Name, notSupported(err))
		}
	}
	return m, nil
}

// notSupported marks kernel refusals that mean "this kernel cannot".
func notSupported(err error) error {
	if errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	return err
}

func (m *Maps) closeMaps() error {
	var errs []error
	for _, mp := range []*ebpf.Map{m.fdb, m.ports, m.vlans, m.devmap, m.portMax, m.allow4, m.allow6, m.entryCtr, m.portCtr, m.missCtr,
		m.barrier, m.barrierInner} {
		if mp != nil {
			errs = append(errs, mp.Close())
		}
	}
	return errors.Join(errs...)
}

// Close frees the maps. Close the programs first: until then the kernel
// keeps the maps, and the programs keep using what they hold.
func (m *Maps) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	return m.closeMaps()
}

// Config returns the configuration with defaults filled in.
func (m *Maps) Config() MapsConfig { return m.cfg }

// Sync waits until every frame that the programs were handling when Sync
// was called is done, including its redirect: one RCU grace period
// (programs run under rcu_read_lock in softirq context, and the DEVMAP is
// flushed before they leave it). After Sync, no frame is still switched
// with state removed before the call. It takes milliseconds.
func (m *Maps) Sync() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return m.syncLocked()
}

// syncLocked waits for a grace period. The kernel has no "synchronize_rcu"
// call for userspace, but updating an element of a map-in-map waits for
// one before returning (kernel/bpf/syscall.c, maybe_wait_bpf_programs:
// "userspace, when we return to it, knows that all programs that could be
// running use the new map value"): the barrier map exists for that.
func (m *Maps) syncLocked() error {
	if err := m.barrier.Put(uint32(0), m.barrierInner); err != nil {
		return fmt.Errorf("fastpath: sync: %w", err)
	}
	m.syncs++
	m.dirty = false
	m.eslots.quiesced()
	m.pslots.quiesced()
	return nil
}

// beforeAlloc keeps the rule that no hash element is recycled within a
// grace period of its removal. Hash maps reuse freed elements at once (the
// preallocated ones from per-CPU free lists, the others from bpf_mem_alloc
// caches), and a program that looked the old element up could still be
// reading it: it would see another key's value, a frame of one domain
// redirected into another. So between any operation that frees an element
// (delete, or update of an existing key, which replaces it) and any later
// one that takes one (insert or update), there is a grace period.
func (m *Maps) beforeAlloc() error {
	if m.dirty {
		return m.syncLocked()
	}
	return nil
}

// allocSlot takes a slot, waiting out a grace period when only quarantined
// ones are left.
func (m *Maps) allocSlot(s *slots, what string, max int) (uint32, error) {
	if s.starved() {
		if err := m.syncLocked(); err != nil {
			return 0, err
		}
	}
	x, ok := s.alloc()
	if !ok {
		return 0, fmt.Errorf("%w: %d %s", ErrFull, max, what)
	}
	return x, nil
}

// SetPort adds the port at ifindex to the fast path or changes its
// configuration: frames received on it are looked up, and it becomes an
// egress for other ports' hits (a DEVMAP entry) unless cfg.SlowPath is
// set. The port's counters start at zero when it is added. cfg.MaxFrame
// applies to frames redirected to the port from the time SetPort returns.
//
// A change of the VLANs or domains of a port does not touch the fdb: the
// switch flushes the port's entries in the domains the port left (Flush).
func (m *Maps) SetPort(ifindex int, cfg PortConfig) error {
	if ifindex <= 0 || ifindex > 1<<31-1 {
		return fmt.Errorf("%w: ifindex %d", ErrBadConfig, ifindex)
	}
	if err := checkMaxFrame(cfg.MaxFrame); err != nil {
		return fmt.Errorf("fastpath: port %d: %w", ifindex, err)
	}
	for vid := range cfg.VLANs {
		if vid == 0 || checkVID(vid) != nil {
			return fmt.Errorf("%w: port %d: VID %d", ErrBadConfig, ifindex, vid)
		}
	}
	wantSrcs := map[netip.Prefix]bool{}
	if cfg.Secured {
		for _, pf := range cfg.Sources {
			if err := checkSource(pf); err != nil {
				return fmt.Errorf("fastpath: port %d: %w", ifindex, err)
			}
			wantSrcs[pf] = true
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	ps := m.portsBy[ifindex]
	var cur map[uint16]Domain // the VLANs in the kernel map
	if ps != nil {
		cur = ps.cfg.VLANs
	}
	n := m.vlanN
	for vid := range cur {
		if _, ok := cfg.VLANs[vid]; !ok {
			n--
		}
	}
	for vid := range cfg.VLANs {
		if _, ok := cur[vid]; !ok {
			n++
		}
	}
	if n > m.cfg.MaxVLANs {
		return fmt.Errorf("fastpath: port %d: %w: %d port VLANs", ifindex, ErrFull, m.cfg.MaxVLANs)
	}
	var curSrcs map[netip.Prefix]bool
	if ps != nil {
		curSrcs = ps.srcs
	}
	srcN := m.srcN
	for pf := range curSrcs {
		if !wantSrcs[pf] {
			srcN[family(pf)]--
		}
	}
	for pf := range wantSrcs {
		if !curSrcs[pf] {
			srcN[family(pf)]++
		}
	}
	if max(srcN[0], srcN[1]) > m.cfg.MaxSources {
		return fmt.Errorf("fastpath: port %d: %w: %d source prefixes", ifindex, ErrFull, m.cfg.MaxSources)
	}
	if ps == nil {
		for len(m.orphans[ifindex]) > 0 {
			o := m.orphans[ifindex]
			if err := m.delSource(ifindex, o[0]); err != nil {
				return err
			}
			m.orphans[ifindex] = o[1:]
		}
		delete(m.orphans, ifindex)
		slot, err := m.allocSlot(m.pslots, "ports", m.cfg.MaxPorts)
		if err != nil {
			return fmt.Errorf("fastpath: port %d: %w", ifindex, err)
		}
		if err := m.resetPortCounters(slot); err != nil {
			m.pslots.release(slot)
			return fmt.Errorf("fastpath: port %d: reset counters: %w", ifindex, err)
		}
		// The slot's limit before the port can be an egress: its last
		// owner's may be there.
		if err := m.portMax.Put(slot, uint32(cfg.MaxFrame)); err != nil {
			m.pslots.release(slot)
			return fmt.Errorf("fastpath: port %d: max frame: %w", ifindex, err)
		}
		ps = &portState{slot: slot, maxFrame: uint32(cfg.MaxFrame)}
		m.portsBy[ifindex] = ps
	}
	if ps.maxFrame != uint32(cfg.MaxFrame) {
		if err := m.portMax.Put(ps.slot, uint32(cfg.MaxFrame)); err != nil {
			return fmt.Errorf("fastpath: port %d: max frame: %w", ifindex, err)
		}
		ps.maxFrame = uint32(cfg.MaxFrame)
	}
	// From here on the shadow follows every kernel update that succeeds,
	// so that an error leaves the two in step (and DelPort cleans up).
	if err := m.setSources(ifindex, ps, wantSrcs); err != nil {
		return err
	}
	cur = maps.Clone(cur)
	if cur == nil {
		cur = map[uint16]Domain{}
	}
	defer func() { ps.cfg.VLANs = cur }() // after ps.cfg = cfg below too
	key := uint32(ifindex)
	// VIDs the port leaves: their tagged frames go to the slow path.
	for vid := range cur {
		if _, ok := cfg.VLANs[vid]; ok {
			continue
		}
		if err := m.vlans.Delete(vlanKey{Ifindex: key, VID: vid}); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("fastpath: port %d: remove VLAN %d: %w", ifindex, vid, err)
		}
		delete(cur, vid)
		m.vlanN--
		m.dirty = true
	}
	// VIDs it joins or that change domain.
	for vid, d := range cfg.VLANs {
		old, existed := cur[vid]
		if existed && old == d {
			continue
		}
		if err := m.beforeAlloc(); err != nil {
			return err
		}
		if err := m.vlans.Put(vlanKey{Ifindex: key, VID: vid}, vlanValue{Domain: d}); err != nil {
			return fmt.Errorf("fastpath: port %d: VLAN %d: %w", ifindex, vid, err)
		}
		if existed {
			m.dirty = true
		} else {
			m.vlanN++
		}
		cur[vid] = d
	}
	val := portValue{Domain: cfg.Domain, Slot: ps.slot}
	if !cfg.TaggedOnly {
		val.Flags |= portFlagUntagged
	}
	if cfg.SlowPath {
		val.Flags |= portFlagSlowPath
	}
	if cfg.Secured {
		val.Flags |= portFlagSecured
	}
	if !ps.inPorts || ps.val != val {
		if err := m.beforeAlloc(); err != nil {
			return err
		}
		if err := m.ports.Put(key, val); err != nil {
			return fmt.Errorf("fastpath: port %d: %w", ifindex, err)
		}
		if ps.inPorts {
			m.dirty = true
		}
		ps.inPorts, ps.val = true, val
	}
	// DEVMAP entries are freed after a grace period by the kernel itself:
	// the recycling rule does not apply to them.
	if cfg.SlowPath && ps.inDevmap {
		if err := m.devmap.Delete(key); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("fastpath: port %d: remove from DEVMAP: %w", ifindex, err)
		}
		ps.inDevmap = false
	} else if !cfg.SlowPath && !ps.inDevmap {
		if err := m.devmap.Put(key, key); err != nil {
			return fmt.Errorf("fastpath: port %d: add to DEVMAP: %w", ifindex, err)
		}
		ps.inDevmap = true
	}
	ps.cfg = cfg
	ps.cfg.Sources = slices.Clone(cfg.Sources)
	return nil
}

// family is the allow map of a source prefix: 0 allow4, 1 allow6.
func family(pf netip.Prefix) int {
	if pf.Addr().Is4() {
		return 0
	}
	return 1
}

// delSource and putSource remove and add one of a port's source prefixes.
func (m *Maps) delSource(ifindex int, pf netip.Prefix) error {
	var err error
	if family(pf) == 0 {
		err = m.allow4.Delete(allow4Key{Prefixlen: 32 + uint32(pf.Bits()), Ifindex: uint32(ifindex), Addr: pf.Addr().As4()})
	} else {
		err = m.allow6.Delete(allow6Key{Prefixlen: 32 + uint32(pf.Bits()), Ifindex: uint32(ifindex), Addr: pf.Addr().As16()})
	}
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("fastpath: port %d: remove source %s: %w", ifindex, pf, err)
	}
	m.srcN[family(pf)]--
	m.dirty = true
	return nil
}

func (m *Maps) putSource(ifindex int, pf netip.Prefix) error {
	if err := m.beforeAlloc(); err != nil {
		return err
	}
	var err error
	if family(pf) == 0 {
		err = m.allow4.Put(allow4Key{Prefixlen: 32 + uint32(pf.Bits()), Ifindex: uint32(ifindex), Addr: pf.Addr().As4()}, uint32(0))
	} else {
		err = m.allow6.Put(allow6Key{Prefixlen: 32 + uint32(pf.Bits()), Ifindex: uint32(ifindex), Addr: pf.Addr().As16()}, uint32(0))
	}
	if err != nil {
		return fmt.Errorf("fastpath: port %d: source %s: %w", ifindex, pf, err)
	}
	m.srcN[family(pf)]++
	return nil
}

// setSources makes the port's source prefixes in the allow maps want.
// Removals come first and are waited out (a grace period) before
// anything is added and before SetPort goes on: when SetPort returns, no
// frame is being switched from a source the port lost — the switch may
// have just narrowed what it may send. Additions come before the port's
// flags change (SetPort's order), so a port that becomes Secured finds
// its sources in place.
func (m *Maps) setSources(ifindex int, ps *portState, want map[netip.Prefix]bool) error {
	removed := false
	for pf := range ps.srcs {
		if want[pf] {
			continue
		}
		if err := m.delSource(ifindex, pf); err != nil {
			return err
		}
		delete(ps.srcs, pf)
		removed = true
	}
	if removed {
		if err := m.syncLocked(); err != nil {
			return err
		}
	}
	for pf := range want {
		if ps.srcs[pf] {
			continue
		}
		if err := m.putSource(ifindex, pf); err != nil {
			return err
		}
		if ps.srcs == nil {
			ps.srcs = map[netip.Prefix]bool{}
		}
		ps.srcs[pf] = true
	}
	return nil
}

// GracePeriods returns how many RCU grace periods the Maps waited for so
// far (Sync, DelPort, flushes, and the recycling rule of the maps).
func (m *Maps) GracePeriods() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.syncs
}

// Port returns the configuration of the port at ifindex.
func (m *Maps) Port(ifindex int) (PortConfig, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.portsBy[ifindex]
	if ps == nil {
		return PortConfig{}, false
	}
	cfg := ps.cfg
	cfg.VLANs = maps.Clone(cfg.VLANs)
	cfg.Sources = slices.Clone(cfg.Sources)
	return cfg, true
}

// DelPort takes the port at ifindex out of the fast path: its frames go to
// its AF_XDP sockets unlooked-up and uncounted, no frame is redirected to
// it, and its fdb entries are deleted. When DelPort returns, no frame is
// being redirected to the port either (it waits a grace period, see Sync),
// so the port can be closed. Unknown ports are not an error.
func (m *Maps) DelPort(ifindex int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	ps := m.portsBy[ifindex]
	if ps == nil {
		return nil
	}
	key := uint32(ifindex)
	var errs []error
	// Ingress first, then egress: a frame looked up from here on either
	// finds no entry or finds no DEVMAP entry, and goes to the slow path.
	if err := m.ports.Delete(key); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		errs = append(errs, fmt.Errorf("fastpath: port %d: %w", ifindex, err))
	}
	if err := m.devmap.Delete(key); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		errs = append(errs, fmt.Errorf("fastpath: port %d: remove from DEVMAP: %w", ifindex, err))
	}
	for vid := range ps.cfg.VLANs {
		if err := m.vlans.Delete(vlanKey{Ifindex: key, VID: vid}); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("fastpath: port %d: remove VLAN %d: %w", ifindex, vid, err))
		}
		m.vlanN--
	}
	for pf := range ps.srcs {
		if err := m.delSource(ifindex, pf); err != nil {
			errs = append(errs, err)
			// Still in the kernel: removed before the ifindex is
			// given to SetPort again.
			m.orphans[ifindex] = append(m.orphans[ifindex], pf)
		}
	}
	m.dirty = true
	if _, err := m.flushLocked(func(_ Domain, _ MAC, e Entry) bool { return e.Ifindex == ifindex }); err != nil {
		errs = append(errs, err)
	}
	delete(m.portsBy, ifindex)
	m.pslots.release(ps.slot)
	if err := m.syncLocked(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// SetEntry makes frames to mac in domain, from any other fast-path port of
// that domain, leave through e.Ifindex tagged as e.VID says; and it lets
// frames from mac received on e.Ifindex in that domain through the
// source check. Setting an existing key moves the entry (a MAC move): the
// slot and its counters stay. Frames looked up after SetEntry returns use
// the new entry.
func (m *Maps) SetEntry(domain Domain, mac MAC, e Entry) (Slot, error) {
	if err := checkMAC(mac); err != nil {
		return 0, err
	}
	if err := checkVID(e.VID); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	ps := m.portsBy[e.Ifindex]
	if ps == nil {
		return 0, fmt.Errorf("fastpath: entry %d %s: egress %w %d", domain, macString(mac), ErrUnknownPort, e.Ifindex)
	}
	key := fdbKey{MAC: mac, Domain: domain}
	old, existed := m.entries[key]
	if existed && old.e == e {
		return Slot(old.slot), nil
	}
	slot := old.slot
	if !existed {
		var err error
		if slot, err = m.allocSlot(m.eslots, "fdb entries", m.cfg.MaxEntries); err != nil {
			return 0, fmt.Errorf("fastpath: entry %d %s: %w", domain, macString(mac), err)
		}
		if err := m.entryCtr.Put(slot, m.zeroEnt); err != nil {
			m.eslots.release(slot)
			return 0, fmt.Errorf("fastpath: entry %d %s: reset counters: %w", domain, macString(mac), err)
		}
	}
	if err := m.beforeAlloc(); err != nil {
		if !existed {
			m.eslots.release(slot)
		}
		return 0, err
	}
	val := fdbValue{Ifindex: uint32(e.Ifindex), Slot: slot, VID: e.VID, Port: uint16(ps.slot)}
	if err := m.fdb.Put(key, val); err != nil {
		if !existed {
			m.eslots.release(slot)
		}
		return 0, fmt.Errorf("fastpath: entry %d %s: %w", domain, macString(mac), err)
	}
	if existed {
		m.dirty = true
	}
	m.entries[key] = entryState{slot: slot, e: e}
	return Slot(slot), nil
}

// Entry returns the entry of mac in domain and its slot.
func (m *Maps) Entry(domain Domain, mac MAC) (Entry, Slot, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.entries[fdbKey{MAC: mac, Domain: domain}]
	return st.e, Slot(st.slot), ok
}

// Len returns the number of fdb entries.
func (m *Maps) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// DelEntry deletes the entry of mac in domain: frames looked up after it
// returns miss it (unknown destination, unknown source) and go to the
// slow path. A frame looked up just before may still be redirected by it
// while DelEntry returns; Sync waits those out. Deleting a missing entry
// is not an error.
func (m *Maps) DelEntry(domain Domain, mac MAC) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return m.delEntryLocked(fdbKey{MAC: mac, Domain: domain})
}

func (m *Maps) delEntryLocked(key fdbKey) error {
	st, ok := m.entries[key]
	if !ok {
		return nil
	}
	if err := m.fdb.Delete(key); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("fastpath: delete entry %d %s: %w", key.Domain, macString(key.MAC), err)
	}
	m.dirty = true
	delete(m.entries, key)
	m.eslots.release(st.slot)
	return nil
}

// Flush deletes every entry for which match returns true, then waits a
// grace period (Sync): when it returns, no frame is switched by a flushed
// entry. It returns the number of entries deleted.
func (m *Maps) Flush(match func(domain Domain, mac MAC, e Entry) bool) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	n, err := m.flushLocked(match)
	if n > 0 {
		if serr := m.syncLocked(); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	return n, err
}

// FlushDomain flushes the entries of one domain (a bridge VLAN removed, or
// the bridge's fdb flushed).
func (m *Maps) FlushDomain(domain Domain) (int, error) {
	return m.Flush(func(d Domain, _ MAC, _ Entry) bool { return d == domain })
}

// FlushPort flushes the entries on the port at ifindex (link down, port
// moved to another bridge).
func (m *Maps) FlushPort(ifindex int) (int, error) {
	return m.Flush(func(_ Domain, _ MAC, e Entry) bool { return e.Ifindex == ifindex })
}

// FlushAll flushes every entry.
func (m *Maps) FlushAll() (int, error) {
	return m.Flush(func(Domain, MAC, Entry) bool { return true })
}

func (m *Maps) flushLocked(match func(Domain, MAC, Entry) bool) (int, error) {
	var errs []error
	n := 0
	for key, st := range m.entries {
		if !match(key.Domain, key.MAC, st.e) {
			continue
		}
		if err := m.delEntryLocked(key); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// EntryHits returns the hit counters of an entry's slot, summed over CPUs.
// The ager compares Src with its last reading to tell whether a MAC that
// only talks through the fast path is still active.
func (m *Maps) EntryHits(slot Slot) (EntryHits, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return EntryHits{}, ErrClosed
	}
	var per []entryCounters
	if err := m.entryCtr.Lookup(uint32(slot), &per); err != nil {
		return EntryHits{}, fmt.Errorf("fastpath: hits of slot %d: %w", slot, err)
	}
	var h EntryHits
	for _, c := range per {
		h.Src += c.Src
		h.Dst += c.Dst
	}
	return h, nil
}

// PortCounters returns the fast-path counters of the port at ifindex,
// summed over CPUs.
func (m *Maps) PortCounters(ifindex int) (PortCounters, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return PortCounters{}, ErrClosed
	}
	ps := m.portsBy[ifindex]
	if ps == nil {
		return PortCounters{}, fmt.Errorf("fastpath: counters of %w %d", ErrUnknownPort, ifindex)
	}
	var per []portCounters
	if err := m.portCtr.Lookup(ps.slot, &per); err != nil {
		return PortCounters{}, fmt.Errorf("fastpath: counters of port %d: %w", ifindex, err)
	}
	var sum PortCounters
	for _, c := range per {
		sum.RxPackets += c.RxPackets
		sum.RxBytes += c.RxBytes
		sum.TxPackets += c.TxPackets
		sum.TxBytes += c.TxBytes
	}
	var row [missRow]uint64
	var words []uint64
	for col := range row {
		if err := m.missCtr.Lookup(ps.slot*missRow+uint32(col), &words); err != nil {
			return PortCounters{}, fmt.Errorf("fastpath: counters of port %d: %w", ifindex, err)
		}
		for _, w := range words {
			row[col] += w
		}
	}
	copy(sum.Miss[:], row[:NumMissReasons])
	sum.SlowPass, sum.Errors = row[missColSlowPass], row[missColErrors]
	return sum, nil
}

// resetPortCounters zeroes the counters of a port slot on every CPU.
func (m *Maps) resetPortCounters(slot uint32) error {
	if err := m.portCtr.Put(slot, m.zeroPort); err != nil {
		return err
	}
	for col := range uint32(missRow) {
		if err := m.missCtr.Put(slot*missRow+col, m.zeroMiss); err != nil {
			return err
		}
	}
	return nil
}

func macString(mac MAC) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
}

package vswitch

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
)

// recFastPath records what the switch programs, as the kernel maps would
// hold it. (The real one, ports/afxdp.FastPath, is exercised with live
// namespaces in fastpath_kernel_linux_test.go; this one makes the mirror's
// decisions — VLANs, tags, statics, aging — checkable without root.)
type recFastPath struct {
	ports   map[int]ports.FastPathPort
	entries map[[8]byte]recEntry // {mac, domain}
	srcHits map[uint32]uint64
	next    uint32
}

type recEntry struct {
	ifindex int
	vid     uint16
	slot    uint32
}

func newRecFastPath() *recFastPath {
	return &recFastPath{ports: map[int]ports.FastPathPort{}, entries: map[[8]byte]recEntry{}, srcHits: map[uint32]uint64{}}
}

func recKey(domain uint16, mac [6]byte) [8]byte {
	var k [8]byte
	copy(k[:], mac[:])
	k[6], k[7] = byte(domain>>8), byte(domain)
	return k
}

func (f *recFastPath) SetPort(ifindex int, c ports.FastPathPort) error {
	f.ports[ifindex] = c
	return nil
}

func (f *recFastPath) DelPort(ifindex int) error {
	delete(f.ports, ifindex)
	return f.FlushPort(ifindex)
}

func (f *recFastPath) SetEntry(domain uint16, mac [6]byte, ifindex int, vid uint16) (uint32, error) {
	k := recKey(domain, mac)
	e, ok := f.entries[k]
	if !ok {
		f.next++
		e.slot = f.next
	}
	e.ifindex, e.vid = ifindex, vid
	f.entries[k] = e
	return e.slot, nil
}

func (f *recFastPath) DelEntry(domain uint16, mac [6]byte) error {
	delete(f.entries, recKey(domain, mac))
	return nil
}

func (f *recFastPath) FlushPort(ifindex int) error {
	for k, e := range f.entries {
		if e.ifindex == ifindex {
			delete(f.entries, k)
		}
	}
	return nil
}

func (f *recFastPath) FlushDomain(domain uint16) error {
	for k := range f.entries {
		if uint16(k[6])<<8|uint16(k[7]) == domain {
			delete(f.entries, k)
		}
	}
	return nil
}

func (f *recFastPath) EntryHits(slot uint32) (uint64, uint64, error) { return f.srcHits[slot], 0, nil }

func (f *recFastPath) PortCounters(int) (ports.FastPathCounters, error) {
	return ports.FastPathCounters{}, nil
}

// entry returns the entry of mac (a string) in domain.
func (f *recFastPath) entry(domain uint16, mac string) (recEntry, bool) {
	var m [6]byte
	copy(m[:], mustMAC(mac))
	e, ok := f.entries[recKey(domain, m)]
	return e, ok
}

// memberPort is a memory port that says it is a fast-path member.
type memberPort struct {
	*memport.Port
	ifindex int
}

func (p memberPort) FastPathIfindex() (int, error) { return p.ifindex, nil }

func TestFastPathMirror(t *testing.T) {
	fp := newRecFastPath()
	r := newRig(t, Options{FastPath: fp})
	for i, n := range []string{"acc", "trk", "plain"} {
		p, err := memport.New(memport.Config{Name: n, TxQueues: 1, RxQueues: 1})
		require.NoError(t, err)
		var port ports.Port = p
		if n != "plain" {
			port = memberPort{p, 100 + i}
		}
		require.NoError(t, r.s.AddPort(port))
		r.ports[n] = p
	}
	cfg := Config{Bridges: []Bridge{{Name: "br0", MACAgeSeconds: 60, Ports: []Port{
		{Name: "acc", VLAN: 10},
		{Name: "trk", Mode: Trunk, Trunks: []uint16{10, 20}},
		{Name: "plain", VLAN: 10},
	}, StaticMACs: []StaticMAC{{MAC: macN(9), VLAN: 20, Port: "trk"}}}}}
	require.NoError(t, r.s.Reconfigure(cfg))
	dom := func(vlan uint16) uint16 { return r.s.domIDs.ids[domKey{"br0", vlan}] }

	// Ports: the access port classifies untagged frames into VLAN 10; the
	// trunk tagged 10 and 20, untagged into VLAN 0; the plain port is out.
	require.Len(t, fp.ports, 2)
	require.Equal(t, ports.FastPathPort{Domain: dom(10)}, fp.ports[100])
	require.Equal(t, ports.FastPathPort{Domain: dom(0), VLANs: map[uint16]uint16{10: dom(10), 20: dom(20)}}, fp.ports[101])

	// The static MAC is offloaded at once, tagged 20 on the trunk.
	e, ok := fp.entry(dom(20), macN(9))
	require.True(t, ok)
	require.Equal(t, recEntry{ifindex: 101, vid: 20, slot: e.slot}, e)

	// Learned MACs: untagged on the access port, tagged on the trunk; none
	// on the plain port.
	r.send("acc", frame(bcast(), macN(1), -1))
	r.send("trk", frame(bcast(), macN(2), 10))
	r.send("plain", frame(bcast(), macN(3), -1))
	e, ok = fp.entry(dom(10), macN(1))
	require.True(t, ok)
	require.Equal(t, 100, e.ifindex)
	require.Zero(t, e.vid)
	e, ok = fp.entry(dom(10), macN(2))
	require.True(t, ok)
	require.Equal(t, recEntry{ifindex: 101, vid: 10, slot: e.slot}, e)
	_, ok = fp.entry(dom(10), macN(3))
	require.False(t, ok, "a MAC on a port outside the fast path is not offloaded")
	require.Equal(t, 3, r.s.FastPathStatus().Entries)

	// A move to the trunk keeps the slot; a move to the plain port removes
	// the entry.
	slot := func(m string) uint32 { e, _ := fp.entry(dom(10), m); return e.slot }
	s1 := slot(macN(1))
	r.send("trk", frame(bcast(), macN(1), 10))
	e, _ = fp.entry(dom(10), macN(1))
	require.Equal(t, recEntry{ifindex: 101, vid: 10, slot: s1}, e)
	r.send("plain", frame(bcast(), macN(1), -1))
	_, ok = fp.entry(dom(10), macN(1))
	require.False(t, ok)

	// Aging: an idle-looking entry whose source hits grew is refreshed,
	// not aged; once the hits stop, it goes from both tables.
	fp.srcHits[slot(macN(2))] = 5
	r.clock.advance(61 * time.Second)
	r.s.Age()
	_, ok = fp.entry(dom(10), macN(2))
	require.True(t, ok, "active in the fast path: kept")
	require.Contains(t, fdbMACs(r.s), macN(2))
	require.NotContains(t, fdbMACs(r.s), macN(1), "idle on the plain port: aged")
	r.clock.advance(61 * time.Second)
	r.s.Age()
	_, ok = fp.entry(dom(10), macN(2))
	require.False(t, ok, "no new hits: aged out of the fast path too")
	require.NotContains(t, fdbMACs(r.s), macN(2))

	// A trace forces its port through the pipeline; clearing it restores.
	require.NoError(t, r.s.TraceAdd("acc", 5, nil))
	require.True(t, fp.ports[100].SlowPath)
	require.False(t, fp.ports[101].SlowPath)
	r.s.TraceClear()
	require.False(t, fp.ports[100].SlowPath)

	// VLAN change: the port's entries go and its classification changes.
	r.send("acc", frame(bcast(), macN(4), -1))
	_, ok = fp.entry(dom(10), macN(4))
	require.True(t, ok)
	cfg.Bridges[0].Ports[0].VLAN = 20
	require.NoError(t, r.s.Reconfigure(cfg))
	_, ok = fp.entry(dom(10), macN(4))
	require.False(t, ok)
	require.Equal(t, dom(20), fp.ports[100].Domain)

	// Fast path off for the bridge: every port and entry leaves.
	off := false
	cfg.Bridges[0].FastPath = &off
	require.NoError(t, r.s.Reconfigure(cfg))
	require.Empty(t, fp.ports)
	require.Empty(t, fp.entries)
	require.Zero(t, r.s.FastPathStatus().Entries)
	// On again: the static MAC comes back by replay.
	cfg.Bridges[0].FastPath = nil
	require.NoError(t, r.s.Reconfigure(cfg))
	_, ok = fp.entry(dom(20), macN(9))
	require.True(t, ok)

	// Removing a port takes it out before RemovePort returns.
	require.NoError(t, r.s.RemovePort("trk"))
	require.NotContains(t, fp.ports, 101)
	_, ok = fp.entry(dom(20), macN(9))
	require.False(t, ok)
}

func fdbMACs(s *Switch) []string {
	var out []string
	for _, e := range s.FDB() {
		out = append(out, e.MAC)
	}
	return out
}

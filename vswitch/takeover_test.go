package vswitch

import (
	"encoding/json"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"
)

// takeoverConfig is the L3 rig's configuration plus a trunk bridge, so
// that entries in several bridges and VLANs are handed over.
func takeoverConfig() Config {
	cfg := testL3Config()
	cfg.Bridges = append(cfg.Bridges, Bridge{Name: "br0", Ports: []Port{trunk("t1", 0, 10, 20), trunk("t2", 0, 10, 20)}})
	return cfg
}

func newTakeoverRig(t *testing.T) *rig {
	r := newRig(t, Options{})
	r.attach("a", "b", "b2", "t1", "t2")
	r.reconf(takeoverConfig())
	return r
}

// TestTakeoverLearnedState: what one switch learned (MACs in several
// bridges and VLANs, with their ages; neighbors) comes back in another
// switch of the same configuration, through JSON, with the same ages; a
// frame to a handed-over MAC is forwarded, not flooded; the ages go on
// aging from where they were.
func TestTakeoverLearnedState(t *testing.T) {
	old := newTakeoverRig(t)
	old.send("a", frame(bcast(), macA, -1))
	old.send("b", frame(bcast(), macB, -1))
	old.send("t1", frame(bcast(), macN(1), 10))
	old.send("t2", frame(bcast(), macN(2), 20))
	old.clock.advance(7 * time.Second)
	old.s.Age()
	old.send("t1", frame(bcast(), macN(3), 20))
	old.send("a", serializeARPRequest("10.1.0.9", "10.1.0.1"))
	old.s.Poll()
	old.recv()

	st := old.s.ExportLearned()
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var got LearnedState
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, sortedMACs([]LearnedMAC{
		{Bridge: "bra", VLAN: 0, MAC: macA, Port: "a", Age: 7},
		{Bridge: "brb", VLAN: 0, MAC: macB, Port: "b", Age: 7},
		{Bridge: "br0", VLAN: 10, MAC: macN(1), Port: "t1", Age: 7},
		{Bridge: "br0", VLAN: 20, MAC: macN(2), Port: "t2", Age: 7},
		{Bridge: "br0", VLAN: 20, MAC: macN(3), Port: "t1", Age: 0},
		{Bridge: "bra", VLAN: 0, MAC: "02:00:00:00:00:0c", Port: "a", Age: 0}, // the ARP request's sender
	}), sortedMACs(got.MACs))
	require.Equal(t, []LearnedNeighbor{{Interface: "ra", Addr: netip.MustParseAddr("10.1.0.9"), MAC: "02:00:00:00:00:0c"}}, got.Neighbors)

	next := newTakeoverRig(t)
	next.clock.advance(100 * time.Second) // another process: another clock origin
	is, err := next.s.ImportLearned(got)
	require.NoError(t, err)
	require.Equal(t, ImportStats{MACs: 6, Neighbors: 1}, is)
	next.requireFDB(10, macN(1), "t1", false)
	next.requireFDB(20, macN(2), "t2", false)
	next.requireFDB(20, macN(3), "t1", false)
	after := next.s.ExportLearned()
	require.Equal(t, sortedMACs(got.MACs), sortedMACs(after.MACs), "ages kept")
	require.Contains(t, next.s.Neighbors(), NeighborEntry{Interface: "ra", Addr: "10.1.0.9", MAC: "02:00:00:00:00:0c"})

	// Known unicast: forwarded to the one port, not flooded.
	next.send("t2", frame(macN(1), macN(4), 10))
	require.Equal(t, []string{"t1"}, next.receivers())
	// Routed to the handed-over neighbor without resolving it again.
	next.send("b", pkt4(macRB, macB, "10.2.0.2", "10.1.0.9", 64, 1000, 10, false))
	out := only(t, next.recv(), "a", 1)
	require.Equal(t, "02:00:00:00:00:0c", decodePkt(t, out[0]).LinkLayer().LinkFlow().Dst().String())

	// Aging continues from the old ages: bridges age at 300 s.
	next.clock.advance(295 * time.Second)
	next.s.Age()
	next.requireFDB(10, macN(1), "", false)
	next.requireFDB(20, macN(3), "t1", false)
}

// TestTakeoverImportSkips: entries for what this switch lacks are skipped
// and counted; malformed ones refuse the whole import.
func TestTakeoverImportSkips(t *testing.T) {
	r := newTakeoverRig(t)
	is, err := r.s.ImportLearned(LearnedState{
		MACs: []LearnedMAC{
			{Bridge: "nope", MAC: macN(1), Port: "t1"},
			{Bridge: "br0", VLAN: 30, MAC: macN(1), Port: "t1"}, // VLAN not carried
			{Bridge: "br0", VLAN: 10, MAC: macN(1), Port: "gone"},
			{Bridge: "br0", VLAN: 10, MAC: macN(1), Port: "a"}, // port of another bridge
			{Bridge: "br0", VLAN: 10, MAC: macN(2), Port: "t2"},
		},
		Neighbors: []LearnedNeighbor{{Interface: "nope", Addr: netip.MustParseAddr("10.1.0.9"), MAC: macA}},
	})
	require.NoError(t, err)
	require.Equal(t, ImportStats{MACs: 1, SkippedMACs: 4, SkippedNeighbors: 1}, is)
	r.requireFDB(10, macN(2), "t2", false)

	for _, bad := range []LearnedState{
		{MACs: []LearnedMAC{{Bridge: "br0", VLAN: 10, MAC: "ff:ff:ff:ff:ff:ff", Port: "t1"}}},
		{MACs: []LearnedMAC{{Bridge: "br0", VLAN: 10, MAC: "zz", Port: "t1"}}},
		{Neighbors: []LearnedNeighbor{{Interface: "ra", MAC: macA}}},
	} {
		_, err := r.s.ImportLearned(bad)
		require.Error(t, err)
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sortedMACs(m []LearnedMAC) []LearnedMAC {
	m = slices.Clone(m)
	slices.SortFunc(m, func(x, y LearnedMAC) int {
		if c := cmpStr(x.Bridge, y.Bridge); c != 0 {
			return c
		}
		return cmpStr(x.MAC, y.MAC)
	})
	return m
}

// TestTakeoverNATFlows: masqueraded flows move to a successor switch of
// the same configuration (through JSON, with their VRFs by name): a
// reply to a translated port is translated back there to the container,
// and a new flow from the same source port gets the port the old switch
// chose, not another (the connection keeps its external identity).
func TestTakeoverNATFlows(t *testing.T) {
	old := newNATRig(t)
	// Two containers from source port 40000 to one server: the second
	// is translated to another port.
	old.send("a", udp4(macRA, macA, "10.1.0.2", "10.2.0.2", 40000, 5300))
	only(t, old.recv(), "b", 1)
	old.send("a2", udp4(macRA, macA2, "10.1.0.3", "10.2.0.2", 40000, 5300))
	_, _, sp2, _ := tuple4(t, only(t, old.recv(), "b", 1)[0])
	require.NotEqual(t, uint16(40000), sp2)
	old.send("a", tcp4(macRA, macA, "10.1.0.2", "10.2.0.2", 41000, 443, "S"))
	only(t, old.recv(), "b", 1)

	st := old.s.ExportLearned()
	require.Len(t, st.NATFlows, 3)
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var back LearnedState
	require.NoError(t, json.Unmarshal(b, &back))

	succ := newNATRig(t)
	is, err := succ.s.ImportLearned(back)
	require.NoError(t, err)
	require.Equal(t, 3, is.NATFlows)
	require.Zero(t, is.SkippedNATFlows)
	// The reply to a2's translated port reaches a2 (without the flow, the
	// successor would have nothing to translate it back with).
	succ.send("b", udp4(macRB, macB, "10.2.0.2", "10.2.0.1", 5300, sp2))
	_, dst, _, dp := tuple4(t, only(t, succ.recv(), "a2", 1)[0])
	require.Equal(t, []any{"10.1.0.3", uint16(40000)}, []any{dst, dp})
	// a2's next packet keeps its translated port.
	succ.send("a2", udp4(macRA, macA2, "10.1.0.3", "10.2.0.2", 40000, 5300))
	_, _, sp, _ := tuple4(t, only(t, succ.recv(), "b", 1)[0])
	require.Equal(t, sp2, sp)

	// Imported again: every flow is there already.
	is, err = succ.s.ImportLearned(back)
	require.NoError(t, err)
	require.Equal(t, 3, is.SkippedNATFlows)
	// A successor without NAT skips them.
	plain := newL3Rig(t, testL3Config())
	is, err = plain.s.ImportLearned(back)
	require.NoError(t, err)
	require.Equal(t, 3, is.SkippedNATFlows)
}

// TestTakeoverSGFlows: the security-group tracker's flows move too. web's
// group allows no egress, so without its flow a successor drops web's
// next reply (it would be a new flow from web); with the flow handed over
// the reply passes, and a flow web starts itself is still denied.
func TestTakeoverSGFlows(t *testing.T) {
	old := newSGRig(t, Options{}, webGroup())
	require.True(t, old.pass("cli", "web", sgTCP(macWeb, macCli, ipCli, ipWeb, 40000, 80, "S")))
	require.True(t, old.pass("web", "cli", sgTCP(macCli, macWeb, ipWeb, ipCli, 80, 40000, "SA")))
	require.True(t, old.pass("cli", "web", udpFrame(macWeb, macCli, ipCli, ipWeb, 5353, 53)))
	old.clock.advance(3 * time.Second)
	old.s.Age() // the switch's clock moves on

	st := old.s.ExportLearned()
	require.Len(t, st.SGFlows, 2)
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var back LearnedState
	require.NoError(t, json.Unmarshal(b, &back))
	for _, f := range back.SGFlows {
		require.Equal(t, []any{"br0", uint16(0), "", "cli", "web", uint32(3)}, []any{f.Bridge, f.VLAN, f.VRF, f.From, f.To, f.Age})
	}
	reply := sgTCP(macCli, macWeb, ipWeb, ipCli, 80, 40000, "A")

	without := newSGRig(t, Options{}, webGroup())
	require.False(t, without.pass("web", "cli", reply), "the check below must be able to fail: without the flow, web's reply is a new flow, denied")

	succ := newSGRig(t, Options{}, webGroup())
	is, err := succ.s.ImportLearned(back)
	require.NoError(t, err)
	require.Equal(t, []int{2, 0}, []int{is.SGFlows, is.SkippedSGFlows})
	require.True(t, succ.pass("web", "cli", reply), "the handed-over flow lets web's reply through")
	require.True(t, succ.pass("web", "cli", udpFrame(macCli, macWeb, ipWeb, ipCli, 53, 5353)), "UDP reply")
	require.False(t, succ.pass("web", "cli", sgTCP(macCli, macWeb, ipWeb, ipCli, 50000, 80, "S")), "web still starts nothing")
	require.EqualValues(t, 0, ruleCount(t, succ.s, "web", "http"), "handed-over flows are not classified again")

	// Imported again: both are there already. A successor whose groups
	// have no port, or whose ports differ, skips them.
	is, err = succ.s.ImportLearned(back)
	require.NoError(t, err)
	require.Equal(t, []int{0, 2}, []int{is.SGFlows, is.SkippedSGFlows})
	plain := newSGRig(t, Options{})
	is, err = plain.s.ImportLearned(back)
	require.NoError(t, err)
	require.Equal(t, []int{0, 2}, []int{is.SGFlows, is.SkippedSGFlows})
	renamed := back
	renamed.SGFlows = slices.Clone(back.SGFlows)
	renamed.SGFlows[0].From = "nosuch"
	renamed.SGFlows[1].Bridge = "nosuch"
	is, err = newSGRig(t, Options{}, webGroup()).s.ImportLearned(renamed)
	require.NoError(t, err)
	require.Equal(t, []int{0, 2}, []int{is.SGFlows, is.SkippedSGFlows})
}

// TestTakeoverSGFlowsRouted: a routed flow's zone is its VRF, by name.
func TestTakeoverSGFlowsRouted(t *testing.T) {
	cfg := testL3Config()
	cfg.SecurityGroups = []SecurityGroup{
		{Name: "srv", Ports: []string{"b"}, Rules: []SGRule{
			{Name: "udp9", Direction: "ingress", Proto: "udp", Ports: "9", Action: "allow"}}},
		{Name: "cli", Ports: []string{"a"}, Rules: []SGRule{{Name: "out", Direction: "egress", Action: "allow"}}},
	}
	rig := func() *rig {
		r := newL3Rig(t, testL3Config())
		require.NoError(t, r.s.Reconfigure(cfg))
		return r
	}
	b2a := func() []byte {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP("10.2.0.2"), DstIP: net.ParseIP("10.1.0.2")}
		udp := &layers.UDP{SrcPort: 9, DstPort: 1000}
		must(udp.SetNetworkLayerForChecksum(ip))
		return serialize(&layers.Ethernet{DstMAC: mustMAC(macRB), SrcMAC: mustMAC(macB), EthernetType: layers.EthernetTypeIPv4}, ip, udp)
	}
	old := rig()
	old.send("a", pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1000, 18, false))
	only(t, old.recv(), "b", 1)
	st := old.s.ExportLearned()
	require.Len(t, st.SGFlows, 1)
	f := st.SGFlows[0]
	require.Equal(t, []string{"", "default", "a", "b"}, []string{f.Bridge, f.VRF, f.From, f.To})

	without := rig()
	without.send("b", b2a())
	require.Empty(t, without.recv(), "without the flow, b's reply is a flow b starts: denied")
	succ := rig()
	is, err := succ.s.ImportLearned(st)
	require.NoError(t, err)
	require.Equal(t, 1, is.SGFlows)
	succ.send("b", b2a())
	only(t, succ.recv(), "a", 1)
}

package proto

import (
	"testing"
)

// Sinks keep results alive so that the calls measured are not optimized out.
var (
	sinkU16    uint16
	sinkU32    uint32
	sinkU64    uint64
	sinkInt    int
	sinkBool   bool
	sinkReason Reason
	sinkMAC    [6]byte
)

// TestAllocations checks that no per-packet function allocates.
func TestAllocations(t *testing.T) {
	v4pkt := udp4(t, "10.0.0.1", "10.0.0.2", 1, 2, 100)
	v6pkt := udp6(t, "2001:db8::1", "2001:db8::2", 1, 2, 100)
	e4 := echo4(t, "10.0.0.1", "10.0.0.2", 56)
	e6 := echo6(t, "2001:db8::1", "2001:db8::2", 56)
	ns := ndPkt(t, ICMP6NeighborSolicit, "2001:db8::9", "ff02::1:ff00:1", "2001:db8::1", 0, llOpt(NDOptSourceLL, macA))
	arp := arpPkt(t, ARPRequest, macA, a4("10.0.0.1"), [6]byte{}, a4("10.0.0.2"))
	dst := make([]byte, 2048)
	me := a6("2001:db8::1")
	var lim Limiter
	var nd ND
	now := int64(1e12)

	for name, f := range map[string]func(){
		"Sum":               func() { sinkU16 = Sum(v4pkt, 0) },
		"Checksum":          func() { sinkU16 = Checksum(v4pkt[:20], 0) },
		"Add":               func() { sinkU16 = Add(sinkU16, 7) },
		"PseudoSum4":        func() { sinkU16 = PseudoSum4(1, 2, ProtoUDP, 8) },
		"PseudoSum6":        func() { sinkU16 = PseudoSum6(1, 2, 3, 4, ProtoUDP, 8) },
		"Update16":          func() { sinkU16 = Update16(sinkU16, 1, 2) },
		"Update32":          func() { sinkU16 = Update32(sinkU16, 1, 2) },
		"DecTTL4":           func() { v4pkt[8] = 64; DecTTL4(v4pkt) },
		"DecHop6":           func() { v6pkt[7] = 64; DecHop6(v6pkt) },
		"Check4":            func() { sinkInt, sinkReason = Check4(e4) },
		"IPv4 accessors":    func() { sinkU32 = Src4(v4pkt) ^ Dst4(v4pkt) + uint32(Proto4(v4pkt)+TTL4(v4pkt)) },
		"IPv4 flags":        func() { sinkBool = DF4(v4pkt) || MF4(v4pkt) || IsFragment4(v4pkt) || FragOffset4(v4pkt) > 0 },
		"Check6":            func() { sinkReason = Check6(v6pkt) },
		"IPv6 accessors":    func() { h, l := Src6(v6pkt); h2, l2 := Dst6(v6pkt); sinkU64 = h ^ l ^ h2 ^ l2 },
		"address classes":   func() { sinkBool = IsMulticast6(me.hi, me.lo) || IsLinkLocal6(me.hi, me.lo) || IsMulticast4(1) },
		"SolicitedNode6":    func() { h, l := SolicitedNode6(me.hi, me.lo); sinkMAC = MulticastMAC6(h, l) },
		"CheckARP":          func() { sinkReason = CheckARP(arp) },
		"ARP accessors":     func() { sinkMAC = ARPSenderMAC(arp); sinkU32 = ARPTargetIP(arp) },
		"ARPReplyInPlace":   func() { ARPReplyInPlace(arp, macB) },
		"BuildARPRequest":   func() { sinkInt = BuildARPRequest(dst, macA, 1, 2) },
		"ParseND":           func() { sinkReason = ParseND(ns, &nd) },
		"BuildNS":           func() { sinkInt = BuildNS(dst, macA, me.hi, me.lo, 5, 6) },
		"BuildNA":           func() { sinkInt = BuildNA(dst, macA, macB, me.hi, me.lo, 5, 6, NAOverride) },
		"BuildNAReply":      func() { sinkInt = BuildNAReply(dst, ns, macA, macB, NAOverride) },
		"CheckICMP4":        func() { sinkReason = CheckICMP4(e4, 20) },
		"CheckICMP6":        func() { sinkReason = CheckICMP6(e6) },
		"Echo4ReplyInPlace": func() { Echo4ReplyInPlace(e4) },
		"Echo6ReplyInPlace": func() { Echo6ReplyInPlace(e6, me.hi, me.lo) },
		"BuildICMP4Error":   func() { sinkInt = BuildICMP4Error(dst, v4pkt, ICMP4TimeExceeded, 0, 0, 7) },
		"BuildICMP6Error":   func() { sinkInt = BuildICMP6Error(dst, v6pkt, ICMP6TimeExceeded, 0, 0, me.hi, me.lo) },
		"ICMP4ErrorAllowed": func() { sinkBool = ICMP4ErrorAllowed(v4pkt) },
		"ICMP6ErrorAllowed": func() { sinkBool = ICMP6ErrorAllowed(v6pkt, ICMP6TimeExceeded, 0) },
		"FlowHash4":         func() { sinkU32 = FlowHash4(v4pkt, 20) },
		"FlowHash6":         func() { sinkU32 = FlowHash6(v6pkt) },
		"Limiter.Allow":     func() { now += 1e5; sinkBool = lim.Allow(now) },
	} {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %v allocations per call", name, a)
		}
	}
}

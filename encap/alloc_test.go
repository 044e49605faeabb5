package encap

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// Sinks keep results alive so that the calls measured are not optimized out.
var (
	sinkInt    int
	sinkBool   bool
	sinkU16    uint16
	sinkU32    uint32
	sinkOuter  Outer
	sinkReason Reason
	sinkAddr   netip.Addr
)

// TestAllocations checks that no per-packet function allocates.
func TestAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	inner := innerUDP4(t, rng, 64-EthLen-IPv4Len-UDPLen)
	tpl4, tpl6 := mustTemplate(t, config4()), mustTemplate(t, config6())
	c := config4()
	c.UDPChecksum4, c.VLAN = true, 10
	tpl4c := mustTemplate(t, c)
	buf, off := inFrame(inner)
	pkt4, pkt6 := sample(t, config4()), sample(t, config6())

	for name, f := range map[string]func(){
		"Encap IPv4":          func() { sinkInt, _, sinkBool = Encap(tpl4, buf, off, len(inner), 1) },
		"Encap IPv6":          func() { sinkInt, _, sinkBool = Encap(tpl6, buf, off, len(inner), 1) },
		"Encap IPv4 csum+tag": func() { sinkInt, _, sinkBool = Encap(tpl4c, buf, off, len(inner), 1) },
		"Encap refused":       func() { sinkInt, _, sinkBool = Encap(tpl6, buf, 1, len(inner), 1) },
		"EncapGSO IPv4":       func() { sinkInt, _, sinkBool = EncapGSO(tpl4, buf, off, len(inner), 60000, 1) },
		"EncapGSO IPv6":       func() { sinkInt, _, sinkBool = EncapGSO(tpl6, buf, off, len(inner), 60000, 1) },
		"ParseOuter IPv4":     func() { sinkOuter, sinkReason = ParseOuter(pkt4, DecapConfig{VerifyUDP4: true}) },
		"ParseOuter IPv6":     func() { sinkOuter, sinkReason = ParseOuter(pkt6, DecapConfig{}) },
		"ParseOuter runt":     func() { sinkOuter, sinkReason = ParseOuter(pkt6[:30], DecapConfig{}) },
		"InnerFlowHash":       func() { sinkU32 = InnerFlowHash(inner) },
		"SrcPort":             func() { sinkU16 = tpl4.SrcPort(sinkU32) },
		"Template accessors":  func() { sinkInt = tpl6.Len() + int(tpl6.VNI()); sinkBool = tpl6.Is6() },
		"Outer addresses": func() {
			sinkAddr = sinkOuter.SrcAddr()
			sinkAddr = sinkOuter.DstAddr()
			sinkU32 = sinkOuter.Src4() ^ sinkOuter.Dst4()
		},
		"Reason.String":      func() { sinkInt = len(BadUDPChecksum.String()) },
		"Overhead, InnerMTU": func() { sinkInt = Overhead(true) + InnerMTU(1500, false) + InnerFrameMax(9000, true) },
	} {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %v allocations per call", name, a)
		}
	}
}

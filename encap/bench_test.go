package encap

import (
	"math/rand/v2"
	"testing"
)

// The benchmarks use 64-byte inner frames (Ethernet/IPv4/UDP with 22 bytes
// of payload) unless named otherwise, and report packets per second.

func benchEncap(b *testing.B, c TemplateConfig, innerLen int) {
	inner := innerUDP4(b, rand.New(rand.NewPCG(1, 2)), innerLen-EthLen-IPv4Len-UDPLen)
	tpl := mustTemplate(b, c)
	buf, off := inFrame(inner)
	hash := InnerFlowHash(inner)
	b.SetBytes(int64(len(inner)))
	b.ReportAllocs()
	for b.Loop() {
		sinkInt, _, sinkBool = Encap(tpl, buf, off, len(inner), hash)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

func BenchmarkEncap4(b *testing.B) { benchEncap(b, config4(), 64) }
func BenchmarkEncap6(b *testing.B) { benchEncap(b, config6(), 64) }

// BenchmarkEncap4UDPChecksum is Encap4 with the optional IPv4 UDP checksum.
func BenchmarkEncap4UDPChecksum(b *testing.B) {
	c := config4()
	c.UDPChecksum4 = true
	benchEncap(b, c, 64)
}

// BenchmarkEncap6Frame1500 shows the cost of the IPv6 UDP checksum on a
// full-size inner frame.
func BenchmarkEncap6Frame1500(b *testing.B) { benchEncap(b, config6(), 1500) }

// BenchmarkEncapAndHash4 is what an encap node does per packet: hash the
// inner flow, then encapsulate.
func BenchmarkEncapAndHash4(b *testing.B) {
	inner := innerUDP4(b, rand.New(rand.NewPCG(1, 2)), 64-EthLen-IPv4Len-UDPLen)
	tpl := mustTemplate(b, config4())
	buf, off := inFrame(inner)
	b.ReportAllocs()
	for b.Loop() {
		sinkInt, _, sinkBool = Encap(tpl, buf, off, len(inner), InnerFlowHash(buf[off:off+len(inner)]))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

func benchParse(b *testing.B, c TemplateConfig, dc DecapConfig) {
	tpl := mustTemplate(b, c)
	inner := innerUDP4(b, rand.New(rand.NewPCG(1, 2)), 64-EthLen-IPv4Len-UDPLen)
	pkt := encapsulate(b, tpl, inner, InnerFlowHash(inner))
	if _, r := ParseOuter(pkt, dc); r != OK {
		b.Fatal(r)
	}
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		o, r := ParseOuter(pkt, dc)
		sinkU32, sinkReason = o.VNI, r
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

func BenchmarkParseOuter4(b *testing.B) { benchParse(b, config4(), DecapConfig{}) }
func BenchmarkParseOuter6(b *testing.B) { benchParse(b, config6(), DecapConfig{}) }

// BenchmarkParseOuter4VerifyUDP verifies the optional IPv4 UDP checksum.
func BenchmarkParseOuter4VerifyUDP(b *testing.B) {
	c := config4()
	c.UDPChecksum4 = true
	benchParse(b, c, DecapConfig{VerifyUDP4: true})
}

func BenchmarkInnerFlowHash4(b *testing.B) {
	inner := innerUDP4(b, rand.New(rand.NewPCG(1, 2)), 22)
	b.ReportAllocs()
	for b.Loop() {
		sinkU32 = InnerFlowHash(inner)
	}
}

func BenchmarkInnerFlowHash6(b *testing.B) {
	inner := innerTCP6(b, rand.New(rand.NewPCG(1, 2)), 0)
	b.ReportAllocs()
	for b.Loop() {
		sinkU32 = InnerFlowHash(inner)
	}
}

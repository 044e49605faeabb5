package proto

import (
	"testing"
)

func BenchmarkChecksum20(b *testing.B) {
	p := udp4(b, "10.0.0.1", "10.0.0.2", 1, 2, 0)[:20]
	b.SetBytes(20)
	b.ReportAllocs()
	for b.Loop() {
		sinkU16 = Checksum(p, 0)
	}
}

func BenchmarkChecksum1500(b *testing.B) {
	p := udp4(b, "10.0.0.1", "10.0.0.2", 1, 2, 1472)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		sinkU16 = Checksum(p, 0)
	}
}

func BenchmarkCheck4(b *testing.B) {
	p := udp4(b, "10.0.0.1", "10.0.0.2", 1, 2, 64)
	b.ReportAllocs()
	for b.Loop() {
		sinkInt, sinkReason = Check4(p)
	}
}

func BenchmarkDecTTL4(b *testing.B) {
	p := udp4(b, "10.0.0.1", "10.0.0.2", 1, 2, 64)
	b.ReportAllocs()
	for b.Loop() {
		p[8] = 64 // keep the TTL from wrapping; the checksum stays valid either way
		DecTTL4(p)
	}
}

func BenchmarkFlowHash4(b *testing.B) {
	p := udp4(b, "10.0.0.1", "10.0.0.2", 1, 2, 64)
	b.ReportAllocs()
	for b.Loop() {
		sinkU32 = FlowHash4(p, 20)
	}
}

func BenchmarkFlowHash6(b *testing.B) {
	p := udp6(b, "2001:db8::1", "2001:db8::2", 1, 2, 64)
	b.ReportAllocs()
	for b.Loop() {
		sinkU32 = FlowHash6(p)
	}
}

func BenchmarkParseND(b *testing.B) {
	p := ndPkt(b, ICMP6NeighborSolicit, "2001:db8::9", "ff02::1:ff00:1", "2001:db8::1", 0, llOpt(NDOptSourceLL, macA))
	var nd ND
	b.ReportAllocs()
	for b.Loop() {
		sinkReason = ParseND(p, &nd)
	}
}

func BenchmarkEcho4ReplyInPlace(b *testing.B) {
	p := echo4(b, "10.0.0.1", "10.0.0.2", 56)
	b.ReportAllocs()
	for b.Loop() {
		Echo4ReplyInPlace(p)
	}
}

func BenchmarkBuildICMP4Error(b *testing.B) {
	orig := udp4(b, "10.0.0.1", "10.0.0.2", 1, 2, 1472)
	dst := make([]byte, MaxICMP4ErrorLen)
	b.ReportAllocs()
	for b.Loop() {
		sinkInt = BuildICMP4Error(dst, orig, ICMP4TimeExceeded, 0, 0, 7)
	}
}

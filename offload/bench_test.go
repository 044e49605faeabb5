package offload

import (
	"math/rand/v2"
	"testing"
)

// The segmentation benchmarks cut a 64 KiB GSO frame (IP length 65535)
// and report the time per frame and the payload rate in Gbit/s; b.SetBytes
// counts the payload too, so MB/s is payload.

func benchSegment(b *testing.B, s spec, pieces bool) {
	s.payload = s.maxPayload()
	frame, _, h := gsoFrame(b, s, rand.New(rand.NewPCG(27, 28)))
	_, _, _, _, end := s.offsets()
	frags := [][]byte{frame}
	if pieces { // headers, then 4 KiB pages, as a port reading into fixed buffers has them
		frags = [][]byte{frame[:end]}
		for p := frame[end:]; len(p) > 0; p = p[min(4096, len(p)):] {
			frags = append(frags, p[:min(4096, len(p))])
		}
	}
	dst, lens := dsts(64, end+s.mss)
	seg := Segment
	if s.tunnel {
		seg = SegmentVXLAN
	}
	if _, err := seg(frags, &h, dst, lens); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(s.payload))
	b.ReportAllocs()
	for b.Loop() {
		sinkInt, sinkErr = seg(frags, &h, dst, lens)
	}
	perFrame := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perFrame, "ns/frame")
	b.ReportMetric(float64(s.payload)*8/perFrame, "Gbit/s")
}

func BenchmarkSegmentTCPv4MSS1448(b *testing.B) { benchSegment(b, spec{mss: 1448}, false) }

// BenchmarkSegmentTCPv4MSS1448Pages: the payload in 4 KiB pieces.
func BenchmarkSegmentTCPv4MSS1448Pages(b *testing.B) { benchSegment(b, spec{mss: 1448}, true) }
func BenchmarkSegmentTCPv6MSS1428(b *testing.B)      { benchSegment(b, spec{v6: true, mss: 1428}, false) }
func BenchmarkSegmentUDPv4L4MSS1472(b *testing.B)    { benchSegment(b, spec{udp: true, mss: 1472}, false) }

// BenchmarkSegmentTCPv4MSS8948: a 9000-byte MTU.
func BenchmarkSegmentTCPv4MSS8948(b *testing.B) { benchSegment(b, spec{mss: 8948}, false) }

// BenchmarkSegmentVXLAN4TCPv4: inner MSS 1398 (a 1500-byte underlay MTU),
// outer UDP checksum zero.
func BenchmarkSegmentVXLAN4TCPv4(b *testing.B) {
	benchSegment(b, spec{tunnel: true, mss: 1398}, false)
}

// BenchmarkSegmentVXLAN6TCPv6: outer IPv6 with its UDP checksum, computed
// per segment without a pass over the payload.
func BenchmarkSegmentVXLAN6TCPv6(b *testing.B) {
	benchSegment(b, spec{tunnel: true, outer6: true, outerCsum: true, v6: true, mss: 1358}, false)
}

// BenchmarkCompleteChecksum64K completes the checksum of a 64 KiB frame.
func BenchmarkCompleteChecksum64K(b *testing.B) {
	s := spec{mss: 1448}
	s.payload = s.maxPayload()
	frame, _, h := gsoFrame(b, s, rand.New(rand.NewPCG(29, 30)))
	start, off := int(h.CsumStart), int(h.CsumOffset)
	b.SetBytes(int64(len(frame) - start))
	b.ReportAllocs()
	for b.Loop() {
		sinkErr = CompleteChecksum(frame, start, off)
	}
	perFrame := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perFrame, "ns/frame")
	b.ReportMetric(float64(len(frame)-start)*8/perFrame, "Gbit/s")
}

func BenchmarkDecode(b *testing.B) {
	hb := make([]byte, HdrLen)
	h := VnetHdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, HdrLen: 66, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	h.Encode(hb)
	b.ReportAllocs()
	for b.Loop() {
		sinkErr = h.Decode(hb)
	}
}

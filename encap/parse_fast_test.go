package encap

import (
	"math/rand/v2"
	"testing"
)

// checkParseOuter4 fails if ParseOuter4 accepts pkt with fields other than
// ParseOuter's, or accepts what ParseOuter refuses.
func checkParseOuter4(t *testing.T, pkt []byte, c DecapConfig) bool {
	o4, ok := ParseOuter4(pkt, c)
	o, r := ParseOuter(pkt, c)
	if !ok {
		return false
	}
	if r != OK || o.Is6 || o.VLAN != 0 || o.Src4() != o4.Src || o.Dst4() != o4.Dst || o.VNI != o4.VNI ||
		o.InnerOff != o4.InnerOff || o.InnerLen != o4.InnerLen {
		t.Fatalf("ParseOuter4 %+v, ParseOuter %v %+v on % x", o4, r, o, pkt)
	}
	return true
}

// TestParseOuter4Agrees mutates valid IPv4 VXLAN packets at random: where
// ParseOuter4 accepts one, ParseOuter agrees field by field; and it accepts
// the valid packets themselves.
func TestParseOuter4Agrees(t *testing.T) {
	r := rand.New(rand.NewPCG(24, 24))
	accepted := 0
	for i := range 20000 {
		df := i%2 == 0
		tm := mustTemplate(t, TemplateConfig{Src: vtep4a, Dst: vtep4b, VNI: uint32(r.IntN(MaxVNI + 1)), DF: df, UDPChecksum4: i%3 == 0})
		inner := make([]byte, 14+r.IntN(200))
		for j := range inner {
			inner[j] = byte(r.Uint32())
		}
		buf := make([]byte, 128+len(inner)+16)
		copy(buf[128:], inner)
		off, l, ok := Encap(tm, buf, 128, len(inner), r.Uint32())
		if !ok {
			t.Fatal("Encap failed")
		}
		pkt := buf[off : off+l+r.IntN(17)] // maybe with trailing padding
		c := DecapConfig{VerifyUDP4: r.IntN(4) == 0, IPv4HeaderChecked: r.IntN(3) == 0}
		if i%4 != 0 {
			// A UDP checksum to verify is ParseOuter's work.
			if !checkParseOuter4(t, pkt, c) && !(c.VerifyUDP4 && i%3 == 0) {
				t.Fatalf("valid packet refused: % x", pkt)
			}
			accepted++
			continue
		}
		for range 1 + r.IntN(3) { // corrupt a byte or cut the packet
			if r.IntN(5) == 0 {
				pkt = pkt[:r.IntN(len(pkt)+1)]
			} else if len(pkt) > 0 {
				pkt[r.IntN(min(len(pkt), 60))] ^= byte(1 + r.IntN(255))
			}
		}
		checkParseOuter4(t, pkt, c)
	}
	if accepted == 0 {
		t.Fatal("nothing accepted")
	}
}

func FuzzParseOuter4(f *testing.F) {
	tm, err := NewTemplate(TemplateConfig{Src: vtep4a, Dst: vtep4b, VNI: 7})
	if err != nil {
		f.Fatal(err)
	}
	buf := make([]byte, 128+64)
	off, l, _ := Encap(&tm, buf, 128, 64, 1)
	f.Add(buf[off:off+l], false)
	f.Fuzz(func(t *testing.T, pkt []byte, verify bool) {
		checkParseOuter4(t, pkt, DecapConfig{VerifyUDP4: verify, IPv4HeaderChecked: len(pkt)%2 == 0})
	})
}

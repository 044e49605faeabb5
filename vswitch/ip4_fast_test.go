package vswitch

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// TestCheck4Agrees compares check4 with proto.Check4Avail on valid IPv4
// headers (with and without options), mutated ones and short ones.
func TestCheck4Agrees(t *testing.T) {
	r := rand.New(rand.NewPCG(24, 4))
	for i := range 200000 {
		hl := 20
		if i%5 == 0 {
			hl = 20 + 4*r.IntN(11)
		}
		ip := make([]byte, hl+r.IntN(64))
		for j := range ip {
			ip[j] = byte(r.Uint32())
		}
		ip[0] = 0x40 | byte(hl/4)
		binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:], proto.Checksum(ip[:hl], 0))
		avail := len(ip)
		switch r.IntN(4) {
		case 0:
			ip[r.IntN(hl)] ^= byte(1 + r.IntN(255))
		case 1:
			ip = ip[:r.IntN(len(ip)+1)]
			avail = len(ip)
		case 2:
			avail = r.IntN(len(ip) + 8)
		}
		gl, gr := check4(ip, avail)
		wl, wr := proto.Check4Avail(ip, avail)
		if gl != wl || gr != wr {
			t.Fatalf("check4 = %d %v, Check4Avail = %d %v, avail %d, % x", gl, gr, wl, wr, avail, ip)
		}
	}
}

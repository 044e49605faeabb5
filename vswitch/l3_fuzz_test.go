package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzL3Input sends arbitrary bytes, behind an Ethernet header addressed to
// a router interface (IPv4, IPv6 or ARP by the first input byte), into the
// L3 rig. Whatever comes in, the switch does not panic, leaks no buffer,
// and still routes a good packet afterwards.
func FuzzL3Input(f *testing.F) {
	seeds := [][]byte{
		pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1, 18, false),
		pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 1, 1, 18, false),
		pkt4(macRA, macA, "10.1.0.2", "10.2.0.9", 64, 1, 1400, true),
		pkt6(macRA, macA, "fd01::2", "fd02::2", 64, 1, 18),
		pkt6(macRA, macA, "fd01::2", "fd02::2", 1, 1, 1400),
		serializeARPRequest("10.1.0.9", "10.1.0.1"),
	}
	for _, s := range seeds {
		f.Add(s[12:])
	}
	r := newL3Rig(&testing.T{}, testL3Config())
	f.Cleanup(func() { r.s.Close() })
	good := pkt4(macRA, macA, "10.1.0.2", "10.2.0.2", 64, 1, 18, false)
	f.Fuzz(func(t *testing.T, b []byte) {
		r.t = t
		if len(b) > 1500 {
			b = b[:1500] // longer frames are a port's business (memport refuses them)
		}
		frame := append(append([]byte(nil), good[:12]...), b...)
		r.send("a", frame)
		r.recv()
		r.send("a", good)
		got := r.recv()
		require.Len(t, got["b"], 1, "a good packet is still routed")
		requireNoLeak(t, r.s)
	})
}

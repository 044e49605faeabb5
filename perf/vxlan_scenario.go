package perf

import (
	"encoding/binary"
	"fmt"

	"github.com/vecswitch/vecswitch/vswitch"
)

// VXLAN scenario kinds: 64-byte inner frames from a container port to a
// MAC behind a remote VTEP (encapsulated, routed to the uplink), and the
// reverse (decapsulated, switched to the container port).
const (
	VXLANEncap = "vxlan-encap"
	VXLANDecap = "vxlan-decap"
)

const (
	vxLocalMAC  = 0x02CC00000001 // container
	vxFarMAC    = 0x02CC00000002 // behind the remote VTEP
	vxUplinkMAC = 0x02CC000000F1 // our router interface on the uplink
	vxRemoteMAC = 0x02CC000000F2 // the remote VTEP's MAC
)

// NewVXLANScenario builds a VXLAN scenario: port p0 is the container, p1
// the uplink (a routed port, 192.168.200.1/24, the VTEP), the remote VTEP
// 192.168.200.2 with VNI 100.
func NewVXLANScenario(kind string) (*Scenario, error) {
	if kind != VXLANEncap && kind != VXLANDecap {
		return nil, fmt.Errorf("perf: unknown VXLAN scenario %q", kind)
	}
	sc, err := newMemScenario(kind, 2)
	if err != nil {
		return nil, err
	}
	cfg := vswitch.Config{
		Bridges: []vswitch.Bridge{{Name: "ov", Ports: []vswitch.Port{{Name: "p0"}},
			VXLAN:      []vswitch.VNI{{VNI: 100, Remotes: []string{"192.168.200.2"}}},
			StaticMACs: []vswitch.StaticMAC{{MAC: macString(vxFarMAC), VTEP: "192.168.200.2"}}}},
		Interfaces: []vswitch.Interface{{Name: "up", Port: "p1", MAC: macString(vxUplinkMAC), Addrs: []string{"192.168.200.1/24"}}},
		Neighbors:  []vswitch.Neighbor{{Interface: "up", Addr: "192.168.200.2", MAC: macString(vxRemoteMAC)}},
		VTEP:       &vswitch.VTEP{Addr: "192.168.200.1"},
	}
	if err := sc.Switch.Reconfigure(cfg); err != nil {
		sc.Close()
		return nil, err
	}
	sc.learn(0, []uint64{vxLocalMAC}, -1)
	src, frame := 0, Frame(vxFarMAC, vxLocalMAC, -1)
	if kind == VXLANDecap {
		src, frame = 1, vxlanFrame(Frame(vxLocalMAC, vxFarMAC, -1))
	}
	return sc.feed(src, [][]byte{frame})
}

// vxlanFrame wraps inner as the remote VTEP 192.168.200.2 sends it to
// 192.168.200.1, VNI 100 (UDP checksum 0).
func vxlanFrame(inner []byte) []byte {
	b := make([]byte, 0, 50+len(inner))
	up, rem := uint64(vxUplinkMAC), uint64(vxRemoteMAC)
	b = binary.BigEndian.AppendUint16(b, uint16(up>>32))
	b = binary.BigEndian.AppendUint32(b, uint32(up))
	b = binary.BigEndian.AppendUint16(b, uint16(rem>>32))
	b = binary.BigEndian.AppendUint32(b, uint32(rem))
	b = append(b, 0x08, 0x00)
	tl := 20 + 8 + 8 + len(inner)
	b = append(b, 0x45, 0, byte(tl>>8), byte(tl), 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 168, 200, 2, 192, 168, 200, 1)
	binary.BigEndian.PutUint16(b[24:], ^csumFold(csumAdd(0, b[14:34])))
	ul := 8 + 8 + len(inner)
	b = append(b, 0xc3, 0x50, 0x12, 0xb5, byte(ul>>8), byte(ul), 0, 0) // 50000 -> 4789
	b = append(b, 0x08, 0, 0, 0, 0, 0, 100, 0)                         // I flag, VNI 100
	return append(b, inner...)
}

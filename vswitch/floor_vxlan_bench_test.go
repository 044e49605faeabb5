package vswitch

import (
	"encoding/binary"
	"testing"

	"github.com/vecswitch/vecswitch/internal/csum"
	"github.com/vecswitch/vecswitch/pipeline"
)

// BenchmarkFloorVXLANDecap is the floor under perf's BenchmarkVXLANDecap
// (issue 24's 60 ns target), built as BenchmarkFloorL2MACs1k is: the work
// that scenario cannot skip, one bare loop per vector of 256. For each of
// the same 110-byte frames (the remote VTEP 192.168.200.2 to ours,
// 192.168.200.1, VNI 100, a 60-byte inner frame): a memory port's receive
// (a fresh buffer, the copy), the outer Ethernet destination and type,
// the IPv4 header (version, length, checksum summed, TTL, protocol, our
// address), UDP to port 4789, the VXLAN flags and VNI, the source VTEP,
// stripping the 50 outer bytes, then the inner frame's learning check and
// destination lookup in the MAC table, and the sink's free. No nodes,
// dispatch, counters, route lookup or per-packet tunnel search: what the
// switch spends above this is its own.
//
//	go test ./vswitch -run '^$' -bench FloorVXLAN -benchtime 200000x
func BenchmarkFloorVXLANDecap(b *testing.B) {
	const (
		local, far     = 0x02CC00000001, 0x02CC00000002
		uplink, remote = 0x02CC000000F1, 0x02CC000000F2
		vtep, peer     = 0xC0A8C801, 0xC0A8C802
		tunnelPort     = 1
	)
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 8192})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	mt := newMACTable(minBuckets)
	mt.put(macKey(1, local), packVal(0, 0, false, 0))
	mt.put(macKey(1, far), packVal(tunnelPort, 0, false, 0))
	frame := floorVXLANFrame(uplink, remote, peer, vtep, local, far)
	var ids [pipeline.VectorSize]pipeline.BufID
	var out [pipeline.VectorSize]uint16
	meta, mem := pool.Arrays()
	moved := 0
	b.ResetTimer()
	for b.Loop() {
		n := pool.AllocN(ids[:])
		for _, id := range ids[:n] {
			off := pipeline.Offset(id) + pipeline.Headroom
			copy(mem[off:off+uint64(len(frame))], frame)
			meta[id].Len = uint16(len(frame))
		}
		for j, id := range ids[:n] {
			m := &meta[id]
			pkt := pipeline.PacketAt(mem, id, m)
			if mac48(pkt[0:6]) != uplink || binary.BigEndian.Uint16(pkt[12:]) != 0x0800 {
				b.Fatal("outer Ethernet")
			}
			ip := pkt[14:34]
			var sum uint64
			for i := 0; i < 20; i += 4 {
				sum += uint64(binary.BigEndian.Uint32(ip[i:]))
			}
			for sum > 0xFFFF {
				sum = sum&0xFFFF + sum>>16
			}
			if ip[0] != 0x45 || uint16(sum) != 0xFFFF || ip[8] == 0 || ip[9] != 17 || binary.BigEndian.Uint32(ip[16:]) != vtep ||
				int(binary.BigEndian.Uint16(ip[2:])) != len(pkt)-14 {
				b.Fatal("outer IPv4")
			}
			if binary.BigEndian.Uint16(pkt[36:]) != 4789 || pkt[42] != 0x08 || binary.BigEndian.Uint32(pkt[46:])>>8 != 100 ||
				binary.BigEndian.Uint32(ip[12:]) != peer {
				b.Fatal("VXLAN")
			}
			m.Off += 50
			m.Len -= 50
			inner := pkt[50:]
			sv, ok := mt.lookupFloor(macKey(1, mac48(inner[6:12])))
			if !ok || valPort(sv) != tunnelPort {
				b.Fatal("learning check")
			}
			dv, ok := mt.lookupFloor(macKey(1, mac48(inner[0:6])))
			if !ok {
				b.Fatal("destination")
			}
			out[j] = valPort(dv)
		}
		for j := range ids[:n] {
			if out[j] != 0 {
				b.Fatal("wrong port")
			}
		}
		pool.FreeN(ids[:n])
		moved += n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(moved), "ns/pkt")
}

// lookupFloor is the table lookup l2-fwd makes (first bucket, then the
// get), in one call.
func (t *macTable) lookupFloor(key uint64) (uint64, bool) { return t.getAt(t.first(key), key) }

// floorVXLANFrame is perf's VXLAN decap frame: outer Ethernet, IPv4 (with
// its checksum), UDP 50000 -> 4789, VXLAN VNI 100, and a 60-byte inner
// frame from far to local.
func floorVXLANFrame(dstMAC, srcMAC uint64, src, dst uint32, innerDst, innerSrc uint64) []byte {
	put48 := func(b []byte, v uint64) []byte {
		b = binary.BigEndian.AppendUint16(b, uint16(v>>32))
		return binary.BigEndian.AppendUint32(b, uint32(v))
	}
	b := put48(put48(nil, dstMAC), srcMAC)
	b = append(b, 0x08, 0x00)
	b = append(b, 0x45, 0, 0, 110-14, 0, 0, 0x40, 0, 64, 17, 0, 0)
	b = binary.BigEndian.AppendUint32(b, src)
	b = binary.BigEndian.AppendUint32(b, dst)
	binary.BigEndian.PutUint16(b[24:], ^csum.Sum(b[14:34], 0))
	b = append(b, 0xc3, 0x50, 0x12, 0xb5, 0, 110-34, 0, 0)
	b = append(b, 0x08, 0, 0, 0, 0, 0, 100, 0)
	b = put48(put48(b, innerDst), innerSrc)
	b = append(b, 0x08, 0x00)
	for len(b) < 110 {
		b = append(b, 0)
	}
	return b
}

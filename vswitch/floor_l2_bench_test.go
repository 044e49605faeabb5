package vswitch

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/vecswitch/vecswitch/pipeline"
)

// BenchmarkFloorL2MACs1k is the floor under perf's BenchmarkL2MACs1k
// (issue 24's 25 ns target): the work that scenario cannot skip, in one
// bare loop per vector of 256 with none of the pipeline's structure (no
// nodes, no dispatch, no counters, no VLAN or port-security checks, no
// learning events): a memory port's receive (a fresh buffer from the
// pool and a copy of the 60-byte frame into it, as ports/memport does),
// the destination and source lookups in a 1k-MAC table (both touched
// first, as l2-fwd does), the learning check (the source's port is the
// receiving one), and the sink's transmit (the buffers back to the pool).
// Whatever this costs on a machine, the switch cannot go below it there;
// what BenchmarkL2MACs1k spends above it is the pipeline's.
//
//	go test ./vswitch -run '^$' -bench FloorL2 -benchtime 200000x
func BenchmarkFloorL2MACs1k(b *testing.B) {
	const macs, frameLen = 1000, 60
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 8192})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	mt := newMACTable(minBuckets)
	mac := func(i int) uint64 { return uint64(0x020000000000) | uint64(i) }
	for i := range macs {
		port := uint16(1 + i%2) // half behind each of two ports
		for ok, _ := mt.put(macKey(1, mac(i)), packVal(port, 0, false, 0)); !ok; ok, _ = mt.put(macKey(1, mac(i)), packVal(port, 0, false, 0)) {
			mt = mt.grown()
		}
	}
	// 4096 frames from a MAC behind port 1 to one behind port 2.
	r := rand.New(rand.NewPCG(5, 6))
	slab := make([]byte, 4096*frameLen)
	for f := range 4096 {
		fr := slab[f*frameLen : (f+1)*frameLen]
		var d, s [8]byte
		binary.BigEndian.PutUint64(d[:], mac(2*r.IntN(macs/2)+1))
		binary.BigEndian.PutUint64(s[:], mac(2*r.IntN(macs/2)))
		copy(fr[0:6], d[2:])
		copy(fr[6:12], s[2:])
		fr[12], fr[13] = 0x08, 0x00
	}
	var ids [pipeline.VectorSize]pipeline.BufID
	var dk, sk, db, sb [pipeline.VectorSize]uint64
	var out [pipeline.VectorSize]uint16
	pos, moved := 0, 0
	meta, mem := pool.Arrays()
	b.ResetTimer()
	for b.Loop() {
		// rx
		n := pool.AllocN(ids[:])
		for j, id := range ids[:n] {
			off := pipeline.Offset(id) + pipeline.Headroom
			copy(mem[off:off+frameLen], slab[pos*frameLen:(pos+1)*frameLen])
			meta[id].Len = frameLen
			pos = (pos + 1) & 4095
			_ = j
		}
		// switch: keys, touch, lookups, learning check
		for j, id := range ids[:n] {
			pkt := pipeline.PacketAt(mem, id, &meta[id])
			dk[j] = macKey(1, binary.BigEndian.Uint64(pkt[0:8])>>16)
			sk[j] = macKey(1, binary.BigEndian.Uint64(pkt[4:12])&(1<<48-1))
			db[j], sb[j] = mt.first(dk[j]), mt.first(sk[j])
			mt.touchAt(db[j])
			mt.touchAt(sb[j])
		}
		for j := range ids[:n] {
			sv, ok := mt.getAt(sb[j], sk[j])
			if !ok || valPort(sv) != 1 {
				b.Fatal("learning check failed")
			}
			dv, ok := mt.getAt(db[j], dk[j])
			if !ok {
				b.Fatal("unknown destination")
			}
			out[j] = valPort(dv)
		}
		// tx: the sink frees the buffers
		for j := range ids[:n] {
			if out[j] != 2 {
				b.Fatal("wrong port")
			}
		}
		pool.FreeN(ids[:n])
		moved += n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(moved), "ns/pkt")
}

package vswitch

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/vecswitch/vecswitch/internal/csum"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch/internal/fib"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// BenchmarkFloorIP4Routes1M is the floor under perf's
// BenchmarkIP4Routes1M (issue 24's 40 ns target): the work routing a
// packet cannot skip, in one bare loop per vector of 256 with none of the
// pipeline's structure (no nodes, no dispatch, no counters, no interface,
// martian, MTU or neighbor-age checks): a memory port's receive (a fresh
// buffer and a copy of the 60-byte frame, as ports/memport does), the
// destinations gathered and looked up in a FIB of 1M random routes in one
// batch (fib.Table4.LookupBatch, as ip4-forward's first pass), the
// header's version, length and checksum check, the TTL decrement with
// its incremental checksum update, the MAC rewrite, and the sink's
// transmit (the buffers back to the pool). The routes and destinations
// are drawn as perf's IPv4 scenario draws them (85 % /16-/24, 7 % /8-/15,
// 8 % /25-/32, destinations inside random routes), so the tbl24 and tbl8
// access pattern is the same. What BenchmarkIP4Routes1M spends above
// this is the pipeline's; this is the machine's.
//
//	go test ./vswitch -run '^$' -bench FloorIP4 -benchtime 200000x
func BenchmarkFloorIP4Routes1M(b *testing.B) {
	const routes, frameLen, nframes = 1_000_000, 60, 1 << 18
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 8192})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	ft, err := fib.NewTable4(fib.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	defer ft.Close()
	rng := rand.New(rand.NewPCG(7, routes))
	var pfxs []netip.Prefix
	seen := map[netip.Prefix]bool{}
	for len(pfxs) < routes {
		p := floorPrefix4(rng)
		if seen[p] {
			continue
		}
		seen[p] = true
		pfxs = append(pfxs, p)
		if err := ft.Insert(p, 1); err != nil {
			b.Fatal(err)
		}
	}
	slab := make([]byte, nframes*frameLen)
	for f := range nframes {
		p := pfxs[rng.IntN(len(pfxs))]
		a := binary.BigEndian.Uint32(p.Addr().AsSlice()) | rng.Uint32()>>uint(p.Bits())
		if p.Bits() == 0 {
			a = rng.Uint32()
		}
		fr := slab[f*frameLen : (f+1)*frameLen]
		fr[12], fr[13] = 0x08, 0x00
		ip := fr[ethHdrLen:]
		ip[0], ip[8], ip[9] = 0x45, 64, proto.ProtoUDP
		binary.BigEndian.PutUint16(ip[2:], frameLen-ethHdrLen)
		binary.BigEndian.PutUint32(ip[12:], 0x0AFF0002)
		binary.BigEndian.PutUint32(ip[16:], a)
		binary.BigEndian.PutUint16(ip[10:], ^csum.Sum(ip[:20], 0))
	}
	var ids [pipeline.VectorSize]pipeline.BufID
	var nh, dst [pipeline.VectorSize]uint32
	pos, moved := 0, 0
	meta, mem := pool.Arrays()
	outMAC, gwMAC := uint64(0x02AA00000002), uint64(0x02BB00000002)
	b.ResetTimer()
	for b.Loop() {
		// rx
		n := pool.AllocN(ids[:])
		for _, id := range ids[:n] {
			off := pipeline.Offset(id) + pipeline.Headroom
			copy(mem[off:off+frameLen], slab[pos*frameLen:(pos+1)*frameLen])
			meta[id].Len = frameLen
			pos = (pos + 1) & (nframes - 1)
		}
		// route: destinations, one batch of lookups, then each packet
		for j, id := range ids[:n] {
			dst[j] = binary.BigEndian.Uint32(pipeline.PacketAt(mem, id, &meta[id])[ethHdrLen+16:])
		}
		ft.LookupBatch(nh[:n], dst[:n])
		for j, id := range ids[:n] {
			pkt := pipeline.PacketAt(mem, id, &meta[id])
			ip := pkt[ethHdrLen:]
			if ip[0] != 0x45 || int(binary.BigEndian.Uint16(ip[2:])) > len(ip) || !sum5OK(ip) || ip[8] <= 1 || nh[j] == 0 {
				b.Fatal("the usual packet refused")
			}
			proto.DecTTL4(ip)
			putMAC(pkt[0:6], gwMAC)
			putMAC(pkt[6:12], outMAC)
		}
		// tx: the sink frees the buffers
		pool.FreeN(ids[:n])
		moved += n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(moved), "ns/pkt")
}

// floorPrefix4 draws an IPv4 prefix as perf's IPv4 scenario does.
func floorPrefix4(rng *rand.Rand) netip.Prefix {
	var bits int
	switch r := rng.IntN(100); {
	case r < 85:
		bits = 16 + rng.IntN(9)
	case r < 92:
		bits = 8 + rng.IntN(8)
	default:
		bits = 25 + rng.IntN(8)
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], 1<<24+rng.Uint32()%(223<<24))
	return netip.PrefixFrom(netip.AddrFrom4(a), bits).Masked()
}

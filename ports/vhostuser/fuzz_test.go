package vhostuser

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/vecswitch/vecswitch/pipeline"
)

// fakeSys stands in for the system calls: descriptors are numbers it
// hands out, regions are heap memory filled with a pattern. It checks
// that every descriptor is closed once and every mapping unmapped once.
type fakeSys struct {
	t       testing.TB
	open    map[int]bool
	next    int
	mapped  map[*byte]bool
	total   int
	pattern []byte
}

func newFakeSys(t testing.TB, pattern []byte) *fakeSys {
	return &fakeSys{t: t, open: map[int]bool{}, next: 1000, mapped: map[*byte]bool{}, pattern: pattern}
}

func (s *fakeSys) fd() int {
	s.next++
	s.open[s.next] = true
	return s.next
}

func (s *fakeSys) mapRegion(fd int, offset, size uint64) ([]byte, []byte, error) {
	if !s.open[fd] {
		s.t.Fatalf("map of descriptor %d, not open", fd)
	}
	end := offset + size
	if end < offset || end > 1<<20 || s.total+int(end) > 4<<20 {
		return nil, nil, errors.New("too large for the fake")
	}
	m := make([]byte, end)
	if n := copy(m, s.pattern); n > 0 {
		for n < len(m) {
			n += copy(m[n:], m[:n])
		}
	}
	s.total += len(m)
	s.mapped[&m[0]] = true
	return m, m[offset:end:end], nil
}

func (s *fakeSys) unmap(m []byte) error {
	if !s.mapped[&m[0]] {
		s.t.Fatalf("unmap of a mapping not mapped")
	}
	delete(s.mapped, &m[0])
	return nil
}

func (s *fakeSys) closeFD(fd int) {
	if !s.open[fd] {
		s.t.Fatalf("close of descriptor %d, not open", fd)
	}
	delete(s.open, fd)
}

func (s *fakeSys) prepareKick(fd int) error { return nil }
func (s *fakeSys) watch(pollFD, fd int) error {
	return nil
}
func (s *fakeSys) unwatch(pollFD, fd int) {}

// FuzzMessages feeds a stream of front-end messages to a backend, as the
// port's goroutine does, then runs the data path on whatever rings it
// started over memory filled from the input. Each message is a header,
// its payload, and one byte: how many descriptors came with it. Nothing
// may panic; at the end every descriptor is closed and every mapping
// unmapped exactly once, and the pool has every buffer back.
func FuzzMessages(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 512})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { pool.Close() })
	quiet := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, in []byte) {
		sys := newFakeSys(t, in)
		c := &ctlCounters{}
		b := newBackend("fuzz", quiet, sys, 2, true, 0x020000000001, []int{-1, -1}, []int{-1, -1}, c)
		b.connect()
		for rest := in; len(rest) >= headerSize; {
			h, err := parseHeader(rest)
			rest = rest[headerSize:]
			if err != nil {
				break
			}
			payload := rest[:min(int(h.size), len(rest))]
			rest = rest[len(payload):]
			nfds := 0
			if len(rest) > 0 {
				nfds, rest = int(rest[0]%(maxFDs+1)), rest[1:]
			}
			fds := make([]int, nfds)
			for i := range fds {
				fds[i] = sys.fd()
			}
			if err := checkShape(h, payload, nfds); err != nil {
				closeFDs(sys, fds)
				break
			}
			_, err = b.handle(&message{hdr: h, payload: payload, fds: fds})
			closeFDs(sys, fds)
			if err != nil {
				break
			}
			runRings(b, pool, in)
		}
		b.disconnect()
		if len(sys.open) != 0 || len(sys.mapped) != 0 {
			t.Fatalf("left open: %d descriptors, %d mappings", len(sys.open), len(sys.mapped))
		}
		if pool.Available() != pool.Size() {
			t.Fatalf("%d buffers leaked", pool.Size()-pool.Available())
		}
	})
}

// runRings receives from every running guest transmit ring once and
// passes what came (chains and offload state included) on to the guest
// receive ring of the same pair, with a few plain frames and a chain
// whose offload metadata comes from the input.
func runRings(b *backend, pool *pipeline.Pool, in []byte) {
	ids := make([]pipeline.BufID, 64)
	var rc rxCounters
	var tc txCounters
	var ts txScratch
	for p := 0; p < len(b.slots)/2; p++ {
		n := 0
		s := &b.slots[2*p+1]
		s.lock()
		if r := s.ring; r != nil {
			held := 0
			n = r.receive(pool, ids[:32], &rc, &held)
		}
		s.unlock()
		k := pool.AllocN(ids[n : n+8])
		for j, id := range ids[n : n+k] {
			pool.SetPacket(id, make([]byte, 60+j*200))
		}
		n += k
		if id, ok := fuzzChain(pool, in); ok {
			ids[n] = id
			n++
		}
		s = &b.slots[2*p]
		s.lock()
		if r := s.ring; r != nil {
			r.transmit(pool, ids[:n], &tc, &ts)
		}
		s.unlock()
		pool.FreeN(ids[:n])
	}
}

// fuzzChain makes a chain of up to 20000 bytes of in (after its first
// 12) whose offload metadata is read from in's first 12 bytes.
func fuzzChain(pool *pipeline.Pool, in []byte) (pipeline.BufID, bool) {
	if len(in) < 12+ethHeader {
		return 0, false
	}
	data := in[12:min(len(in), 12+20000)]
	head, ok := pool.Alloc()
	if !ok {
		return 0, false
	}
	n := min(len(data), pipeline.MaxPacket)
	pool.SetPacket(head, data[:n])
	prev := head
	for rest := data[n:]; len(rest) > 0; {
		b, ok := pool.Alloc()
		if !ok {
			break
		}
		k := min(len(rest), pipeline.FrameSize)
		*pool.Meta(b) = pipeline.Meta{Len: uint16(k)}
		copy(pool.Frame(b), rest[:k])
		pool.Link(prev, b)
		prev, rest = b, rest[k:]
	}
	m := pool.Meta(head)
	m.Offload = in[0] & (pipeline.OffloadCsumPartial | pipeline.OffloadCsumValid | pipeline.OffloadGSO)
	m.GSOType, m.GSOSize = in[1], le.Uint16(in[2:])
	m.CsumStart, m.CsumOff = le.Uint16(in[4:]), le.Uint16(in[6:])
	return head, true
}

// FuzzReceiveOffload sends one frame with an arbitrary virtio-net header
// from a guest that negotiated offloads, in descriptors of an arbitrary
// size, and passes what the switch got back to the same guest, which
// takes GSO frames whole or not. Nothing may panic or leak; a frame taken
// is the frame sent, its offload state fits it, and what the guest gets
// back is the frame again or its segments.
func FuzzReceiveOffload(f *testing.F) {
	for _, k := range []gsoKind{gsoTCP4, gsoTCP6, gsoUDP4, gsoUDP6} {
		fr, h := gsoFrame(f, k, 5000, 1000)
		f.Add(encodeHdr(h, 12), fr, uint16(1000), true)
		f.Add(encodeHdr(h, 12), fr, uint16(333), false)
	}
	f.Add(make([]byte, 12), frame(64, 1), uint16(64), false)
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 1024})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { pool.Close() })
	mem := make([]byte, 2<<20)
	f.Fuzz(func(t *testing.T, hdr, fr []byte, piece uint16, whole bool) {
		if len(hdr) != 12 || len(fr) > 66000 {
			return
		}
		features := featHostOnly
		if whole {
			features = featOffload
		}
		r := ringRigOn(t, mem, pool, features, 256, 2048)
		defer func() {
			if pool.Available() != pool.Size() {
				t.Fatalf("%d buffers leaked", pool.Size()-pool.Available())
			}
		}()
		piece = max(1, min(piece, 4096))
		if (len(fr)+int(piece)-1)/int(piece) > 200 {
			return
		}
		r.tx.txChain(t, hdr, fr, int(piece))
		r.tx.publish()
		ids := r.rxIDs(t)
		if len(ids) == 0 {
			return
		}
		if len(ids) != 1 {
			t.Fatalf("%d frames from one chain", len(ids))
		}
		id := ids[0]
		m := *r.pool.Meta(id)
		if got := chainBytes(r.pool, id); !bytes.Equal(got, fr) {
			r.pool.FreeN(ids)
			t.Fatalf("frame of %d bytes came as %d bytes", len(fr), len(got))
		}
		if m.Offload&pipeline.OffloadCsumPartial != 0 && int(m.CsumStart)+int(m.CsumOff)+2 > len(fr) {
			r.pool.FreeN(ids)
			t.Fatalf("checksum field beyond the frame: %+v", m)
		}
		if m.Next != 0 && m.Offload&pipeline.OffloadGSO == 0 {
			r.pool.FreeN(ids)
			t.Fatal("a chain without GSO")
		}
		r.rx.postRx(200, 2048)
		sent := r.txIDs(id)
		frames, _ := r.rx.rxFrames(t, 12)
		if len(frames) != sent {
			t.Fatalf("%d frames sent, the guest got %d", sent, len(frames))
		}
		if m.Offload&pipeline.OffloadGSO == 0 && sent == 1 && m.Offload&pipeline.OffloadCsumPartial == 0 && !bytes.Equal(frames[0], fr) {
			t.Fatal("a plain frame changed on its way")
		}
	})
}

// fuzzSeeds are message streams: a whole handshake that starts both rings
// of pair 0 over memory the fuzzer fills, and a few broken ones.
func fuzzSeeds() [][]byte {
	msg := func(req uint32, payload []byte, nfds byte) []byte {
		b := le.AppendUint32(nil, req)
		b = le.AppendUint32(b, flagVersion)
		b = le.AppendUint32(b, uint32(len(payload)))
		return append(append(b, payload...), nfds)
	}
	table := le.AppendUint32(le.AppendUint32(nil, 1), 0)
	table = le.AppendUint64(table, 0x1000)  // gpa
	table = le.AppendUint64(table, 0x10000) // size
	table = le.AppendUint64(table, 0x1000)  // uva = gpa
	table = le.AppendUint64(table, 0)
	var hs []byte
	hs = append(hs, msg(reqGetFeatures, nil, 0)...)
	hs = append(hs, msg(reqSetFeatures, u64(featModern|bit(featProtocolFeatures)|bit(featRingEventIdx)|offloadFeatures), 0)...)
	hs = append(hs, msg(reqSetProtocolFeatures, u64(offeredProtocolFeatures()), 0)...)
	hs = append(hs, msg(reqSetOwner, nil, 0)...)
	hs = append(hs, msg(reqSetMemTable, table, 1)...)
	for i := range uint32(2) {
		base := uint64(0x1000 + 0x4000*i)
		hs = append(hs, msg(reqSetVringNum, state(i, 64), 0)...)
		hs = append(hs, msg(reqSetVringBase, state(i, 0), 0)...)
		a := le.AppendUint32(le.AppendUint32(nil, i), 0)
		a = le.AppendUint64(a, base)        // desc
		a = le.AppendUint64(a, base+0x1000) // used
		a = le.AppendUint64(a, base+0x400)  // avail
		a = le.AppendUint64(a, 0)
		hs = append(hs, msg(reqSetVringAddr, a, 0)...)
		hs = append(hs, msg(reqSetVringKick, u64(uint64(i)), 1)...)
		hs = append(hs, msg(reqSetVringCall, u64(uint64(i)|vringNoFD), 0)...)
		hs = append(hs, msg(reqSetVringEnable, state(i, 1), 0)...)
	}
	after := append(append([]byte(nil), hs...), msg(reqGetVringBase, state(1, 0), 0)...)
	after = append(after, msg(reqSendRARP, make([]byte, 8), 0)...)
	after = append(after, msg(reqResetOwner, nil, 0)...)
	return [][]byte{
		hs,
		after,
		append(append([]byte(nil), hs...), msg(reqSetMemTable, table, 1)...),
		msg(reqSetMemTable, table, 0),
		msg(reqSetVringKick, u64(300), 1),
		msg(99, nil, 0),
	}
}

// TestFuzzSeedStartsRings checks that the handshake seed reaches the data
// path, so the fuzzer starts from running rings.
func TestFuzzSeedStartsRings(t *testing.T) {
	sys := newFakeSys(t, nil)
	b := newBackend("seed", slog.New(slog.DiscardHandler), sys, 2, true, 0, []int{-1, -1}, []int{-1, -1}, &ctlCounters{})
	b.connect()
	in := fuzzSeeds()[0]
	for len(in) > 0 {
		h, err := parseHeader(in)
		if err != nil {
			t.Fatal(err)
		}
		payload := in[headerSize : headerSize+int(h.size)]
		fds := make([]int, in[headerSize+int(h.size)])
		for i := range fds {
			fds[i] = sys.fd()
		}
		in = in[headerSize+int(h.size)+1:]
		if err := checkShape(h, payload, len(fds)); err != nil {
			t.Fatal(err)
		}
		if _, err := b.handle(&message{hdr: h, payload: payload, fds: fds}); err != nil {
			t.Fatal(err)
		}
		closeFDs(sys, fds)
	}
	if s := b.status(); s.RunningRings != 2 {
		t.Fatalf("status %+v", s)
	}
	b.disconnect()
	if len(sys.open)+len(sys.mapped) != 0 {
		t.Fatal("leaked")
	}
}

package pcapng

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/stretchr/testify/require"
)

// frame returns n bytes of recognizable content.
func frame(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)

// sample is a capture on two interfaces exercising every packet option and
// all four padding remainders.
func sample() (ifaces []struct {
	name    string
	snaplen int
}, pkts []Packet) {
	ifaces = []struct {
		name    string
		snaplen int
	}{{"eth0", 128}, {"port-β", 0}}
	pkts = []Packet{
		{Interface: 0, Time: t0, Data: frame(60, 1), Dir: Inbound},
		{Interface: 1, Time: t0.Add(1), Data: frame(61, 2), Dir: Outbound, Comment: "drop: l2-fwd no-route"},
		{Interface: 0, Time: t0.Add(time.Second + 2), Data: frame(62, 3), OrigLen: 62},
		{Interface: 1, Time: t0.Add(3 * time.Second), Data: frame(63, 4), Comment: "odd"},
		{Interface: 0, Time: t0.Add(4 * time.Second), Data: frame(128, 5), OrigLen: 1514, Dir: Inbound, Comment: "truncated ✓"},
		{Interface: 1, Time: t0.Add(5 * time.Second), Data: frame(9000, 6), Dir: Outbound},
		{Interface: 0, Time: t0.Add(6 * time.Second), Data: nil, OrigLen: 64, Dir: Outbound},
	}
	return ifaces, pkts
}

// writeSample writes sample() to a buffer.
func writeSample(t *testing.T, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, opts)
	require.NoError(t, err)
	ifaces, pkts := sample()
	for i, ifc := range ifaces {
		id, err := w.AddInterface(ifc.name, ifc.snaplen)
		require.NoError(t, err)
		require.Equal(t, i, id)
	}
	for _, p := range pkts {
		require.NoError(t, w.WritePacket(p))
	}
	require.NoError(t, w.Flush())
	require.Equal(t, int64(buf.Len()), w.Written())
	return buf.Bytes()
}

func origLen(p Packet) int {
	if p.OrigLen == 0 {
		return len(p.Data)
	}
	return p.OrigLen
}

// readAll reads every packet of file with gopacket's NgReader.
func readAll(t *testing.T, file []byte) (*pcapgo.NgReader, [][]byte, []Packet) {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.DefaultNgReaderOptions)
	require.NoError(t, err)
	var datas [][]byte
	var got []Packet
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return r, datas, got
		}
		require.NoError(t, err)
		require.Equal(t, ci.CaptureLength, len(data))
		datas = append(datas, data)
		got = append(got, Packet{Interface: ci.InterfaceIndex, Time: ci.Timestamp, Data: data, OrigLen: ci.Length})
	}
}

func TestRoundTripNgReader(t *testing.T) {
	file := writeSample(t, Options{Hardware: "x86_64", OS: "Linux"})
	ifaces, pkts := sample()
	r, _, got := readAll(t, file)

	require.Equal(t, "vecswitch", r.SectionInfo().Application)
	require.Equal(t, "x86_64", r.SectionInfo().Hardware)
	require.Equal(t, "Linux", r.SectionInfo().OS)
	require.Equal(t, layers.LinkTypeEthernet, r.LinkType())
	require.Equal(t, len(ifaces), r.NInterfaces())
	for i, want := range ifaces {
		ifc, err := r.Interface(i)
		require.NoError(t, err)
		require.Equal(t, want.name, ifc.Name)
		require.Equal(t, uint32(want.snaplen), ifc.SnapLength)
		require.Equal(t, pcapgo.NgResolution(9), ifc.TimestampResolution)
		require.Equal(t, layers.LinkTypeEthernet, ifc.LinkType)
	}

	require.Len(t, got, len(pkts))
	for i, p := range pkts {
		require.Equal(t, p.Interface, got[i].Interface, "packet %d interface", i)
		require.Equal(t, p.Time.UnixNano(), got[i].Time.UnixNano(), "packet %d time", i)
		require.Equal(t, len(p.Data), len(got[i].Data), "packet %d captured length", i)
		if len(p.Data) > 0 {
			require.Equal(t, p.Data, got[i].Data, "packet %d data", i)
		}
		require.Equal(t, origLen(p), got[i].OrigLen, "packet %d original length", i)
	}
}

func TestBlocks(t *testing.T) {
	file := writeSample(t, Options{App: "vecswitch-test"})
	ifaces, pkts := sample()
	blocks, err := parseFile(file)
	require.NoError(t, err)
	require.Len(t, blocks, 1+len(ifaces)+len(pkts))

	shb := blocks[0]
	require.NoError(t, shb.checkSHB())
	require.Equal(t, "vecswitch-test", string(shb.option(shbUserAppl)))
	require.Nil(t, shb.option(shbHardware), "empty Hardware is not written")
	require.Nil(t, shb.option(shbOS), "empty OS is not written")

	for i, want := range ifaces {
		idb := blocks[1+i]
		require.Equal(t, uint32(blockIDB), idb.typ)
		require.Equal(t, []byte{linkTypeEther, 0, 0, 0}, idb.body[:4], "link type, reserved")
		require.Equal(t, uint32(want.snaplen), leUint32(idb.body[4:]))
		require.Equal(t, want.name, string(idb.option(ifName)))
		require.Equal(t, []byte{9}, idb.option(ifTsresol))
	}

	for i, p := range pkts {
		b := blocks[1+len(ifaces)+i]
		require.Equal(t, uint32(blockEPB), b.typ, "packet %d", i)
		e := b.epb()
		require.Equal(t, uint32(p.Interface), e.iface, "packet %d", i)
		require.Equal(t, uint64(p.Time.UnixNano()), e.ts, "packet %d", i)
		require.Equal(t, len(p.Data), len(e.data), "packet %d", i)
		require.Equal(t, uint32(origLen(p)), e.origLen, "packet %d", i)
		if p.Dir == Unknown {
			require.Nil(t, e.flags, "packet %d: no epb_flags", i)
		} else {
			require.Len(t, b.option(epbFlags), 4, "packet %d: epb_flags size", i)
			require.Equal(t, uint32(p.Dir), *e.flags, "packet %d: epb_flags", i)
		}
		if p.Comment == "" {
			require.Empty(t, e.comment, "packet %d", i)
		} else {
			require.Equal(t, []string{p.Comment}, e.comment, "packet %d", i)
		}
		if p.Dir == Unknown && p.Comment == "" {
			require.Empty(t, b.opts, "packet %d: no options", i)
		}
	}
}

func leUint32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func TestWritePacketErrors(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Options{})
	require.NoError(t, err)
	_, err = w.AddInterface("eth0", 64)
	require.NoError(t, err)
	ok := Packet{Time: t0, Data: frame(64, 0)}
	require.NoError(t, w.WritePacket(ok))
	before := w.Written()

	for _, tc := range []struct {
		name string
		edit func(p *Packet)
		want error
	}{
		{"unknown interface", func(p *Packet) { p.Interface = 1 }, ErrUnknownInterface},
		{"negative interface", func(p *Packet) { p.Interface = -1 }, ErrUnknownInterface},
		{"over snaplen", func(p *Packet) { p.Data = frame(65, 0) }, ErrInvalid},
		{"orig below captured", func(p *Packet) { p.OrigLen = 10 }, ErrInvalid},
		{"orig too large", func(p *Packet) { p.OrigLen = math.MaxUint32 + 1 }, ErrInvalid},
		{"before epoch", func(p *Packet) { p.Time = time.Unix(-1, 0) }, ErrInvalid},
		{"zero time", func(p *Packet) { p.Time = time.Time{} }, ErrInvalid},
		{"bad direction", func(p *Packet) { p.Dir = 3 }, ErrInvalid},
		{"long comment", func(p *Packet) { p.Comment = strings.Repeat("x", 65536) }, ErrInvalid},
		{"comment not UTF-8", func(p *Packet) { p.Comment = "\xff" }, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.edit(&p)
			require.ErrorIs(t, w.WritePacket(p), tc.want)
			require.Equal(t, before, w.Written(), "nothing written")
		})
	}

	// The writer is still usable, and the longest comment is fine.
	require.NoError(t, w.WritePacket(Packet{Time: t0, Data: frame(3, 0), Comment: strings.Repeat("x", 65535)}))
	require.NoError(t, w.Flush())
	_, _, got := readAll(t, buf.Bytes())
	require.Len(t, got, 2)
	blocks, err := parseFile(buf.Bytes())
	require.NoError(t, err)
	require.Equal(t, []string{strings.Repeat("x", 65535)}, blocks[len(blocks)-1].epb().comment)
}

func TestSetupErrors(t *testing.T) {
	_, err := NewWriter(io.Discard, Options{MaxBytes: -1})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = NewWriter(io.Discard, Options{OS: "\xff"})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = NewWriter(io.Discard, Options{MaxBytes: 16})
	require.ErrorIs(t, err, ErrFull, "section header does not fit")

	w, err := NewWriter(io.Discard, Options{})
	require.NoError(t, err)
	_, err = w.AddInterface("eth0", -1)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = w.AddInterface(strings.Repeat("n", 65536), 0)
	require.ErrorIs(t, err, ErrInvalid)
	id, err := w.AddInterface("", 0) // unnamed is allowed
	require.NoError(t, err)
	require.Zero(t, id, "failed AddInterface calls use no ID")
}

// errWriter fails after n bytes.
type errWriter struct{ n int }

var errBroken = errors.New("broken pipe")

func (e *errWriter) Write(b []byte) (int, error) {
	if len(b) > e.n {
		n := e.n
		e.n = 0
		return n, errBroken
	}
	e.n -= len(b)
	return len(b), nil
}

func TestIOErrorSticky(t *testing.T) {
	w, err := NewWriter(&errWriter{n: 60}, Options{}) // fails within the IDB
	require.NoError(t, err)
	_, err = w.AddInterface("eth0", 0)
	require.NoError(t, err)
	require.ErrorIs(t, w.Flush(), errBroken)
	require.ErrorIs(t, w.WritePacket(Packet{Time: t0, Data: frame(10, 0)}), errBroken)
	_, err = w.AddInterface("eth1", 0)
	require.ErrorIs(t, err, errBroken)
	require.ErrorIs(t, w.Flush(), errBroken)
}

func TestMaxBytes(t *testing.T) {
	// Size of the file with the header, one interface and k packets.
	pkt := func(i int) Packet {
		return Packet{Time: t0.Add(time.Duration(i)), Data: frame(61+i%4, byte(i)), Dir: Inbound, Comment: "c"}
	}
	sizes := []int64{}
	{
		w, err := NewWriter(io.Discard, Options{})
		require.NoError(t, err)
		_, err = w.AddInterface("eth0", 0)
		require.NoError(t, err)
		sizes = append(sizes, w.Written())
		for i := range 10 {
			require.NoError(t, w.WritePacket(pkt(i)))
			sizes = append(sizes, w.Written())
		}
	}

	for _, tc := range []struct {
		name string
		max  int64
		want int // packets accepted
	}{
		{"exact bound after 5", sizes[5], 5},
		{"one byte short of 6", sizes[6] - 1, 5},
		{"no room for packets", sizes[0], 0},
		{"no room for the interface", sizes[0] - 1, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, Options{MaxBytes: tc.max})
			require.NoError(t, err)
			_, err = w.AddInterface("eth0", 0)
			if tc.want < 0 {
				require.ErrorIs(t, err, ErrFull)
			} else {
				require.NoError(t, err)
			}
			n := 0
			for i := 0; ; i++ {
				err := w.WritePacket(pkt(i))
				if err != nil {
					if tc.want >= 0 {
						require.ErrorIs(t, err, ErrFull)
					}
					break
				}
				n++
			}
			require.Equal(t, max(tc.want, 0), n)
			require.LessOrEqual(t, w.Written(), tc.max)

			// Sticky: even a tiny packet or an interface is refused now.
			if tc.want >= 0 {
				require.ErrorIs(t, w.WritePacket(Packet{Time: t0}), ErrFull)
			}
			_, err = w.AddInterface("x", 0)
			require.ErrorIs(t, err, ErrFull)

			require.NoError(t, w.Flush())
			require.Equal(t, w.Written(), int64(buf.Len()))
			_, err = parseFile(buf.Bytes())
			require.NoError(t, err, "no partial block")
			if tc.want >= 0 {
				_, _, got := readAll(t, buf.Bytes())
				require.Len(t, got, n)
			}
		})
	}
}

// TestRandomRoundTrip writes random packets and checks that NgReader and
// the independent block parser read back exactly what was written.
func TestRandomRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 50 {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, Options{})
		require.NoError(t, err)
		nIf := 1 + rng.IntN(4)
		snaps := make([]int, nIf)
		for i := range snaps {
			snaps[i] = []int{0, 64, 65, 1518, 65535}[rng.IntN(5)]
			_, err := w.AddInterface("if"+string(rune('a'+i)), snaps[i])
			require.NoError(t, err)
		}
		var pkts []Packet
		for range rng.IntN(40) {
			ifc := rng.IntN(nIf)
			limit := 2000
			if snaps[ifc] != 0 {
				limit = snaps[ifc]
			}
			p := Packet{
				Interface: ifc,
				Time:      time.Unix(rng.Int64N(1<<34), rng.Int64N(1e9)),
				Data:      frame(rng.IntN(limit+1), byte(rng.Uint32())),
				Dir:       Direction(rng.IntN(3)),
			}
			if rng.IntN(2) == 0 {
				p.OrigLen = len(p.Data) + rng.IntN(3000)
			}
			if rng.IntN(3) == 0 {
				p.Comment = strings.Repeat("drop ", rng.IntN(5)) + string(rune('A'+rng.IntN(26)))
			}
			require.NoError(t, w.WritePacket(p))
			pkts = append(pkts, p)
		}
		require.NoError(t, w.Flush())
		checkRoundTrip(t, buf.Bytes(), pkts, "iteration %d", iter)
	}
}

// checkRoundTrip checks file holds pkts according to both readers.
func checkRoundTrip(t *testing.T, file []byte, pkts []Packet, msgAndArgs ...any) {
	t.Helper()
	_, _, got := readAll(t, file)
	require.Len(t, got, len(pkts), msgAndArgs...)
	blocks, err := parseFile(file)
	require.NoError(t, err, msgAndArgs...)
	epbs := blocks[len(blocks)-len(pkts):]
	for i, p := range pkts {
		require.Equal(t, p.Interface, got[i].Interface, msgAndArgs...)
		require.Equal(t, p.Time.UnixNano(), got[i].Time.UnixNano(), msgAndArgs...)
		require.True(t, bytes.Equal(p.Data, got[i].Data), msgAndArgs...)
		require.Equal(t, origLen(p), got[i].OrigLen, msgAndArgs...)
		e := epbs[i].epb()
		require.True(t, bytes.Equal(p.Data, e.data), msgAndArgs...)
		if p.Dir == Unknown {
			require.Nil(t, e.flags, msgAndArgs...)
		} else {
			require.NotNil(t, e.flags, msgAndArgs...)
			require.Equal(t, uint32(p.Dir), *e.flags, msgAndArgs...)
		}
		if p.Comment != "" {
			require.Equal(t, []string{p.Comment}, e.comment, msgAndArgs...)
		} else {
			require.Empty(t, e.comment, msgAndArgs...)
		}
	}
}

// FuzzWritePacket writes one packet built from the fuzzer's input; a
// packet the writer accepts must read back exactly, and a refused one
// must leave nothing behind.
func FuzzWritePacket(f *testing.F) {
	f.Add([]byte{}, uint16(0), uint8(0), "", int64(0), uint16(0))
	f.Add(frame(61, 0), uint16(1453), uint8(1), "drop: no route", int64(1741064767123456789), uint16(128))
	f.Add(frame(63, 0), uint16(0), uint8(2), "\xff", int64(-1), uint16(62))
	f.Add(frame(3, 0), uint16(0), uint8(3), "é", int64(1), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, extra uint16, dir uint8, comment string, ns int64, snaplen uint16) {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, Options{})
		require.NoError(t, err)
		_, err = w.AddInterface("eth0", int(snaplen))
		require.NoError(t, err)
		require.NoError(t, w.Flush())
		header := buf.Len()
		p := Packet{
			Time:    time.Unix(0, ns),
			Data:    data,
			OrigLen: len(data) + int(extra),
			Dir:     Direction(dir),
			Comment: comment,
		}
		err = w.WritePacket(p)
		require.NoError(t, w.Flush())
		if err != nil {
			require.ErrorIs(t, err, ErrInvalid)
			require.Equal(t, header, buf.Len(), "refused packet wrote something")
			return
		}
		checkRoundTrip(t, buf.Bytes(), []Packet{p})
	})
}

// TestWritePacketAllocations checks that WritePacket allocates nothing in
// steady state.
func TestWritePacketAllocations(t *testing.T) {
	w, err := NewWriter(io.Discard, Options{})
	require.NoError(t, err)
	_, err = w.AddInterface("eth0", 0)
	require.NoError(t, err)
	p := Packet{Time: t0, Data: frame(1514, 0), OrigLen: 1514, Dir: Outbound, Comment: "drop: ttl expired"}
	require.NoError(t, w.WritePacket(p))
	allocs := testing.AllocsPerRun(100, func() {
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs, "allocations per WritePacket")
}

func BenchmarkWritePacket(b *testing.B) {
	w, err := NewWriter(io.Discard, Options{})
	require.NoError(b, err)
	_, err = w.AddInterface("eth0", 0)
	require.NoError(b, err)
	p := Packet{Time: t0, Data: frame(64, 0), Dir: Inbound, Comment: "drop: l2-fwd no-route"}
	b.ReportAllocs()
	b.SetBytes(int64(len(p.Data)))
	for b.Loop() {
		if err := w.WritePacket(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

package vhostuser

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func hdr(req, flags, size uint32) []byte {
	return le.AppendUint32(le.AppendUint32(le.AppendUint32(nil, req), flags), size)
}

func TestParseHeader(t *testing.T) {
	h, err := parseHeader(hdr(reqSetFeatures, flagVersion|flagNeedReply, 8))
	require.NoError(t, err)
	require.Equal(t, msgHeader{req: reqSetFeatures, flags: flagVersion | flagNeedReply, size: 8}, h)
	for name, b := range map[string][]byte{
		"short":     hdr(1, 1, 0)[:11],
		"version 0": hdr(1, 0, 0),
		"version 2": hdr(1, 2, 0),
		"reply":     hdr(1, flagVersion|flagReply, 0),
		"too big":   hdr(1, 1, maxPayload+1),
		"huge":      hdr(1, 1, 1<<31),
	} {
		_, err := parseHeader(b)
		require.ErrorIs(t, err, ErrProtocol, name)
	}
}

func TestCheckShape(t *testing.T) {
	mt := func(n uint32, regions int) []byte {
		return append(le.AppendUint32(le.AppendUint32(nil, n), 0), make([]byte, 32*regions)...)
	}
	for _, tc := range []struct {
		name    string
		req     uint32
		payload []byte
		fds     int
		ok      bool
	}{
		{"get features", reqGetFeatures, nil, 0, true},
		{"get features with a payload", reqGetFeatures, make([]byte, 8), 0, true},
		{"get features with a descriptor", reqGetFeatures, nil, 1, false},
		{"set features", reqSetFeatures, make([]byte, 8), 0, true},
		{"set features short", reqSetFeatures, make([]byte, 7), 0, false},
		{"set features long", reqSetFeatures, make([]byte, 9), 0, false},
		{"memory table", reqSetMemTable, mt(2, 2), 2, true},
		{"memory table of 8", reqSetMemTable, mt(8, 8), 8, true},
		{"memory table of 9", reqSetMemTable, mt(9, 9), 9, false},
		{"memory table empty", reqSetMemTable, mt(0, 0), 0, false},
		{"memory table header only", reqSetMemTable, make([]byte, 4), 0, false},
		{"memory table short", reqSetMemTable, mt(2, 1), 2, false},
		{"memory table fds short", reqSetMemTable, mt(2, 2), 1, false},
		{"vring addr", reqSetVringAddr, make([]byte, 40), 0, true},
		{"vring addr short", reqSetVringAddr, make([]byte, 39), 0, false},
		{"vring num", reqSetVringNum, make([]byte, 8), 0, true},
		{"kick", reqSetVringKick, u64(3), 1, true},
		{"kick no fd", reqSetVringKick, u64(3 | vringNoFD), 0, true},
		{"kick no fd but one", reqSetVringKick, u64(3 | vringNoFD), 1, false},
		{"kick missing fd", reqSetVringKick, u64(3), 0, false},
		{"kick two fds", reqSetVringKick, u64(3), 2, false},
		{"kick reserved bits", reqSetVringKick, u64(1 << 9), 1, false},
		{"err", reqSetVringErr, u64(0), 1, true},
		{"rarp", reqSendRARP, make([]byte, 8), 0, true},
		{"log base", reqSetLogBase, make([]byte, 16), 1, false},
		{"mtu", reqNetSetMTU, make([]byte, 8), 0, false},
		{"unknown", 200, nil, 0, false},
	} {
		err := checkShape(msgHeader{req: tc.req, flags: flagVersion, size: uint32(len(tc.payload))}, tc.payload, tc.fds)
		if tc.ok {
			require.NoError(t, err, tc.name)
		} else {
			require.ErrorIs(t, err, ErrProtocol, tc.name)
		}
	}
}

func TestDecodeMemTable(t *testing.T) {
	table := func(regs ...memRegion) []byte {
		p := le.AppendUint32(le.AppendUint32(nil, uint32(len(regs))), 0)
		for _, r := range regs {
			p = le.AppendUint64(p, r.gpa)
			p = le.AppendUint64(p, r.size)
			p = le.AppendUint64(p, r.uva)
			p = le.AppendUint64(p, r.offset)
		}
		return p
	}
	good := []memRegion{{gpa: 0, size: 0xa0000, uva: 0x7f0000000000, offset: 0}, {gpa: 0x100000, size: 1 << 30, uva: 0x7f0000100000, offset: 0x100000}}
	got, err := decodeMemTable(table(good...))
	require.NoError(t, err)
	require.Equal(t, good, got)
	for name, regs := range map[string][]memRegion{
		"empty region":   {{gpa: 0, size: 0, uva: 0}},
		"gpa wraps":      {{gpa: ^uint64(0) - 10, size: 100, uva: 0}},
		"gpa ends at 0":  {{gpa: 1 << 63, size: 1 << 63, uva: 0}},
		"uva wraps":      {{gpa: 0, size: 100, uva: ^uint64(0)}},
		"offset wraps":   {{gpa: 0, size: 100, uva: 0, offset: ^uint64(0) - 50}},
		"too large":      {{gpa: 0, size: 1 << 47, uva: 0}},
		"gpa overlap":    {{gpa: 0, size: 0x2000, uva: 0}, {gpa: 0x1000, size: 0x1000, uva: 0x10000}},
		"uva overlap":    {{gpa: 0, size: 0x1000, uva: 0x10000}, {gpa: 0x1000, size: 0x1000, uva: 0x10800}},
		"same region 2x": {good[1], good[1]},
	} {
		_, err := decodeMemTable(table(regs...))
		require.ErrorIs(t, err, ErrProtocol, name)
	}
}

func TestEncodeReply(t *testing.T) {
	b := encodeU64Reply(nil, reqGetFeatures, 0x1122334455667788)
	require.Equal(t, append(hdr(reqGetFeatures, flagVersion|flagReply, 8), 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11), b)
}

func TestMemoryTranslation(t *testing.T) {
	a, b := make([]byte, 0x1000), make([]byte, 0x1000)
	m := &guestMem{regions: []region{
		{gpa: 0x10000, uva: 0x500000, size: 0x1000, data: a},
		{gpa: 0x11000, uva: 0x900000, size: 0x1000, data: b}, // adjacent in guest memory
	}}
	s, ok := m.gpa(0x10ff0, 16)
	require.True(t, ok)
	require.Len(t, s, 16)
	_, ok = m.gpa(0x10ff0, 17) // crosses into the next region
	require.False(t, ok)
	_, ok = m.gpa(0xffff, 1)
	require.False(t, ok)
	_, ok = m.gpa(0x12000, 1)
	require.False(t, ok)
	_, ok = m.gpa(0x10000, ^uint64(0))
	require.False(t, ok)
	s, ok = m.uva(0x900ffe, 2)
	require.True(t, ok)
	require.Equal(t, &b[0xffe], &s[0])
	_, ok = m.uva(0x900ffe, 3)
	require.False(t, ok)
	_, ok = m.uva(0x4fffff, 2)
	require.False(t, ok)

	// Copies follow a range across adjacent regions, and no further.
	src := frame(32, 1)
	require.True(t, m.write(0x10ff0, src))
	require.Equal(t, src[:16], a[0xff0:])
	require.Equal(t, src[16:], b[:16])
	dst := make([]byte, 32)
	require.True(t, m.read(dst, 0x10ff0))
	require.Equal(t, src, dst)
	require.True(t, m.mapped(0x10000, 0x2000))
	require.False(t, m.mapped(0x10000, 0x2001))
	require.False(t, m.write(0x11ff0, src), "runs off the end")
	require.False(t, m.read(dst, 0x12000))
	require.False(t, m.mapped(0xfff0, 0x20))
}

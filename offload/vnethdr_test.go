package offload

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVnetHdrWireFormat(t *testing.T) {
	h := VnetHdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv4 | GSOECN, HdrLen: 0x0142, GSOSize: 0x05A8,
		CsumStart: 0x0022, CsumOffset: 16, NumBuffers: 0x0203}
	b := make([]byte, HdrLenMrg)
	require.Equal(t, HdrLen, h.Encode(b))
	require.Equal(t, []byte{1, 0x81, 0x42, 0x01, 0xA8, 0x05, 0x22, 0, 16, 0, 0, 0}, b, "little-endian")
	require.Equal(t, HdrLenMrg, h.EncodeMrg(b))
	require.Equal(t, []byte{3, 2}, b[10:])

	var g VnetHdr
	require.NoError(t, g.DecodeMrg(b))
	require.Equal(t, h, g)
	require.NoError(t, g.Decode(b))
	h.NumBuffers = 0
	require.Equal(t, h, g)

	require.Zero(t, h.Encode(b[:HdrLen-1]))
	require.Zero(t, h.EncodeMrg(b[:HdrLenMrg-1]))
	require.ErrorIs(t, g.Decode(b[:HdrLen-1]), ErrShort)
	require.ErrorIs(t, g.DecodeMrg(b[:HdrLenMrg-1]), ErrShort)
}

func TestVnetHdrValidate(t *testing.T) {
	tcp := VnetHdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	udp := VnetHdr{Flags: FlagNeedsCsum, GSOType: GSOUDPL4, GSOSize: 1472, CsumStart: 34, CsumOffset: 6}
	with := func(h VnetHdr, f func(*VnetHdr)) VnetHdr { f(&h); return h }
	for name, c := range map[string]struct {
		h   VnetHdr
		err error
	}{
		"plain":                {VnetHdr{}, nil},
		"data valid":           {VnetHdr{Flags: FlagDataValid}, nil},
		"partial, any offset":  {VnetHdr{Flags: FlagNeedsCsum, CsumStart: 1, CsumOffset: 3}, nil},
		"TCPv4":                {tcp, nil},
		"TCPv6 ECN":            {with(tcp, func(h *VnetHdr) { h.GSOType = GSOTCPv6 | GSOECN }), nil},
		"TCP without csum":     {with(tcp, func(h *VnetHdr) { h.Flags, h.CsumOffset = 0, 0 }), nil},
		"UDP L4":               {udp, nil},
		"UFO":                  {VnetHdr{GSOType: GSOUDP, GSOSize: 1000}, nil},
		"unknown flag":         {VnetHdr{Flags: 4}, ErrBadFlags},
		"unknown GSO type":     {with(tcp, func(h *VnetHdr) { h.GSOType = 2 }), ErrBadGSOType},
		"GSO type 6":           {with(tcp, func(h *VnetHdr) { h.GSOType = 6 }), ErrBadGSOType},
		"ECN alone":            {VnetHdr{GSOType: GSOECN}, ErrBadGSOType},
		"ECN with UDP L4":      {with(udp, func(h *VnetHdr) { h.GSOType |= GSOECN }), ErrBadGSOType},
		"ECN with UFO":         {VnetHdr{GSOType: GSOUDP | GSOECN, GSOSize: 1}, ErrBadGSOType},
		"GSO size 0":           {with(tcp, func(h *VnetHdr) { h.GSOSize = 0 }), ErrBadGSOSize},
		"GSO by frags":         {with(tcp, func(h *VnetHdr) { h.GSOSize = 0xFFFF }), ErrBadGSOSize},
		"TCP csum offset 6":    {with(tcp, func(h *VnetHdr) { h.CsumOffset = 6 }), ErrBadCsumOffset},
		"UDP csum offset 16":   {with(udp, func(h *VnetHdr) { h.CsumOffset = 16 }), ErrBadCsumOffset},
		"UDP L4 without csum":  {with(udp, func(h *VnetHdr) { h.Flags = 0 }), ErrBadCsumOffset},
		"UDP L4 with only DV":  {with(udp, func(h *VnetHdr) { h.Flags = FlagDataValid }), ErrBadCsumOffset},
		"TCP size but no type": {VnetHdr{GSOSize: 1448}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.h.Validate()
			b := make([]byte, HdrLen)
			c.h.Encode(b)
			var g VnetHdr
			derr := g.Decode(b)
			if c.err == nil {
				require.NoError(t, err)
				require.NoError(t, derr)
				return
			}
			require.ErrorIs(t, err, c.err)
			require.ErrorIs(t, derr, c.err)
			require.Equal(t, c.h, g, "Decode fills h even when it refuses it")
			var e Error
			require.True(t, errors.As(err, &e))
			require.Equal(t, c.err, e)
		})
	}
}

func TestShift(t *testing.T) {
	h := VnetHdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, HdrLen: 66, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	h.Shift(50)
	require.Equal(t, VnetHdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, HdrLen: 116, GSOSize: 1448, CsumStart: 84, CsumOffset: 16}, h)
	h = VnetHdr{}
	h.Shift(50)
	require.Equal(t, VnetHdr{}, h, "no offsets to move")
}

func TestErrorText(t *testing.T) {
	seen := map[string]bool{}
	for e := Error(1); e < numErrors; e++ {
		s := e.Error()
		require.NotEmpty(t, s)
		require.False(t, seen[s], "duplicate text %q", s)
		seen[s] = true
	}
	require.Equal(t, "offload: unknown error", Error(200).Error())
	require.NoError(t, Error(0).err())
}

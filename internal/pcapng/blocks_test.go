package pcapng

import (
	"encoding/binary"
	"fmt"
	"math"
)

// This file is a small pcapng reader written from the spec, independent of
// the writer, for checking what gopacket's NgReader does not expose
// (options) and the framing rules it does not check.

type option struct {
	code uint16
	val  []byte
}

type block struct {
	typ  uint32
	body []byte // between the leading total length and the options
	opts []option
}

// epb is a decoded Enhanced Packet Block.
type epb struct {
	iface   uint32
	ts      uint64
	data    []byte
	origLen uint32
	flags   *uint32
	comment []string
}

// parseFile splits a little-endian pcapng file into blocks, checking the
// framing: 32-bit alignment, equal leading and trailing lengths, zero
// padding, terminated option lists, no trailing bytes.
func parseFile(file []byte) ([]block, error) {
	var blocks []block
	le := binary.LittleEndian
	for off := 0; off < len(file); {
		if len(file)-off < 12 {
			return nil, fmt.Errorf("offset %d: %d trailing bytes", off, len(file)-off)
		}
		typ := le.Uint32(file[off:])
		n := int(le.Uint32(file[off+4:]))
		if n < 12 || n%4 != 0 || off+n > len(file) {
			return nil, fmt.Errorf("offset %d: bad block length %d", off, n)
		}
		if tail := int(le.Uint32(file[off+n-4:])); tail != n {
			return nil, fmt.Errorf("offset %d: trailing length %d != %d", off, tail, n)
		}
		inner := file[off+8 : off+n-4]
		var fixed int
		switch typ {
		case blockSHB:
			fixed = 16
		case blockIDB:
			fixed = 8
		case blockEPB:
			if len(inner) < 20 {
				return nil, fmt.Errorf("offset %d: short EPB", off)
			}
			capLen := int(le.Uint32(inner[12:]))
			fixed = 20 + capLen + pad(capLen)
			if err := zeros(inner[20+capLen : min(fixed, len(inner))]); err != nil {
				return nil, fmt.Errorf("offset %d: data padding: %w", off, err)
			}
		default:
			return nil, fmt.Errorf("offset %d: unexpected block type %#x", off, typ)
		}
		if fixed > len(inner) {
			return nil, fmt.Errorf("offset %d: block type %#x too short", off, typ)
		}
		opts, err := parseOptions(inner[fixed:])
		if err != nil {
			return nil, fmt.Errorf("offset %d: %w", off, err)
		}
		blocks = append(blocks, block{typ: typ, body: inner[:fixed], opts: opts})
		off += n
	}
	return blocks, nil
}

func parseOptions(b []byte) ([]option, error) {
	var opts []option
	if len(b) == 0 {
		return nil, nil
	}
	for len(b) >= 4 {
		code := binary.LittleEndian.Uint16(b)
		n := int(binary.LittleEndian.Uint16(b[2:]))
		b = b[4:]
		if code == optEndOfOpt {
			if n != 0 || len(b) != 0 {
				return nil, fmt.Errorf("opt_endofopt: length %d, %d bytes after", n, len(b))
			}
			return opts, nil
		}
		if n+pad(n) > len(b) {
			return nil, fmt.Errorf("option %d: length %d overruns block", code, n)
		}
		if err := zeros(b[n : n+pad(n)]); err != nil {
			return nil, fmt.Errorf("option %d padding: %w", code, err)
		}
		opts = append(opts, option{code: code, val: b[:n]})
		b = b[n+pad(n):]
	}
	return nil, fmt.Errorf("options not terminated by opt_endofopt")
}

func pad(n int) int { return (4 - n%4) % 4 }

func zeros(b []byte) error {
	for _, c := range b {
		if c != 0 {
			return fmt.Errorf("non-zero padding % x", b)
		}
	}
	return nil
}

func (b block) option(code uint16) []byte {
	for _, o := range b.opts {
		if o.code == code {
			return o.val
		}
	}
	return nil
}

// checkSHB checks the fixed part of a Section Header Block.
func (b block) checkSHB() error {
	le := binary.LittleEndian
	if b.typ != blockSHB {
		return fmt.Errorf("first block type %#x, want SHB", b.typ)
	}
	if m := le.Uint32(b.body); m != byteOrderMagic {
		return fmt.Errorf("byte-order magic %#x", m)
	}
	if maj, mnr := le.Uint16(b.body[4:]), le.Uint16(b.body[6:]); maj != 1 || mnr != 0 {
		return fmt.Errorf("version %d.%d", maj, mnr)
	}
	if l := le.Uint64(b.body[8:]); l != math.MaxUint64 {
		return fmt.Errorf("section length %d, want -1", int64(l))
	}
	return nil
}

func (b block) epb() epb {
	le := binary.LittleEndian
	capLen := le.Uint32(b.body[12:])
	e := epb{
		iface:   le.Uint32(b.body),
		ts:      uint64(le.Uint32(b.body[4:]))<<32 | uint64(le.Uint32(b.body[8:])),
		data:    b.body[20 : 20+capLen],
		origLen: le.Uint32(b.body[16:]),
	}
	for _, o := range b.opts {
		switch o.code {
		case epbFlags:
			f := le.Uint32(o.val)
			e.flags = &f
		case optComment:
			e.comment = append(e.comment, string(o.val))
		}
	}
	return e
}

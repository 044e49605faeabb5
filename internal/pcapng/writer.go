package pcapng

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"
)

var (
	// ErrFull is returned once writing a block would make the file larger
	// than Options.MaxBytes. It is sticky: every later write returns it.
	ErrFull = errors.New("pcapng: capture size limit reached")
	// ErrUnknownInterface is returned by WritePacket for an interface ID that
	// AddInterface did not return.
	ErrUnknownInterface = errors.New("pcapng: unknown interface")
	// ErrInvalid is wrapped by the errors for arguments that cannot be
	// encoded: data longer than the snaplen, a bad original length or
	// timestamp, an option that is too long or not UTF-8.
	ErrInvalid = errors.New("pcapng: invalid argument")
)

// DefaultApp is the shb_userappl value written when Options.App is empty.
const DefaultApp = "vecswitch"

// Block types, option codes and constants from draft-ietf-opsawg-pcapng.
const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 0x00000001
	blockEPB = 0x00000006

	byteOrderMagic = 0x1A2B3C4D
	linkTypeEther  = 1 // LINKTYPE_ETHERNET

	optEndOfOpt = 0
	optComment  = 1
	shbHardware = 2
	shbOS       = 3
	shbUserAppl = 4
	ifName      = 2
	ifTsresol   = 9
	epbFlags    = 2

	tsresolNanos = 9 // if_tsresol: 10^-9 seconds

	maxOptionLen = math.MaxUint16
	bufSize      = 64 << 10
)

// Options configures a Writer.
type Options struct {
	// App is written as shb_userappl; DefaultApp when empty.
	App string
	// Hardware and OS are written as shb_hardware and shb_os when not empty.
	Hardware string
	OS       string
	// MaxBytes bounds the size of the file in bytes, headers included;
	// 0 means unlimited. See ErrFull.
	MaxBytes int64
}

// Direction is the direction of a packet relative to its interface,
// written as bits 0-1 of epb_flags.
type Direction uint8

// Directions. Unknown writes no epb_flags option.
const (
	Unknown  Direction = 0
	Inbound  Direction = 1
	Outbound Direction = 2
)

// String returns "unknown", "inbound" or "outbound".
func (d Direction) String() string {
	switch d {
	case Unknown:
		return "unknown"
	case Inbound:
		return "inbound"
	case Outbound:
		return "outbound"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Packet is one captured frame.
type Packet struct {
	// Interface is an ID returned by AddInterface.
	Interface int
	// Time is when the frame was captured; written with nanosecond
	// resolution. It must not be before the Unix epoch.
	Time time.Time
	// Data is the captured bytes, at most the interface's snaplen. It is not
	// retained.
	Data []byte
	// OrigLen is the length of the frame on the wire; 0 means len(Data).
	// It must not be less than len(Data).
	OrigLen int
	// Dir is written as epb_flags unless Unknown.
	Dir Direction
	// Comment, when not empty, is written as opt_comment (for example the
	// drop reason of a dropped frame). It must be UTF-8, at most 65535
	// bytes.
	Comment string
}

// Writer writes one pcapng section to an io.Writer. See the package
// documentation for buffering, limits and errors.
type Writer struct {
	bw       *bufio.Writer
	max      int64    // 0: unlimited
	written  int64    // bytes handed to bw
	snaplens []uint32 // per interface ID; 0: unlimited
	buf      []byte   // scratch: the block being built
	full     bool     // ErrFull was returned
	err      error    // sticky I/O error
}

// NewWriter writes the Section Header Block to w (through the Writer's
// buffer) and returns a Writer for the section. The Writer does not close
// w.
func NewWriter(w io.Writer, opts Options) (*Writer, error) {
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("%w: negative MaxBytes %d", ErrInvalid, opts.MaxBytes)
	}
	app := opts.App
	if app == "" {
		app = DefaultApp
	}
	wr := &Writer{
		bw:  bufio.NewWriterSize(w, bufSize),
		max: opts.MaxBytes,
		buf: make([]byte, 0, 256),
	}
	b := beginBlock(wr.buf, blockSHB)
	b = binary.LittleEndian.AppendUint32(b, byteOrderMagic)
	b = binary.LittleEndian.AppendUint16(b, 1)              // major version
	b = binary.LittleEndian.AppendUint16(b, 0)              // minor version
	b = binary.LittleEndian.AppendUint64(b, math.MaxUint64) // section length -1: not given
	var err error
	for _, o := range []struct {
		code uint16
		name string
		val  string
	}{
		{shbHardware, "shb_hardware", opts.Hardware},
		{shbOS, "shb_os", opts.OS},
		{shbUserAppl, "shb_userappl", app},
	} {
		if o.val == "" {
			continue
		}
		if b, err = appendStringOption(b, o.code, o.val); err != nil {
			return nil, fmt.Errorf("section header %s: %w", o.name, err)
		}
	}
	b = appendEndOfOpt(b)
	wr.buf = endBlock(b)
	if err := wr.writeBlock(); err != nil {
		return nil, fmt.Errorf("pcapng: section header: %w", err)
	}
	return wr, nil
}

// AddInterface writes an Interface Description Block for an Ethernet
// interface with the given name (if_name) and snaplen, and returns its
// interface ID for Packet.Interface. IDs count from 0 in call order. A
// snaplen of 0 means no limit. Wireshark reads files whose interfaces have
// different snaplens, but libpcap (tcpdump) refuses them: give every
// interface of a file the same snaplen where that matters.
func (w *Writer) AddInterface(name string, snaplen int) (int, error) {
	if snaplen < 0 || uint64(snaplen) > math.MaxUint32 {
		return 0, fmt.Errorf("%w: interface %q: snaplen %d out of range", ErrInvalid, name, snaplen)
	}
	b := beginBlock(w.buf, blockIDB)
	b = binary.LittleEndian.AppendUint16(b, linkTypeEther)
	b = binary.LittleEndian.AppendUint16(b, 0) // reserved
	b = binary.LittleEndian.AppendUint32(b, uint32(snaplen))
	var err error
	if name != "" {
		if b, err = appendStringOption(b, ifName, name); err != nil {
			return 0, fmt.Errorf("interface %q: if_name: %w", name, err)
		}
	}
	b = appendOptionHeader(b, ifTsresol, 1)
	b = append(b, tsresolNanos, 0, 0, 0)
	b = appendEndOfOpt(b)
	w.buf = endBlock(b)
	if err := w.writeBlock(); err != nil {
		return 0, fmt.Errorf("interface %q: %w", name, err)
	}
	w.snaplens = append(w.snaplens, uint32(snaplen))
	return len(w.snaplens) - 1, nil
}

// WritePacket writes p as an Enhanced Packet Block. It returns an error
// wrapping ErrUnknownInterface or ErrInvalid for a packet it cannot encode,
// and ErrFull when the block would exceed Options.MaxBytes; in these cases
// nothing is written.
func (w *Writer) WritePacket(p Packet) error {
	if p.Interface < 0 || p.Interface >= len(w.snaplens) {
		return fmt.Errorf("%w: ID %d (have %d)", ErrUnknownInterface, p.Interface, len(w.snaplens))
	}
	if snap := w.snaplens[p.Interface]; snap != 0 && uint64(len(p.Data)) > uint64(snap) {
		return fmt.Errorf("%w: %d bytes of data exceed snaplen %d of interface %d",
			ErrInvalid, len(p.Data), snap, p.Interface)
	}
	orig := p.OrigLen
	if orig == 0 {
		orig = len(p.Data)
	}
	if orig < len(p.Data) || uint64(orig) > math.MaxUint32 {
		return fmt.Errorf("%w: original length %d with %d bytes of data", ErrInvalid, p.OrigLen, len(p.Data))
	}
	ts, err := timestamp(p.Time)
	if err != nil {
		return err
	}
	if p.Dir > Outbound {
		return fmt.Errorf("%w: direction %d", ErrInvalid, p.Dir)
	}

	b := beginBlock(w.buf, blockEPB)
	b = binary.LittleEndian.AppendUint32(b, uint32(p.Interface))
	b = binary.LittleEndian.AppendUint32(b, uint32(ts>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(ts))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(orig))
	b = appendPadded(b, p.Data)
	if p.Dir != Unknown || p.Comment != "" {
		if p.Dir != Unknown {
			b = appendOptionHeader(b, epbFlags, 4)
			b = binary.LittleEndian.AppendUint32(b, uint32(p.Dir))
		}
		if p.Comment != "" {
			if b, err = appendStringOption(b, optComment, p.Comment); err != nil {
				w.buf = b[:0]
				return fmt.Errorf("packet comment: %w", err)
			}
		}
		b = appendEndOfOpt(b)
	}
	if uint64(len(b))+4 > math.MaxUint32 {
		w.buf = b[:0]
		return fmt.Errorf("%w: %d bytes of data do not fit in a block", ErrInvalid, len(p.Data))
	}
	w.buf = endBlock(b)
	return w.writeBlock()
}

// Written returns the number of bytes written so far, headers included:
// the size the file has after Flush.
func (w *Writer) Written() int64 { return w.written }

// Flush writes buffered data to the underlying io.Writer. Call it before
// the file is read or closed; it is also safe to call after ErrFull.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("pcapng: flush: %w", err)
		return w.err
	}
	return nil
}

// writeBlock hands the block in w.buf to the buffered writer, unless the
// Writer is full, failed, or the block would cross the size limit.
func (w *Writer) writeBlock() error {
	if w.err != nil {
		return w.err
	}
	if w.full || (w.max > 0 && w.written+int64(len(w.buf)) > w.max) {
		w.full = true
		return ErrFull
	}
	n, err := w.bw.Write(w.buf)
	w.written += int64(n)
	if err != nil {
		w.err = fmt.Errorf("pcapng: write: %w", err)
		return w.err
	}
	return nil
}

// timestamp converts t to nanoseconds since the Unix epoch (if_tsresol 9).
func timestamp(t time.Time) (uint64, error) {
	sec := t.Unix()
	if sec < 0 || uint64(sec) > math.MaxUint64/uint64(time.Second)-1 {
		return 0, fmt.Errorf("%w: timestamp %v out of range", ErrInvalid, t)
	}
	return uint64(sec)*uint64(time.Second) + uint64(t.Nanosecond()), nil
}

// beginBlock resets the scratch buffer b and starts a block of type typ
// with a placeholder total length.
func beginBlock(b []byte, typ uint32) []byte {
	b = binary.LittleEndian.AppendUint32(b[:0], typ)
	return binary.LittleEndian.AppendUint32(b, 0)
}

// endBlock appends the trailing block total length and patches the leading
// one. The body is a multiple of 4 bytes, as every field is padded.
func endBlock(b []byte) []byte {
	n := uint32(len(b) + 4)
	binary.LittleEndian.PutUint32(b[4:8], n)
	return binary.LittleEndian.AppendUint32(b, n)
}

// appendPadded appends data and zero padding to a 32-bit boundary.
func appendPadded[T ~string | ~[]byte](b []byte, data T) []byte {
	var zero [3]byte
	b = append(b, data...)
	return append(b, zero[:(4-len(data)%4)%4]...)
}

func appendOptionHeader(b []byte, code, length uint16) []byte {
	b = binary.LittleEndian.AppendUint16(b, code)
	return binary.LittleEndian.AppendUint16(b, length)
}

// appendStringOption appends a UTF-8 string option; on error b is
// returned unchanged.
func appendStringOption(b []byte, code uint16, s string) ([]byte, error) {
	if len(s) > maxOptionLen {
		return b, fmt.Errorf("%w: option of %d bytes, limit %d", ErrInvalid, len(s), maxOptionLen)
	}
	if !utf8.ValidString(s) {
		return b, fmt.Errorf("%w: option is not UTF-8", ErrInvalid)
	}
	b = appendOptionHeader(b, code, uint16(len(s)))
	return appendPadded(b, s), nil
}

func appendEndOfOpt(b []byte) []byte { return appendOptionHeader(b, optEndOfOpt, 0) }

package takeover

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// Version is the takeover protocol and state-format version. Two
// processes hand over only if theirs are equal: bump formatVersion
// whenever the messages or the state a Giver exports change meaning.
var Version = versionOf(buildVersion)

const formatVersion uint16 = 2

// buildVersion, set at link time (go build -ldflags "-X
// github.com/vecswitch/vecswitch/internal/takeover.buildVersion=N"),
// replaces formatVersion: how a test makes a build of another state
// format. Empty in real builds.
var buildVersion string

func versionOf(s string) uint16 {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return formatVersion
	}
	return uint16(n)
}

// Wire format. Every message is a fixed header followed by a payload:
//
//	0  magic "VSTK"
//	4  version, uint16 big-endian (the sender's Version)
//	6  type, uint8
//	7  file count, uint8: descriptors carried by SCM_RIGHTS with the header
//	8  payload length, uint32 big-endian (at most MaxPayload)
//
// The magic and the version are never moved, and a refuse message's
// payload is plain text, so that any two versions can tell each other
// apart and say why they refuse.
const (
	HeaderLen  = 12
	MaxPayload = 64 << 20
	// MaxFiles is the most descriptors one message carries; the kernel
	// takes at most 253 per sendmsg (SCM_MAX_FD). A Giver with more sends
	// several files messages.
	MaxFiles = 250
)

var magic = [4]byte{'V', 'S', 'T', 'K'}

// Type is a message type.
type Type uint8

// Message types, in the order of a takeover (see the package doc).
const (
	TypeHello   Type = 1 // taker -> giver: who I am
	TypeWelcome Type = 2 // giver -> taker: accepted, state follows
	TypeFiles   Type = 3 // giver -> taker: a batch of descriptors
	TypeState   Type = 4 // giver -> taker: the exported state, last of the transfer
	TypeReady   Type = 5 // taker -> giver: my data plane is ready, stop polling
	TypeStopped Type = 6 // giver -> taker: stopped polling
	TypeCommit  Type = 7 // taker -> giver: my data plane runs, exit
	TypeBye     Type = 8 // giver -> taker: exiting
	TypeAbort   Type = 9 // taker -> giver: takeover abandoned, keep running
	TypeRefuse  Type = 255
)

func (t Type) String() string {
	switch t {
	case TypeHello:
		return "hello"
	case TypeWelcome:
		return "welcome"
	case TypeFiles:
		return "files"
	case TypeState:
		return "state"
	case TypeReady:
		return "ready"
	case TypeStopped:
		return "stopped"
	case TypeCommit:
		return "commit"
	case TypeBye:
		return "bye"
	case TypeAbort:
		return "abort"
	case TypeRefuse:
		return "refuse"
	}
	return fmt.Sprintf("type-%d", uint8(t))
}

func (t Type) known() bool { return t >= TypeHello && t <= TypeAbort || t == TypeRefuse }

// Header is a message's fixed header.
type Header struct {
	Version uint16
	Type    Type
	Files   uint8
	Len     uint32
}

// Marshal encodes h.
func (h Header) Marshal() [HeaderLen]byte {
	var b [HeaderLen]byte
	copy(b[:4], magic[:])
	binary.BigEndian.PutUint16(b[4:], h.Version)
	b[6] = byte(h.Type)
	b[7] = h.Files
	binary.BigEndian.PutUint32(b[8:], h.Len)
	return b
}

// ParseHeader decodes and checks a header: the magic, a known type, a
// payload no longer than MaxPayload, at most MaxFiles files, files only
// on a files message. It does not check the version (the caller does,
// after letting a refusal through). Errors are *ProtocolError.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, &ProtocolError{Msg: fmt.Sprintf("header of %d bytes, want %d", len(b), HeaderLen)}
	}
	if [4]byte(b[:4]) != magic {
		return Header{}, &ProtocolError{Msg: fmt.Sprintf("bad magic %q: the peer is not a vswitchd takeover socket", b[:4])}
	}
	h := Header{Version: binary.BigEndian.Uint16(b[4:]), Type: Type(b[6]), Files: b[7], Len: binary.BigEndian.Uint32(b[8:])}
	switch {
	case !h.Type.known():
		return h, &ProtocolError{Msg: fmt.Sprintf("unknown message %s", h.Type)}
	case h.Len > MaxPayload:
		return h, &ProtocolError{Msg: fmt.Sprintf("%s payload of %d bytes exceeds %d", h.Type, h.Len, MaxPayload)}
	case h.Files > MaxFiles:
		return h, &ProtocolError{Msg: fmt.Sprintf("%s carries %d files, at most %d", h.Type, h.Files, MaxFiles)}
	case h.Files > 0 && h.Type != TypeFiles:
		return h, &ProtocolError{Msg: fmt.Sprintf("%s carries %d files: only a files message does", h.Type, h.Files)}
	}
	return h, nil
}

package vhostuser

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrProtocol is wrapped by every error about a malformed or unexpected
// front-end message. The backend drops the connection on such an error.
var ErrProtocol = errors.New("vhostuser: protocol error")

func protoErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, a...)...)
}

var le = binary.LittleEndian

// msgHeader is the fixed 12-byte header of every message.
type msgHeader struct {
	req, flags, size uint32
}

// parseHeader decodes and checks a request header: protocol version 1, not
// a reply, payload no larger than maxPayload.
func parseHeader(b []byte) (msgHeader, error) {
	if len(b) < headerSize {
		return msgHeader{}, protoErr("short header: %d bytes", len(b))
	}
	h := msgHeader{req: le.Uint32(b), flags: le.Uint32(b[4:]), size: le.Uint32(b[8:])}
	if h.flags&flagVersionMask != flagVersion {
		return h, protoErr("%s: version %d, want 1", reqName(h.req), h.flags&flagVersionMask)
	}
	if h.flags&flagReply != 0 {
		return h, protoErr("%s: reply flag set on a request", reqName(h.req))
	}
	if h.size > maxPayload {
		return h, protoErr("%s: payload of %d bytes, at most %d", reqName(h.req), h.size, maxPayload)
	}
	return h, nil
}

// message is one request: its header, its payload (a view of the reader's
// buffer, valid until the next read) and the descriptors that came with
// it. Whoever handles it takes the descriptors it keeps by setting their
// slots to -1; the reader closes the rest.
type message struct {
	hdr     msgHeader
	payload []byte
	fds     []int
}

// shape is what a request must carry.
type shape struct {
	size  int  // payload size (exact), or -1: any (ignored)
	fds   int  // descriptors (exact), or -1: as the payload says
	reply bool // the request has its own reply
}

// shapes lists the requests the backend implements. Any other request is
// a protocol error: a front-end only sends requests for features that were
// negotiated, and none other is offered.
var shapes = map[uint32]shape{
	reqGetFeatures:         {size: -1, reply: true},
	reqSetFeatures:         {size: u64Size},
	reqSetOwner:            {size: -1},
	reqResetOwner:          {size: -1},
	reqSetMemTable:         {size: -1, fds: -1},
	reqSetVringNum:         {size: vringStateSize},
	reqSetVringAddr:        {size: vringAddrSize},
	reqSetVringBase:        {size: vringStateSize},
	reqGetVringBase:        {size: vringStateSize, reply: true},
	reqSetVringKick:        {size: u64Size, fds: -1},
	reqSetVringCall:        {size: u64Size, fds: -1},
	reqSetVringErr:         {size: u64Size, fds: -1},
	reqGetProtocolFeatures: {size: -1, reply: true},
	reqSetProtocolFeatures: {size: u64Size},
	reqGetQueueNum:         {size: -1, reply: true},
	reqSetVringEnable:      {size: vringStateSize},
	reqSendRARP:            {size: rarpPayloadSize},
}

// checkShape verifies a message's payload size and descriptor count
// against its request, before any field is used.
func checkShape(h msgHeader, payload []byte, nfds int) error {
	s, ok := shapes[h.req]
	if !ok {
		return protoErr("%s: not supported", reqName(h.req))
	}
	if s.size >= 0 && len(payload) != s.size {
		return protoErr("%s: payload of %d bytes, want %d", reqName(h.req), len(payload), s.size)
	}
	want := s.fds
	switch h.req {
	case reqSetMemTable:
		if len(payload) < memTableHeaderSize {
			return protoErr("SET_MEM_TABLE: payload of %d bytes", len(payload))
		}
		n := le.Uint32(payload)
		if n == 0 || n > maxRegions {
			return protoErr("SET_MEM_TABLE: %d regions, want 1 to %d", n, maxRegions)
		}
		if len(payload) != memTableHeaderSize+int(n)*memRegionSize {
			return protoErr("SET_MEM_TABLE: %d regions in %d bytes", n, len(payload))
		}
		want = int(n)
	case reqSetVringKick, reqSetVringCall, reqSetVringErr:
		v := le.Uint64(payload)
		if v&^uint64(vringIdxMask|vringNoFD) != 0 {
			return protoErr("%s: reserved bits set in %#x", reqName(h.req), v)
		}
		want = 1
		if v&vringNoFD != 0 {
			want = 0
		}
	}
	if want < 0 {
		want = 0
	}
	if nfds != want {
		return protoErr("%s: %d file descriptors, want %d", reqName(h.req), nfds, want)
	}
	return nil
}

// vringState is the payload of SET_VRING_NUM/BASE/ENABLE and GET_VRING_BASE.
type vringState struct{ index, num uint32 }

func decodeVringState(p []byte) vringState {
	return vringState{index: le.Uint32(p), num: le.Uint32(p[4:])}
}

// vringAddr is the payload of SET_VRING_ADDR: front-end virtual addresses
// of the three parts of a split ring.
type vringAddr struct {
	index, flags           uint32
	desc, used, avail, log uint64
}

func decodeVringAddr(p []byte) vringAddr {
	return vringAddr{
		index: le.Uint32(p), flags: le.Uint32(p[4:]),
		desc: le.Uint64(p[8:]), used: le.Uint64(p[16:]), avail: le.Uint64(p[24:]), log: le.Uint64(p[32:]),
	}
}

// memRegion is one region of SET_MEM_TABLE: guest-physical and front-end
// virtual start, size, and where it starts in the region's file.
type memRegion struct {
	gpa, size, uva, offset uint64
}

// decodeMemTable decodes the regions of a SET_MEM_TABLE payload whose
// shape was checked, and validates them: non-empty, no address range that
// wraps around, no two regions overlapping in guest-physical or front-end
// virtual space (every address then translates one way only).
func decodeMemTable(p []byte) ([]memRegion, error) {
	n := int(le.Uint32(p))
	regs := make([]memRegion, n)
	for i := range regs {
		b := p[memTableHeaderSize+i*memRegionSize:]
		regs[i] = memRegion{gpa: le.Uint64(b), size: le.Uint64(b[8:]), uva: le.Uint64(b[16:]), offset: le.Uint64(b[24:])}
	}
	if err := checkRegions(regs); err != nil {
		return nil, protoErr("SET_MEM_TABLE: %w", err)
	}
	return regs, nil
}

// checkRegions validates a memory table (see decodeMemTable).
func checkRegions(regs []memRegion) error {
	for i, r := range regs {
		switch {
		case r.size == 0:
			return fmt.Errorf("region %d is empty", i)
		case r.gpa+r.size < r.gpa, r.uva+r.size < r.uva, r.offset+r.size < r.offset:
			return fmt.Errorf("region %d wraps around", i)
		case r.size > 1<<46:
			return fmt.Errorf("region %d of %d bytes", i, r.size)
		}
		for j, o := range regs[:i] {
			if overlap(r.gpa, r.size, o.gpa, o.size) || overlap(r.uva, r.size, o.uva, o.size) {
				return fmt.Errorf("regions %d and %d overlap", j, i)
			}
		}
	}
	return nil
}

func overlap(a, an, b, bn uint64) bool { return a < b+bn && b < a+an }

// encodeReply builds a reply to req with payload.
func encodeReply(dst []byte, req uint32, payload []byte) []byte {
	dst = le.AppendUint32(dst[:0], req)
	dst = le.AppendUint32(dst, flagVersion|flagReply)
	dst = le.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// encodeU64Reply builds a reply carrying one u64.
func encodeU64Reply(dst []byte, req uint32, v uint64) []byte {
	var b [8]byte
	le.PutUint64(b[:], v)
	return encodeReply(dst, req, b[:])
}

package vhostuser

import (
	"log/slog"
	"sync"
	"sync/atomic"
)

// backend is the vhost-user device of one port: it applies a front-end's
// requests to the state of the current connection and publishes running
// rings to the data path through the port's slots. Its methods run on the
// port's control goroutine under mu, which Status takes too; the data path
// never takes mu.
type backend struct {
	name     string
	log      *slog.Logger
	sys      sysOps
	pairs    int
	offered  uint64
	protos   uint64
	slots    []vqSlot       // 2*pairs: pair p's guest rx ring at 2p, its tx ring at 2p+1
	pollFDs  []int          // per pair: the rx queue's poll descriptor, or -1
	busyFDs  []int          // per pair: an always-readable eventfd, or -1
	txMap    []atomic.Int32 // per tx queue: the pair whose rx ring it fills, or -1
	announce *atomic.Uint64 // a MAC to announce, with announcePending set
	mac      uint64         // Config.MAC, announced when pair 0's tx ring starts; 0: none
	c        *ctlCounters

	mu        sync.Mutex
	connected bool
	features  uint64 // acked virtio features
	protocol  uint64 // acked protocol features
	mem       *guestMem
	vqs       []vqState
}

// vqState is what the front-end told about one virtqueue.
type vqState struct {
	num     uint32
	addr    vringAddr
	hasAddr bool
	base    uint16 // where the ring resumes; updated when it stops
	kick    int    // -1: none (or polling mode)
	call    int    // -1: none
	started bool   // SET_VRING_KICK came, and no GET_VRING_BASE since
	enabled bool   // SET_VRING_ENABLE 1
	running bool   // a vring is published in the slot
}

// announcePending marks a MAC in backend.announce as waiting to be sent.
const announcePending = 1 << 63

// newBackend makes the backend of a port with pairs queue pairs, which
// offers checksum and segmentation offloads if offloads is set. pollFDs
// and busyFDs hold a descriptor per pair, or -1 (see watchFD).
func newBackend(name string, log *slog.Logger, sys sysOps, pairs int, offloads bool, mac uint64, pollFDs, busyFDs []int, c *ctlCounters) *backend {
	b := &backend{
		name: name, log: log, sys: sys, pairs: pairs,
		offered: offeredFeatures(pairs, offloads), protos: offeredProtocolFeatures(),
		slots: make([]vqSlot, 2*pairs), pollFDs: pollFDs, busyFDs: busyFDs, txMap: make([]atomic.Int32, pairs),
		announce: new(atomic.Uint64), mac: mac, c: c,
	}
	for i := range b.txMap {
		b.txMap[i].Store(-1)
	}
	b.resetState()
	return b
}

func (b *backend) resetState() {
	b.features, b.protocol = 0, 0
	b.vqs = make([]vqState, 2*b.pairs)
	for i := range b.vqs {
		b.vqs[i].kick, b.vqs[i].call = -1, -1
	}
}

// connect starts the state of a new connection.
func (b *backend) connect() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.resetState()
	b.connected = true
	b.c.connections.Add(1)
}

// disconnect stops every ring and releases what the connection brought:
// eventfds and memory mappings. After it returns no worker touches the
// front-end's memory.
func (b *backend) disconnect() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.release()
	b.resetState()
	b.connected = false
}

func (b *backend) release() {
	b.stopAll()
	for i := range b.vqs {
		v := &b.vqs[i]
		b.closeFD(&v.kick)
		b.closeFD(&v.call)
	}
	b.unmap(b.mem)
	b.mem = nil
}

func (b *backend) closeFD(fd *int) {
	if *fd >= 0 {
		b.sys.closeFD(*fd)
		*fd = -1
	}
}

func (b *backend) unmap(m *guestMem) {
	if m == nil {
		return
	}
	for _, r := range m.regions {
		if err := b.sys.unmap(r.mapping); err != nil {
			b.log.Warn("vhost-user: unmap guest memory", "port", b.name, "err", err)
		}
		if r.fd >= 0 {
			b.sys.closeFD(r.fd)
		}
	}
}

// handle applies one request and returns the reply to send, if any. An
// error is a protocol error: the caller drops the connection.
func (b *backend) handle(m *message) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := m.hdr
	var reply []byte
	var err error
	switch h.req {
	case reqGetFeatures:
		reply = encodeU64Reply(nil, h.req, b.offered)
	case reqSetFeatures:
		err = b.setFeatures(le.Uint64(m.payload))
	case reqSetOwner:
	case reqResetOwner:
		b.release()
		b.resetState()
	case reqSetMemTable:
		err = b.setMemTable(m)
	case reqSetVringNum, reqSetVringBase, reqSetVringEnable:
		err = b.setVringState(h.req, decodeVringState(m.payload))
	case reqSetVringAddr:
		err = b.setVringAddr(decodeVringAddr(m.payload))
	case reqGetVringBase:
		var base uint32
		if base, err = b.getVringBase(le.Uint32(m.payload)); err == nil {
			var p [vringStateSize]byte
			copy(p[:4], m.payload[:4])
			le.PutUint32(p[4:], base)
			reply = encodeReply(nil, h.req, p[:])
		}
	case reqSetVringKick, reqSetVringCall, reqSetVringErr:
		err = b.setVringFD(h.req, le.Uint64(m.payload), m.fds)
	case reqGetProtocolFeatures:
		reply = encodeU64Reply(nil, h.req, b.protos)
	case reqSetProtocolFeatures:
		if p := le.Uint64(m.payload); p&^b.protos != 0 {
			err = protoErr("SET_PROTOCOL_FEATURES %#x: %#x not offered", p, p&^b.protos)
		} else {
			b.protocol = p
		}
	case reqGetQueueNum:
		reply = encodeU64Reply(nil, h.req, uint64(b.pairs))
	case reqSendRARP:
		// The MAC's six bytes, in order, in the u64.
		var mac uint64
		for _, x := range m.payload[:6] {
			mac = mac<<8 | uint64(x)
		}
		if mac != 0 {
			b.announce.Store(mac | announcePending)
		}
	default:
		err = protoErr("%s: not supported", reqName(h.req)) // checkShape lets none through
	}
	if err != nil {
		return nil, err
	}
	if reply == nil && h.flags&flagNeedReply != 0 && b.protocol&bit(protoReplyAck) != 0 {
		reply = encodeU64Reply(nil, h.req, 0)
	}
	return reply, nil
}

// Status is a port's view of its front-end.
type Status struct {
	// Connected: a front-end is connected.
	Connected bool
	// Features and ProtocolFeatures are what it acknowledged.
	Features, ProtocolFeatures uint64
	// MemoryRegions is the size of its memory table.
	MemoryRegions int
	// RunningRings counts the virtqueues the data path serves.
	RunningRings int
}

func (b *backend) status() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Status{Connected: b.connected, Features: b.features, ProtocolFeatures: b.protocol}
	if b.mem != nil {
		s.MemoryRegions = len(b.mem.regions)
	}
	for _, v := range b.vqs {
		if v.running {
			s.RunningRings++
		}
	}
	return s
}

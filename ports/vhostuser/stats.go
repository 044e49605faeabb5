package vhostuser

import "sync/atomic"

// Stats are a port's counters, summed over its queues and kept across
// front-end connections. Rx is the guest transmitting into the switch, Tx
// the switch transmitting to the guest. Every frame counted in a drop
// field was dropped (an Rx drop still returns the guest's buffer to it).
type Stats struct {
	RxPackets, RxBytes uint64
	TxPackets, TxBytes uint64
	// RxNoBuffer: polls cut short because the pool was empty; the frames
	// wait in the guest's ring.
	RxNoBuffer uint64
	// RxOversize: frames longer than a pipeline buffer.
	RxOversize uint64
	// RxRunt: frames shorter than an Ethernet header.
	RxRunt uint64
	// RxGSO: frames asking for a segmentation the guest did not
	// negotiate (any, without offloads; UFO always).
	RxGSO uint64
	// RxBadHeader: frames whose virtio-net header is refused: unknown
	// flags or GSO type, a GSO size of 0, a checksum offset that is not
	// the L4 protocol's (offload.VnetHdr.Validate), or offsets beyond the
	// frame. (A well-formed checksum request from a guest without
	// offloads is completed in software and not counted.)
	RxBadHeader uint64
	// RxGSOFrames: GSO frames taken whole from a guest that negotiated
	// HOST_TSO4/6 or HOST_USO, as pipeline chains of up to 64 KiB; each
	// counts once in RxPackets.
	RxGSOFrames uint64
	// RxBadDesc and TxBadDesc: malformed descriptor chains (an index
	// beyond the ring, a loop, a buffer of the wrong direction, a bad
	// indirect table, a receive buffer too short for the header).
	RxBadDesc, TxBadDesc uint64
	// RxBadAddr and TxBadAddr: descriptor chains pointing outside the
	// guest's memory table. Nothing outside it was read or written.
	RxBadAddr, TxBadAddr uint64
	// RxBrokenRings and TxBrokenRings: rings abandoned because the guest's
	// avail index ran impossibly far ahead; they stay idle until the
	// front-end sets them up again.
	RxBrokenRings, TxBrokenRings uint64
	// TxFull: frames dropped because the guest had no receive buffer.
	TxFull uint64
	// TxNoRoom: frames longer than a receive buffer when the guest did not
	// negotiate mergeable buffers.
	TxNoRoom uint64
	// TxGSOFrames: GSO frames handed whole to a guest that negotiated
	// GUEST_TSO4/6 or GUEST_USO4/6; each counts once in TxPackets.
	TxGSOFrames uint64
	// TxSegmented: GSO frames the port cut into segments for a guest that
	// does not take them whole; each segment delivered counts in
	// TxPackets.
	TxSegmented uint64
	// TxBadOffload: frames dropped because their offload metadata could
	// not be honoured (offload.Segment refused the frame, a checksum
	// field outside it, a chain longer than any frame).
	TxBadOffload uint64
	// TxNoBuffer: GSO frames dropped because the pool had no buffers to
	// segment them into.
	TxNoBuffer uint64
	// TxNotReady: frames dropped because no guest receive ring was running
	// (no front-end, or it has not enabled the ring yet).
	TxNotReady uint64
	// RxCalls and TxCalls: interrupts sent to the guest (call eventfd
	// writes), only when it asked for them.
	RxCalls, TxCalls uint64
	// Connections: front-ends accepted. ProtocolErrors: connections
	// dropped for a malformed or unsupported message. Faults: connections
	// dropped because guest memory could not be accessed (the front-end
	// shrank its memory file).
	Connections, ProtocolErrors, Faults uint64
}

// Counters are written by the one goroutine using the queue and read by
// anyone: a single writer needs no read-modify-write instruction, only an
// atomic store so readers never see a torn value.
func bump(c *atomic.Uint64, n uint64) {
	if n != 0 {
		c.Store(c.Load() + n)
	}
}

type rxCounters struct {
	packets, bytes, noBuffer, oversize, runt, gso, badHdr, badDesc, badAddr, broken, calls, gsoFrames atomic.Uint64
	_                                                                                                 [32]byte
}

type txCounters struct {
	packets, bytes, full, noRoom, notReady, badDesc, badAddr, broken, calls atomic.Uint64
	gsoFrames, segmented, badOffload, noBuffer                              atomic.Uint64
	_                                                                       [24]byte
}

// ctlCounters are written by the control goroutine (and, for faults, by
// any worker): atomic adds.
type ctlCounters struct {
	connections, protocolErrors, faults atomic.Uint64
}

func (s *Stats) addRx(c *rxCounters) {
	s.RxPackets += c.packets.Load()
	s.RxBytes += c.bytes.Load()
	s.RxNoBuffer += c.noBuffer.Load()
	s.RxOversize += c.oversize.Load()
	s.RxRunt += c.runt.Load()
	s.RxGSO += c.gso.Load()
	s.RxBadHeader += c.badHdr.Load()
	s.RxBadDesc += c.badDesc.Load()
	s.RxBadAddr += c.badAddr.Load()
	s.RxBrokenRings += c.broken.Load()
	s.RxCalls += c.calls.Load()
	s.RxGSOFrames += c.gsoFrames.Load()
}

func (s *Stats) addTx(c *txCounters) {
	s.TxPackets += c.packets.Load()
	s.TxBytes += c.bytes.Load()
	s.TxFull += c.full.Load()
	s.TxNoRoom += c.noRoom.Load()
	s.TxNotReady += c.notReady.Load()
	s.TxBadDesc += c.badDesc.Load()
	s.TxBadAddr += c.badAddr.Load()
	s.TxBrokenRings += c.broken.Load()
	s.TxCalls += c.calls.Load()
	s.TxGSOFrames += c.gsoFrames.Load()
	s.TxSegmented += c.segmented.Load()
	s.TxBadOffload += c.badOffload.Load()
	s.TxNoBuffer += c.noBuffer.Load()
}

func (s *Stats) addCtl(c *ctlCounters) {
	s.Connections += c.connections.Load()
	s.ProtocolErrors += c.protocolErrors.Load()
	s.Faults += c.faults.Load()
}

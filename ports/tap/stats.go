package tap

import "sync/atomic"

// Stats are a port's counters, summed over its queues. Drops are counted
// by reason; every frame counted in a Tx* drop field was freed, not sent.
type Stats struct {
	RxPackets, RxBytes uint64
	TxPackets, TxBytes uint64
	// RxOversize: frames longer than a buffer (the kernel truncates the
	// read), dropped.
	RxOversize uint64
	// RxNoBuffer: polls cut short because the pool was empty; the frames
	// wait in the kernel (which drops and counts them when its queue
	// fills).
	RxNoBuffer uint64
	// RxErrors: reads that failed other than EAGAIN.
	RxErrors uint64
	// TxFull: frames dropped because the write would block.
	TxFull uint64
	// TxOversize: frames longer than the port's MaxFrame, dropped.
	TxOversize uint64
	// TxInvalid: frames the kernel refused (EINVAL: shorter than an
	// Ethernet header).
	TxInvalid uint64
	// TxLinkDown: frames refused because the device is administratively
	// down (EIO), for example set down inside its container. The port
	// stays up and sends again once the device is.
	TxLinkDown uint64
	// TxErrors: frames whose write failed otherwise.
	TxErrors uint64
	// TxDown: frames dropped because the device is gone.
	TxDown uint64
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
	packets, bytes, oversize, noBuffer, errors atomic.Uint64
	_                                          [24]byte // own cache line
}

type txCounters struct {
	packets, bytes, full, oversize, invalid, linkDown, errors, down atomic.Uint64
}

func (s *Stats) addRx(c *rxCounters) {
	s.RxPackets += c.packets.Load()
	s.RxBytes += c.bytes.Load()
	s.RxOversize += c.oversize.Load()
	s.RxNoBuffer += c.noBuffer.Load()
	s.RxErrors += c.errors.Load()
}

func (s *Stats) addTx(c *txCounters) {
	s.TxPackets += c.packets.Load()
	s.TxBytes += c.bytes.Load()
	s.TxFull += c.full.Load()
	s.TxOversize += c.oversize.Load()
	s.TxInvalid += c.invalid.Load()
	s.TxLinkDown += c.linkDown.Load()
	s.TxErrors += c.errors.Load()
	s.TxDown += c.down.Load()
}

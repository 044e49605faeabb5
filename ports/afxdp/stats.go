package afxdp

import "sync/atomic"

// Stats are a port's counters: the driver's own, and the kernel's socket
// statistics summed over the port's sockets.
type Stats struct {
	// TxRingFull counts frames dropped because a tx ring was full.
	TxRingFull uint64 `json:"tx_ring_full"`
	// FillEmpty counts rx calls that could not refill the fill ring because
	// the pool had no free buffer.
	FillEmpty uint64 `json:"fill_empty"`
	// KickErrors counts failed transmit kicks (the device went away).
	KickErrors uint64 `json:"kick_errors"`
	// Down is true once the device was found gone.
	Down bool `json:"down"`
	// Kernel statistics (XDP_STATISTICS).
	RxDropped      uint64 `json:"rx_dropped"`
	RxInvalidDescs uint64 `json:"rx_invalid_descs"`
	TxInvalidDescs uint64 `json:"tx_invalid_descs"`
	RxRingFull     uint64 `json:"rx_ring_full"`
	RxFillEmpty    uint64 `json:"rx_fill_ring_empty"`
	TxRingEmpty    uint64 `json:"tx_ring_empty"`
}

// counters are written by the worker that owns a queue and read by anyone.
type counters struct {
	txRingFull, fillEmpty, kickErrors atomic.Uint64
}

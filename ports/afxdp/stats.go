package afxdp

import (
	"sync/atomic"
	"time"
)

// Stats are a port's counters: the driver's own, and the kernel's socket
// statistics summed over the port's sockets.
type Stats struct {
	// TxRingFull counts frames dropped because a tx ring was full.
	TxRingFull uint64 `json:"tx_ring_full"`
	// TxRingFull also counts frames dropped because the socket's share of
	// the worker's tx budget was in flight (see the package doc).
	//
	// FillEmpty counts rx calls that found a fill ring below its floor and
	// no free buffer in the worker's pool to top it up (starvation; the
	// sum of the queues' FillStarved).
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
	// Queues are the port's open sockets, by device queue.
	Queues []QueueStats `json:"queues,omitempty"`
}

// QueueStats are one socket's fill state and its share of its worker's
// pool.
type QueueStats struct {
	Queue int `json:"queue"`
	// FillTarget is how many frames the fill ring is kept at now
	// (FillFloor when idle, deeper while busy).
	FillTarget int `json:"fill_target"`
	// FillStarved counts refills that found the fill ring below its floor
	// and the pool empty; LastStarved is when the last one was.
	FillStarved uint64    `json:"fill_starved"`
	LastStarved time.Time `json:"last_starved,omitzero"`
	// RxFillEmpty is the kernel's count of frames it dropped because the
	// fill ring was empty (XDP_STATISTICS).
	RxFillEmpty uint64 `json:"rx_fill_ring_empty"`
	// Pool is the budget of the worker pool the socket uses.
	Pool PoolStats `json:"pool"`
}

// PoolStats describe how a worker's pool is divided between its AF_XDP
// sockets.
type PoolStats struct {
	Frames int `json:"frames"`
	// Sockets are open on the pool, Capacity how many it can serve.
	Sockets  int `json:"sockets"`
	Capacity int `json:"capacity"`
	// Elastic frames may sit above the floors in fill rings, ElasticUsed
	// do; Tx frames may be in flight on tx rings, TxUsed are.
	Elastic     int   `json:"elastic"`
	ElasticUsed int64 `json:"elastic_used"`
	Tx          int   `json:"tx"`
	TxUsed      int64 `json:"tx_used"`
}

// counters are written by the worker that owns a queue and read by anyone.
type counters struct {
	txRingFull, fillEmpty, kickErrors atomic.Uint64
}

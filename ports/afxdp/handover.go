package afxdp

// Handover is what another process needs, besides the descriptors, to
// adopt a running AF_XDP port (vswitchd --takeover). JSON, for the
// takeover state. The descriptors travel in this order: the XDP link, the
// program, the XSKMAP, then one socket per entry of Sockets.
type Handover struct {
	Ifname string `json:"ifname"`
	Index  int    `json:"index"`
	// Queues is how many of the device's queues the port uses;
	// DevQueues the XSKMAP's size (the device's queues when attached).
	Queues    int              `json:"queues"`
	DevQueues int              `json:"dev_queues"`
	RingSize  int              `json:"ring"`
	BatchSize int              `json:"batch"`
	Native    bool             `json:"native"`
	Sockets   []SocketHandover `json:"sockets"`
}

// SocketHandover is one open socket: its queue, the pool whose arena is
// its UMEM, and which of its sides are open.
type SocketHandover struct {
	Queue int `json:"queue"`
	// Arena is the worker pool's pipeline.Pool.ArenaID: the adopter opens
	// the queue on the pool it adopted from that arena.
	Arena uint64 `json:"arena"`
	Rx    bool   `json:"rx"`
	Tx    bool   `json:"tx"`
}

// SocketState is what a socket holds of its pool, read once the giver's
// workers have stopped (Port.SocketStates) and given to the adopter's
// socket before its workers start (Port.Restore).
type SocketState struct {
	Queue int `json:"queue"`
	// InFill frames are on the fill ring or the rx ring, TxIn on the tx
	// ring or the completion ring; Owned is the bitmap of both (the
	// frames the port gives back to the pool when it closes).
	InFill int      `json:"in_fill"`
	TxIn   int      `json:"tx_in"`
	Owned  []uint64 `json:"owned"`
	// Target is the fill target it had reached (it adapts again).
	Target int `json:"target"`
}

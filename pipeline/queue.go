package pipeline

// RxQueue is one receive queue of a port, opened on one worker's Pool. Rx
// fills bufs with up to len(bufs) received packets (buffers from that pool,
// Off/Len set) and returns how many. It never blocks. An RxQueue is used by
// one goroutine at a time.
type RxQueue interface {
	Rx(bufs []BufID) (int, error)
	Close() error
}

// TxQueue is one transmit queue of a port, opened on one worker's Pool. Tx
// takes ownership of every buffer in bufs, even when it returns an error:
// buffers it could not send are freed, and sent < len(bufs) counts them as
// dropped. It never blocks, and it never allocates from the pool (the
// worker reads the metadata of the buffers after Tx returns, to count bytes
// of the first sent ones: a queue that drops a frame in the middle of a
// batch makes that byte count approximate). A TxQueue is used by one goroutine at a
// time.
type TxQueue interface {
	Tx(bufs []BufID) (sent int, err error)
	Close() error
}

// Reclaimer is an optional TxQueue capability: queues that complete
// transmissions asynchronously (AF_XDP) return finished buffers to the pool
// when Reclaim is called, once per worker iteration.
type Reclaimer interface {
	Reclaim()
}

// RxEntry is one rx queue in a worker's poll list.
type RxEntry struct {
	Queue RxQueue
	// Port is the index stored in Meta.InPort of every packet received.
	Port uint16
	// Entry is the graph node that receives the packets.
	Entry int
}

// PollList is what a worker polls and where it transmits. It is immutable
// once published with Worker.SetPollList.
type PollList struct {
	Rx []RxEntry
	// Tx holds the worker's tx queue per port index; nil means the port has
	// none (packets staged for it are dropped and counted).
	Tx []TxQueue
}

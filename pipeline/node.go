package pipeline

// Special next indices a node may write into Frame.Next.
const (
	// NextDrop drops the packet; set it with Frame.Drop so it is counted.
	NextDrop uint16 = 0xFFFF
	// NextTaken means the node kept or handed on the buffer itself (staged
	// it for tx with Frame.Tx, or replaced it with Frame.Emit).
	NextTaken uint16 = 0xFFFE
)

// Node is one worker's instance of a graph node.
type Node interface {
	// Process handles every packet of f and sets f.Next[i] for each.
	Process(f *Frame)
}

// NodeSpec declares a node: its unique name, its next nodes and its drop
// reasons, all by name, and a constructor for per-worker instances. Next
// index i in Frame.Next refers to Next[i]; drop reason r to Drops[r].
type NodeSpec struct {
	Name  string
	Next  []string
	Drops []string
	New   func(ctx NodeContext) Node
}

// NodeContext is what a node instance learns about its worker.
type NodeContext struct {
	Worker int
	Pool   *Pool
}

// Frame is the vector a node processes.
type Frame struct {
	IDs  []BufID
	Next []uint16
	Pool *Pool

	w     *Worker
	rt    *nodeRT
	drops []uint64
	why   []uint16 // drop reason by packet index (for traces)
}

// Drop marks packet i dropped for the node's drop reason r.
func (f *Frame) Drop(i int, r uint16) {
	f.Next[i] = NextDrop
	f.why[i] = r
	f.drops[r]++
}

// DropBuf frees a buffer that is not in the vector (a clone the node made)
// and counts it under reason r.
func (f *Frame) DropBuf(id BufID, r uint16) {
	f.Pool.Free(id)
	f.drops[r]++
}

// CountDrop counts n packets dropped for reason r that are not in the
// vector (for example clones the node could not make).
func (f *Frame) CountDrop(r uint16, n uint64) { f.drops[r] += n }

// Emit sends an extra buffer (not one of f.IDs, for example a clone) to the
// node's next node nx. Replicating nodes use it.
func (f *Frame) Emit(nx uint16, id BufID) {
	f.w.enqueue(f.rt.next[nx], id)
}

// Tx stages a buffer for transmission on port; the worker flushes staged
// buffers once per rx batch, or sooner when a port's batch is full. The
// caller sets f.Next[i] = NextTaken for it.
func (f *Frame) Tx(port uint16, id BufID) {
	f.w.stageTx(port, id)
}

// TxFast is Tx's common case, small enough to inline into a node's loop
// where Tx is a call: when the port's batch for this rx batch is open and
// has room it stages id and reports true; otherwise it does nothing and
// reports false, and the caller calls Tx. (if !f.TxFast(p, id) {
// f.Tx(p, id) } is Tx.)
func (f *Frame) TxFast(port uint16, id BufID) bool {
	return f.w.stageFast(port, id)
}

// Worker is the index of the worker running the node.
func (f *Frame) Worker() int { return f.w.id }

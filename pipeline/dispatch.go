package pipeline

// runNode processes a node's pending frame. The frame is swapped out first,
// so packets enqueued to the node while it runs (through a cycle or a flush
// of a full frame) land in a fresh pending frame.
func (w *Worker) runNode(n *nodeRT) {
	n.pend, n.work = n.work[:0], n.pend
	ids := n.work
	n.active = true
	f := &n.frame
	f.IDs = ids
	f.Next = n.nextBuf[:len(ids)]
	// A top-level run starts where the previous measurement ended (rx or
	// the node before), so it costs one clock read. A run nested inside
	// another (a full next frame flushed early) reads the clock itself, and
	// its time is taken out of the enclosing node's.
	nested := w.depth > 0
	w.depth++
	t0 := w.tlast
	if nested {
		t0 = w.now()
	}
	outerChild := w.child
	w.child = 0
	n.impl.Process(f)
	if w.ob != nil {
		w.observeNode(n, f)
	}
	w.dispatch(n, f)
	n.active = false
	w.tlast = w.now()
	elapsed := w.tlast - t0
	n.stats.record(len(ids), elapsed-w.child)
	w.child = outerChild + elapsed
	if w.depth--; w.depth == 0 {
		w.child = 0
	}
}

// dispatch is enqueue_to_next: it walks the vector in runs of equal next
// index and moves each run to its target node in one copy.
func (w *Worker) dispatch(n *nodeRT, f *Frame) {
	ids, next := f.IDs, f.Next
	for i := 0; i < len(ids); {
		nx := next[i]
		j := i + 1
		for j < len(ids) && next[j] == nx {
			j++
		}
		switch nx {
		case NextTaken:
		case NextDrop:
			w.pool.FreeN(ids[i:j])
		default:
			t := w.nodes[n.next[nx]]
			if i == 0 && j == len(ids) && len(t.pend) == 0 && !t.active {
				// The whole vector goes one way: hand over the array
				// instead of copying it (the common case).
				t.pend, n.work = n.work, t.pend
				return
			}
			w.enqueueRun(n.next[nx], ids[i:j])
		}
		i = j
	}
}

// enqueueRun appends buffers to node t's pending frame, running t whenever
// the frame fills up.
func (w *Worker) enqueueRun(t int32, ids []BufID) {
	n := w.nodes[t]
	for len(ids) > 0 {
		space := VectorSize - len(n.pend)
		if space == 0 {
			if n.active {
				w.overflow(n, ids)
				return
			}
			w.runNode(n)
			continue
		}
		k := min(space, len(ids))
		n.pend = append(n.pend, ids[:k]...)
		ids = ids[k:]
	}
}

func (w *Worker) enqueue(t int32, id BufID) {
	n := w.nodes[t]
	if len(n.pend) == VectorSize {
		if n.active {
			w.pool.Free(id)
			n.stats.drops[len(n.stats.drops)-1]++
			return
		}
		w.runNode(n)
	}
	n.pend = append(n.pend, id)
}

func (w *Worker) overflow(n *nodeRT, ids []BufID) {
	w.pool.FreeN(ids)
	n.stats.drops[len(n.stats.drops)-1] += uint64(len(ids))
}

// drain runs nodes with pending packets, in declaration order, until none
// has any left.
func (w *Worker) drain() {
	for progress := true; progress; {
		progress = false
		for _, n := range w.nodes {
			if len(n.pend) > 0 && !n.active {
				w.runNode(n)
				progress = true
			}
		}
	}
}

// txStage is a port's tx batch being filled.
type txStage struct {
	n uint16
	// lim is VectorSize-1 while the port is listed in Worker.dirty and 0
	// otherwise, so that n < lim is the whole test of the fast path
	// (Frame.TxFast: listed, and room for one more before the batch must
	// be sent).
	lim uint16
	ids [VectorSize]BufID
}

// stageTx adds a buffer to the port's tx batch, sending the batch when full.
func (w *Worker) stageTx(port uint16, id BufID) {
	if !w.stageFast(port, id) {
		w.stageTxSlow(port, id)
	}
}

// stageFast is stageTx's common case, a listed batch with room: it stages
// id and reports true, or does nothing and reports false. It has no call
// in it, so that it inlines (Frame.TxFast).
func (w *Worker) stageFast(port uint16, id BufID) bool {
	if int(port) < len(w.txs) {
		if st := &w.txs[port]; st.n < st.lim {
			st.ids[uint8(st.n)] = id
			st.n++
			return true
		}
	}
	return false
}

func (w *Worker) stageTxSlow(port uint16, id BufID) {
	if int(port) >= len(w.txs) {
		w.pool.Free(id)
		w.tx.drops[txDropBadPort]++
		return
	}
	st := &w.txs[port]
	if st.lim == 0 {
		st.lim = VectorSize - 1
		w.dirty = append(w.dirty, port)
	}
	st.ids[st.n] = id
	st.n++
	if st.n == VectorSize {
		st.n = 0
		w.send(port, st.ids[:])
	}
}

// flushTx sends every staged batch.
func (w *Worker) flushTx() {
	for _, p := range w.dirty {
		st := &w.txs[p]
		n := int(st.n)
		st.n, st.lim = 0, 0
		if n > 0 {
			w.send(p, st.ids[:n])
		}
	}
	w.dirty = w.dirty[:0]
}

func (w *Worker) send(port uint16, bufs []BufID) {
	t0 := w.tlast
	ps := w.touch(port)
	var q TxQueue
	if w.cur != nil && int(port) < len(w.cur.Tx) {
		q = w.cur.Tx[port]
	}
	if q == nil {
		w.pool.FreeN(bufs)
		ps.txDrops.add(uint64(len(bufs)))
		w.tx.drops[txDropNoQueue] += uint64(len(bufs))
		w.tlast = w.now()
		w.tx.record(len(bufs), w.tlast-t0)
		return
	}
	if w.ob != nil {
		w.observeTx(port, bufs)
	}
	// Bytes are counted before Tx: the queue owns the buffers once it is
	// called and frees them, which clears a chain's links (a large
	// frame's pieces). Their metadata otherwise stays until they are
	// allocated again, which no Tx does: the frames not sent, rare, come
	// off after, with the chained ones' extra bytes noted here.
	meta := w.pool.meta
	var bytes uint64
	var chained uint32
	for _, id := range bufs {
		m := &meta[id]
		bytes += uint64(m.Len)
		chained |= m.Next
	}
	w.txChains = w.txChains[:0]
	if chained != 0 {
		bytes += w.chainExtra(bufs, true)
	}
	sent, _ := q.Tx(bufs)
	sent = min(max(sent, 0), len(bufs))
	if sent < len(bufs) {
		for _, id := range bufs[sent:] {
			bytes -= uint64(meta[id].Len)
		}
		for _, c := range w.txChains {
			if c.i >= sent {
				bytes -= uint64(c.extra)
			}
		}
	}
	ps.txPackets.add(uint64(sent))
	ps.txBytes.add(bytes)
	if d := len(bufs) - sent; d > 0 {
		ps.txDrops.add(uint64(d))
		w.tx.drops[txDropNotSent] += uint64(d)
	}
	w.tlast = w.now()
	w.tx.record(len(bufs), w.tlast-t0)
}

// chainExtra is the bytes of the frames of bufs beyond their first
// buffers; note keeps each chained frame's in txChains.
func (w *Worker) chainExtra(bufs []BufID, note bool) uint64 {
	var n uint64
	meta := w.pool.meta
	for i, id := range bufs {
		if meta[id].Next == 0 {
			continue
		}
		extra := uint32(w.pool.ChainLen(id)) - uint32(meta[id].Len)
		n += uint64(extra)
		if note {
			w.txChains = append(w.txChains, chainBytes{i, extra})
		}
	}
	return n
}

// chainBytes notes a chained frame of a tx batch: its index in the batch
// and its bytes beyond the first buffer.
type chainBytes struct {
	i     int
	extra uint32
}

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
	t0 := w.now()
	n.impl.Process(f)
	w.dispatch(n, f)
	n.active = false
	n.stats.record(len(ids), w.now()-t0)
	for r, c := range n.drops {
		if c != 0 {
			n.stats.drops[r].add(c)
			n.drops[r] = 0
		}
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
			n.drops[len(n.drops)-1]++
			return
		}
		w.runNode(n)
	}
	n.pend = append(n.pend, id)
}

func (w *Worker) overflow(n *nodeRT, ids []BufID) {
	w.pool.FreeN(ids)
	n.drops[len(n.drops)-1] += uint64(len(ids))
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

// stageTx adds a buffer to the port's tx batch, sending the batch when full.
// The common case (a batch with room) is small enough to inline.
func (w *Worker) stageTx(port uint16, id BufID) {
	if int(port) < MaxPorts && w.mark[port] && w.txn[port] < VectorSize-1 {
		w.txbuf[int(port)*VectorSize+int(w.txn[port])] = id
		w.txn[port]++
		return
	}
	w.stageTxSlow(port, id)
}

func (w *Worker) stageTxSlow(port uint16, id BufID) {
	if int(port) >= MaxPorts {
		w.pool.Free(id)
		w.tx.drops[txDropBadPort].add(1)
		return
	}
	n := w.txn[port]
	if !w.mark[port] {
		w.mark[port] = true
		w.dirty = append(w.dirty, port)
	}
	base := int(port) * VectorSize
	w.txbuf[base+int(n)] = id
	n++
	if n == VectorSize {
		w.txn[port] = 0
		w.send(port, w.txbuf[base:base+VectorSize])
		return
	}
	w.txn[port] = n
}

// flushTx sends every staged batch.
func (w *Worker) flushTx() {
	for _, p := range w.dirty {
		n := int(w.txn[p])
		w.txn[p] = 0
		w.mark[p] = false
		if n > 0 {
			base := int(p) * VectorSize
			w.send(p, w.txbuf[base:base+n])
		}
	}
	w.dirty = w.dirty[:0]
}

func (w *Worker) send(port uint16, bufs []BufID) {
	t0 := w.now()
	ps := &w.ports[port]
	var q TxQueue
	if w.cur != nil && int(port) < len(w.cur.Tx) {
		q = w.cur.Tx[port]
	}
	if q == nil {
		w.pool.FreeN(bufs)
		ps.txDrops.add(uint64(len(bufs)))
		w.tx.drops[txDropNoQueue].add(uint64(len(bufs)))
		w.tx.record(len(bufs), w.now()-t0)
		return
	}
	// Bytes are summed first: the queue owns the buffers once Tx is called.
	var bytes [VectorSize + 1]uint32
	for i, id := range bufs {
		bytes[i+1] = bytes[i] + uint32(w.pool.meta[id].Len)
	}
	sent, _ := q.Tx(bufs)
	sent = min(max(sent, 0), len(bufs))
	ps.txPackets.add(uint64(sent))
	ps.txBytes.add(uint64(bytes[sent]))
	if d := len(bufs) - sent; d > 0 {
		ps.txDrops.add(uint64(d))
		w.tx.drops[txDropNotSent].add(uint64(d))
	}
	w.tx.record(len(bufs), w.now()-t0)
}

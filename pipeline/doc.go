// Package pipeline is Vecswitch's packet-vector graph engine. It knows no
// protocol: it moves integer buffer IDs between nodes and ports.
//
// # Buffers
//
// A Pool owns one mmap'd arena of fixed-size frames (FrameSize bytes each,
// addressed by BufID) and a parallel array of per-buffer Meta. Packet data
// starts Headroom bytes into its frame so encapsulation can prepend headers in
// place. A Pool belongs to one worker: Alloc and Free are not safe for
// concurrent use, so they need no lock. When AF_XDP is used the arena is the
// UMEM, so a frame never has to be copied between sockets of one worker.
//
// # Graph
//
// A Graph is built once from NodeSpecs. Each spec names its next nodes and its
// drop reasons; names are resolved to indices when the graph is built, so the
// per-packet path only deals in small integers. Each Worker instantiates its
// own copy of every node (NodeSpec.New), so node state is never shared.
//
// A node's Process receives a Frame of up to VectorSize buffers and writes one
// next index per packet (or Drop, or Taken for buffers it handed on itself).
// The worker then groups the vector by next node (VPP's enqueue_to_next),
// copying runs of equal next indices in one step, and runs every node that
// has pending packets until the graph is empty. Drops are counted per node and
// reason; a dropped buffer goes straight back to the pool.
//
// # Workers
//
// A Worker owns a Pool, a private copy of the graph and a poll list of
// (rx queue, port) pairs plus one tx queue per port. Its loop is: poll each rx
// queue, run the resulting vector through the graph, flush the tx batches
// staged by nodes. The poll list is published with an atomic pointer and
// loaded once per iteration; Quiesce lets the control plane wait until a
// worker no longer uses an older list before it closes queues. Counters are
// written by their worker only and read by anyone with atomic loads, so
// reading them never stops or races with the data plane.
package pipeline

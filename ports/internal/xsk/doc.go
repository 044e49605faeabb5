// Package xsk is Vecswitch's AF_XDP socket layer, on golang.org/x/sys/unix
// and github.com/cilium/ebpf. It replaces github.com/asavie/xdp, whose
// defects a switch cannot live with (see the ports issue): here the UMEM is
// the caller's memory (the pipeline's buffer arena), sockets on other
// devices and queues share it (XDP_SHARED_UMEM, each with its own fill and
// completion rings), rings use cached indices and atomic loads and stores,
// need_wakeup is honoured, transmit kicks until the kernel has taken the
// ring, every error is returned (never a panic), and Close unmaps and closes
// everything, so a queue can be bound again in the same process.
//
// The four rings of a socket are single-producer, single-consumer queues
// shared with the kernel. Each side owns one index; this package caches the
// other side's index and reads the shared atomic only when the cache runs
// out (gVisor's pkg/xdp does the same). A Socket and its rings are used by
// one goroutine at a time.
//
// Program is the XDP program that steers frames of each rx queue to the
// socket bound to it (an XSKMAP redirect), falling back to XDP_PASS so that
// queues without a socket keep working. It is assembled in Go (cilium/ebpf
// asm), needs no C compiler, and is attached with a BPF link so it always
// detaches when closed.
//
// Both move to another process (adopt_linux.go,
// program_handover_linux.go): Adopt maps a received socket's rings and
// takes each index where the giver left it (ours to produce on fill and
// tx, ours to consume on rx and completion). Of the program only the link
// moves: AdoptLink checks it is an XDP link on the device, StageProgram
// loads the taker's own program (with its own XSKMAP of the adopted
// sockets) for it, and Swap, once the taker is ready, swaps it in
// atomically; Reinstate swaps the giver's back if the takeover is
// abandoned. The link keeps the device's attachment while
// either process holds it, so the device is never without a program.
package xsk

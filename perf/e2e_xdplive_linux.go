package perf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The xdp-live generator: BPF_PROG_RUN in live-frame mode (as
// xdp-trafficgen does it). The kernel copies the frame into page-pool
// pages and runs a program that returns XDP_TX on each; in live mode
// XDP_TX becomes a redirect out of the ingress device, so every frame is
// handed to the sender's eth0's ndo_xdp_xmit and arrives at the veth's
// host end as an xdp_frame, with no socket, no skb and no syscall per
// frame on the sender's side. The host end takes such frames only while it
// runs NAPI (GRO on or an XDP program attached): startUDPGenerator turns
// GRO on.
//
// Every run with Repeat above 1 adds the program to the kernel's XDP
// dispatcher and removes it again (bpf_prog_change_xdp), each change
// waiting for an RCU grace period: some 40 ms a run on the reference VM,
// which caps a 256-frame run at a few thousand frames/s. A program that is
// attached to a device stays in the dispatcher and the change is only a
// reference count, so the generator keeps its program attached, in driver
// mode, to a spare veth pair inside the sender's namespace (the anchor)
// that carries no traffic; the program passes any frame not run on eth0.

// testXDPLiveFrames is BPF_F_TEST_XDP_LIVE_FRAMES.
const testXDPLiveFrames = 1 << 1

// Program runs. The kernel sends a run's frames in batches of BatchSize
// (each page-pool page is reused from batch to batch within a run, but a
// run starts with a fresh pool) and checks for signals between batches: a
// run cut short returns EINTR, and cilium/ebpf then repeats the whole run,
// so the frames sent before the cut would go uncounted. The generator's
// thread therefore blocks every signal it can (Go's preemption signal
// included: its loop is preempted at function calls); only SIGKILL,
// SIGSTOP and freezing can still cut a run, and then the sink counting
// more than was sent shows it.
const (
	// liveFullRun and liveFullBatch are the runs at full rate: 4096
	// frames (a few milliseconds) in the kernel's default batches of 64,
	// which leave room in the veth's 256-frame XDP ring.
	liveFullRun   = 4096
	liveFullBatch = 64
	// liveBatch is the most frames a paced run sends (half a millisecond
	// of frames: 150 at 0.3 Mpps), in batches of liveFullBatch too: one
	// batch of 256 filled the veth's ring at once and lost frames at 1
	// Mpps (measured), batches of 64 let its NAPI drain between them.
	liveBatch = 256
)

// xdpTX is the XDP_TX action.
const xdpTX = 3

// liveInstructions return XDP_TX for frames whose ingress device is
// ifindex and XDP_PASS for any other.
func liveInstructions(ifindex int) asm.Instructions {
	return asm.Instructions{
		asm.Mov.Imm(asm.R0, xdpPass),
		asm.LoadMem(asm.R2, asm.R1, 12, asm.Word), // ingress_ifindex
		asm.JNE.Imm(asm.R2, int32(ifindex), "out"),
		asm.Mov.Imm(asm.R0, xdpTX),
		asm.Return().WithSymbol("out"),
	}
}

// xdpMD is struct xdp_md, the context of BPF_PROG_RUN for XDP.
type xdpMD struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

// ErrXDPLiveRefused is wrapped when the kernel does not run XDP programs in
// live-frame mode (before Linux 5.18, or not for this device).
var ErrXDPLiveRefused = errors.New("perf: the kernel refuses BPF_PROG_RUN in live-frame mode (BPF_F_TEST_XDP_LIVE_FRAMES), which the xdp-live generator needs")

// startLiveGenerator sends frame out of the sender's eth0 from a thread
// inside its namespace pinned to cpu, at rate frames/s (0: as fast as the
// kernel runs them). id names the anchor veth.
func startLiveGenerator(e *endpoint, id string, frame []byte, cpu, rate int) (g *generator, err error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "vsb_gen_tx", Type: ebpf.XDP, License: "Dual MIT/GPL",
		Instructions: liveInstructions(e.inIx)})
	if err != nil {
		return nil, fmt.Errorf("perf: load xdp-live generator program: %w", err)
	}
	unanchor, err := anchorProgram(e, "vsb"+id+"g", prog)
	if err != nil {
		return nil, errors.Join(err, prog.Close())
	}
	g = &generator{done: make(chan error, 1)}
	ready := make(chan error, 1)
	go func() {
		err := offMainThread(func() error { return g.runLive(e, prog, frame, cpu, rate, ready) })
		g.done <- errors.Join(err, unanchor(), prog.Close())
	}()
	if err := <-ready; err != nil {
		return nil, errors.Join(err, <-g.done)
	}
	return g, nil
}

// anchorProgram makes a veth pair name0/name1 in e's namespace and
// attaches prog to name0 in driver mode, which keeps it in the XDP
// dispatcher; the returned function detaches it and deletes the pair.
func anchorProgram(e *endpoint, name string, prog *ebpf.Program) (undo func() error, err error) {
	la := netlink.NewLinkAttrs()
	la.Name = name + "0"
	if err := e.nl.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: name + "1"}); err != nil {
		return nil, fmt.Errorf("perf: create anchor veth %s in %s: %w", la.Name, e.nsName, err)
	}
	del := func() error {
		l, err := e.nl.LinkByName(la.Name)
		if err != nil {
			return nil // gone already
		}
		if err := e.nl.LinkDel(l); err != nil {
			return fmt.Errorf("perf: delete anchor veth %s in %s: %w", la.Name, e.nsName, err)
		}
		return nil
	}
	l, err := e.nl.LinkByName(la.Name)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("perf: anchor veth %s in %s: %w", la.Name, e.nsName, err), del())
	}
	var lk link.Link
	err = onThreadIn(e.ns, func() error {
		var err error
		lk, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: l.Attrs().Index, Flags: link.XDPDriverMode})
		return err
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("perf: attach the xdp-live program to %s in %s: %w", la.Name, e.nsName, err), del())
	}
	return func() error { return errors.Join(lk.Close(), del()) }, nil
}

// runLive owns its OS thread for good, as run does. Its first program run
// sends one frame and tells whether the kernel takes live frames at all;
// it sends one value on ready.
func (g *generator) runLive(e *endpoint, prog *ebpf.Program, frame []byte, cpu, rate int, ready chan<- error) (err error) {
	started := false
	defer func() {
		if r := recover(); r != nil {
			err = errors.Join(err, fmt.Errorf("perf: xdp-live generator panicked: %v", r))
		}
		if !started {
			ready <- err
		}
	}()
	// The kernel looks ingress_ifindex up in the calling thread's
	// namespace.
	if err := enterForGood(e.ns); err != nil {
		return err
	}
	if err := pinThread(cpu); err != nil {
		return err
	}
	if err := blockSignals(); err != nil {
		return err
	}
	opts := ebpf.RunOptions{Data: frame, Flags: testXDPLiveFrames, Repeat: 1, BatchSize: 1,
		Context: xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: uint32(e.inIx)}}
	if _, err := prog.Run(&opts); err != nil {
		return fmt.Errorf("%w: %s in %s: %w", ErrXDPLiveRefused, innerIfname, e.nsName, err)
	}
	g.sent.Store(1)
	started = true
	ready <- nil
	return g.liveLoop(prog, &opts, rate)
}

// liveLoop runs the program until stopped: full-rate runs, or one batch
// per run paced to rate as the AF_XDP generator's loop is. sent counts
// the frames of every run that succeeded (the kernel may still drop some
// on the way: the links' counters tell).
func (g *generator) liveLoop(prog *ebpf.Program, opts *ebpf.RunOptions, rate int) error {
	sent := g.sent.Load()
	pace := newPacer(rate, liveBatch, sent)
	for !g.stopReq.Load() {
		n, batch := liveFullRun, liveFullBatch
		if rate > 0 {
			if n = pace.next(sent, liveBatch); n == 0 {
				continue
			}
			batch = min(n, liveFullBatch)
		}
		opts.Repeat, opts.BatchSize = uint32(n), uint32(batch)
		if _, err := prog.Run(opts); err != nil {
			return fmt.Errorf("perf: xdp-live generator: program run of %d frames: %w", n, err)
		}
		sent += uint64(n)
		g.sent.Store(sent)
	}
	return nil
}

// blockSignals blocks every signal on the calling thread, which must be
// locked to its goroutine for good (enterForGood): the kernel then never
// sees a signal pending there, and other threads take the process's
// signals.
func blockSignals() error {
	var all unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^all.Val[i] // every bit set, whatever the word size
	}
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &all, nil); err != nil {
		return fmt.Errorf("perf: block signals on the generator's thread: %w", err)
	}
	return nil
}

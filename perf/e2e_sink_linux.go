package perf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netns"
)

// sink is an XDP program on the receiver's eth0 that counts the
// generator's frames (IPv4, UDP, destination port sinkUDPPort) in a per-CPU
// array and drops them; it counts every other frame in a second slot and
// passes it to the stack (ARP and neighbour discovery keep working).
type sink struct {
	prog   *ebpf.Program
	counts *ebpf.Map
	link   link.Link
}

// XDP actions.
const (
	xdpDrop = 1
	xdpPass = 2
)

// sink counter slots.
const (
	sinkOurs = iota
	sinkOther
)

func sinkInstructions(counts *ebpf.Map) asm.Instructions {
	// Offsets in the frame: EtherType 12, IPv4 protocol 23, UDP
	// destination port 36. Loads are little-endian, so the big-endian
	// wire values are compared byte-swapped.
	const (
		ethIPv4 = 0x0008
		udpDst  = sinkUDPPort>>8 | (sinkUDPPort&0xff)<<8
	)
	return asm.Instructions{
		asm.Mov.Imm(asm.R7, sinkOther),           // key
		asm.Mov.Imm(asm.R8, xdpPass),             // action
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word), // data
		asm.LoadMem(asm.R3, asm.R1, 4, asm.Word), // data_end
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.Add.Imm(asm.R4, 38),
		asm.JGT.Reg(asm.R4, asm.R3, "count"),
		asm.LoadMem(asm.R5, asm.R2, 12, asm.Half),
		asm.JNE.Imm(asm.R5, ethIPv4, "count"),
		asm.LoadMem(asm.R5, asm.R2, 23, asm.Byte),
		asm.JNE.Imm(asm.R5, 17, "count"),
		asm.LoadMem(asm.R5, asm.R2, 36, asm.Half),
		asm.JNE.Imm(asm.R5, udpDst, "count"),
		asm.Mov.Imm(asm.R7, sinkOurs),
		asm.Mov.Imm(asm.R8, xdpDrop),
		asm.StoreMem(asm.RFP, -4, asm.R7, asm.Word).WithSymbol("count"),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, counts.FD()),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord),
		asm.Add.Imm(asm.R1, 1),
		asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),
		asm.Mov.Reg(asm.R0, asm.R8).WithSymbol("out"),
		asm.Return(),
	}
}

// newSink loads the program and attaches it, in driver mode, to ifindex in
// the namespace ns with a BPF link (closing the link detaches it).
func newSink(ns netns.NsHandle, ifindex int) (*sink, error) {
	counts, err := ebpf.NewMap(&ebpf.MapSpec{Name: "vsb_sink", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	if err != nil {
		return nil, fmt.Errorf("perf: sink map: %w", err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "vsb_sink", Type: ebpf.XDP,
		Instructions: sinkInstructions(counts), License: "Dual MIT/GPL"})
	if err != nil {
		counts.Close()
		return nil, fmt.Errorf("perf: load sink program: %w", err)
	}
	s := &sink{prog: prog, counts: counts}
	err = onThreadIn(ns, func() error {
		var err error
		s.link, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifindex, Flags: link.XDPDriverMode})
		return err
	})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("perf: attach sink to ifindex %d: %w", ifindex, err)
	}
	return s, nil
}

// read returns the counts summed over CPUs.
func (s *sink) read() (ours, other uint64, err error) {
	for key, dst := range []*uint64{&ours, &other} {
		var per []uint64
		if err := s.counts.Lookup(uint32(key), &per); err != nil {
			return 0, 0, fmt.Errorf("perf: read sink: %w", err)
		}
		for _, v := range per {
			*dst += v
		}
	}
	return ours, other, nil
}

func (s *sink) close() error {
	var errs []error
	if s.link != nil {
		errs = append(errs, s.link.Close())
	}
	return errors.Join(append(errs, s.prog.Close(), s.counts.Close())...)
}

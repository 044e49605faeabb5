package fastpath

import "github.com/cilium/ebpf/asm"

// XDP actions.
const (
	xdpDrop     = 1
	xdpPass     = 2
	xdpRedirect = 4
)

// struct xdp_md offsets.
const (
	mdData         = 0
	mdDataEnd      = 4
	mdIngressIfidx = 12
	mdRxQueue      = 16
)

// Map references of the program, resolved per Program with
// asm.Instructions.AssociateMap.
const (
	refPorts    = "ports"
	refVLANs    = "vlans"
	refFDB      = "fdb"
	refDevmap   = "devmap"
	refPortMax  = "port_max"
	refEntryCtr = "entry_ctr"
	refPortCtr  = "port_ctr"
	refMissCtr  = "miss_ctr"
	refAllow4   = "allow4"
	refAllow6   = "allow6"
	refXSKs     = "xsks"
)

// Stack slots (offsets from R10).
const (
	stKey     = -8  // fdb key: MAC at -8, domain at -2
	stMisc    = -16 // port key (u32) or VLAN key (8 bytes)
	stInLen   = -20 // u32 ingress length
	stSrcSlot = -24 // u32 source entry slot
	stOutLen  = -28 // u32 length the frame leaves with
	stIdx     = -32 // u32 counter array index
	stNH      = -36 // u32 an IPv6 frame's next header (secured ports)
	stL3      = -80 // 40 bytes: a secured port's IP header, then the allow key in it
)

const taggedBit = 1 << 16 // in R9: the frame arrived tagged; low 16 bits: its TCI

// program returns the fast-path XDP program. Registers that live across
// helper calls:
//
//	R6  ctx
//	R7  the ingress port's configuration (map value), once found
//	R8  the destination's fdb value on the hit path; the column of the miss
//	    counter on the miss path
//	R9  TCI of the arrival tag and taggedBit, or 0 if untagged; later a
//	    port's counters (map value), to add to after a helper call
//
// Packet pointers are reloaded from ctx after every helper call (the
// verifier forgets them, and bpf_xdp_adjust_head moves them).
func program() asm.Instructions {
	var p asm.Instructions
	add := func(ins ...asm.Instruction) { p = append(p, ins...) }
	// loadPkt: R2 = data, R3 = data_end, and a bounds check of n bytes
	// that jumps to fail when the frame is shorter.
	loadPkt := func(n int32, fail string) {
		add(
			asm.LoadMem(asm.R2, asm.R6, mdData, asm.Word),
			asm.LoadMem(asm.R3, asm.R6, mdDataEnd, asm.Word),
			asm.Mov.Reg(asm.R1, asm.R2),
			asm.Add.Imm(asm.R1, n),
			asm.JGT.Reg(asm.R1, asm.R3, fail),
		)
	}
	// lookup: R0 = map[ref][*(R10+key)].
	lookup := func(ref string, key int16) {
		add(
			asm.Mov.Reg(asm.R2, asm.R10),
			asm.Add.Imm(asm.R2, int32(key)),
			asm.LoadMapPtr(asm.R1, 0).WithReference(ref),
			asm.FnMapLookupElem.Call(),
		)
	}
	// inc64: *(u64 *)(reg+off) += src (a register) — per-CPU, no atomics.
	inc64 := func(reg asm.Register, off int16, src asm.Register) {
		add(
			asm.LoadMem(asm.R1, reg, off, asm.DWord),
			asm.Add.Reg(asm.R1, src),
			asm.StoreMem(reg, off, asm.R1, asm.DWord),
		)
	}

	// The ingress port's configuration; without one the port is not in
	// the fast path: straight to the AF_XDP socket, uncounted.
	add(
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R1, asm.R6, mdIngressIfidx, asm.Word),
		asm.StoreMem(asm.R10, stMisc, asm.R1, asm.Word),
	)
	lookup(refPorts, stMisc)
	add(
		asm.JEq.Imm(asm.R0, 0, "slow"),
		asm.Mov.Reg(asm.R7, asm.R0),
		asm.LoadMem(asm.R1, asm.R7, portValFlags, asm.Half),
		asm.JSet.Imm(asm.R1, portFlagSlowPath, "miss_forced"),
	)

	// The frame's length as received, for the byte counters. (The
	// helper, not data_end - data: subtracting packet pointers needs
	// CAP_PERFMON.)
	add(
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.FnXdpGetBuffLen.Call(),
		asm.StoreMem(asm.R10, stInLen, asm.R0, asm.Word),
	)

	// Ethernet header: group addresses go to the slow path.
	loadPkt(14, "miss_malformed")
	add(
		asm.LoadMem(asm.R1, asm.R2, 0, asm.Byte),
		asm.JSet.Imm(asm.R1, 1, "miss_group_dst"),
		asm.LoadMem(asm.R1, asm.R2, 6, asm.Byte),
		asm.JSet.Imm(asm.R1, 1, "miss_group_src"),
		asm.Mov.Imm(asm.R9, 0),
		asm.LoadMem(asm.R1, asm.R2, 12, asm.Half),
		asm.HostTo(asm.BE, asm.R1, asm.Half),
		// An 802.1ad (QinQ) tag is the pipeline's to judge: switched as
		// untagged, it would cross VLANs from an access port.
		asm.JEq.Imm(asm.R1, 0x88a8, "miss_vlan"),
		asm.JNE.Imm(asm.R1, 0x8100, "untagged"),

		// 802.1Q: the domain of (ingress port, VID) from the VLAN map.
		asm.Mov.Reg(asm.R1, asm.R2),
		asm.Add.Imm(asm.R1, 18),
		asm.JGT.Reg(asm.R1, asm.R3, "miss_malformed"),
		asm.LoadMem(asm.R9, asm.R2, 14, asm.Half),
		asm.HostTo(asm.BE, asm.R9, asm.Half),
		asm.Mov.Reg(asm.R1, asm.R9),
		asm.And.Imm(asm.R1, 0x0fff),
		asm.JEq.Imm(asm.R1, 0, "miss_malformed"),
		asm.LoadMem(asm.R2, asm.R6, mdIngressIfidx, asm.Word),
		asm.StoreMem(asm.R10, stMisc, asm.R2, asm.Word),
		asm.StoreMem(asm.R10, stMisc+4, asm.R1, asm.Half),
		asm.StoreImm(asm.R10, stMisc+6, 0, asm.Half),
	)
	lookup(refVLANs, stMisc)
	add(
		asm.JEq.Imm(asm.R0, 0, "miss_vlan"),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.Half),
		asm.Or.Imm(asm.R9, taggedBit),
		asm.Ja.Label("domain"),

		// Untagged: the port's own domain, if it takes untagged frames.
		asm.LoadMem(asm.R1, asm.R7, portValFlags, asm.Half).WithSymbol("untagged"),
		asm.And.Imm(asm.R1, portFlagUntagged),
		asm.JEq.Imm(asm.R1, 0, "miss_vlan"),
		asm.LoadMem(asm.R1, asm.R7, portValDomain, asm.Half),

		asm.StoreMem(asm.R10, stKey+6, asm.R1, asm.Half).WithSymbol("domain"),
	)

	// The source must be learned on this port in this domain.
	loadPkt(14, "miss_malformed")
	add(
		asm.LoadMem(asm.R1, asm.R2, 6, asm.Word),
		asm.StoreMem(asm.R10, stKey, asm.R1, asm.Word),
		asm.LoadMem(asm.R1, asm.R2, 10, asm.Half),
		asm.StoreMem(asm.R10, stKey+4, asm.R1, asm.Half),
	)
	lookup(refFDB, stKey)
	add(
		asm.JEq.Imm(asm.R0, 0, "miss_src_unknown"),
		asm.LoadMem(asm.R1, asm.R0, fdbValIfindex, asm.Word),
		asm.LoadMem(asm.R2, asm.R6, mdIngressIfidx, asm.Word),
		asm.JNE.Reg(asm.R1, asm.R2, "miss_src_unknown"),
		asm.LoadMem(asm.R1, asm.R0, fdbValSlot, asm.Word),
		asm.StoreMem(asm.R10, stSrcSlot, asm.R1, asm.Word),
		// A secured port's frame must pass its address guards first
		// (out of line, below: other ports pay two instructions).
		asm.LoadMem(asm.R1, asm.R7, portValFlags, asm.Half),
		asm.JSet.Imm(asm.R1, portFlagSecured, "secured"),
	)

	// The destination.
	dst := len(p)
	loadPkt(14, "miss_malformed")
	p[dst] = p[dst].WithSymbol("dst")
	add(
		asm.LoadMem(asm.R1, asm.R2, 0, asm.Word),
		asm.StoreMem(asm.R10, stKey, asm.R1, asm.Word),
		asm.LoadMem(asm.R1, asm.R2, 4, asm.Half),
		asm.StoreMem(asm.R10, stKey+4, asm.R1, asm.Half),
	)
	lookup(refFDB, stKey)
	add(
		asm.JEq.Imm(asm.R0, 0, "miss_dst_unknown"),
		asm.Mov.Reg(asm.R8, asm.R0),
		asm.LoadMem(asm.R2, asm.R8, fdbValIfindex, asm.Word),
		asm.LoadMem(asm.R1, asm.R6, mdIngressIfidx, asm.Word),
		asm.JEq.Reg(asm.R1, asm.R2, "miss_hairpin"),
		// bpf_redirect_map(devmap, egress ifindex, 0): XDP_REDIRECT, or
		// XDP_ABORTED when the port is not in the DEVMAP.
		asm.LoadMapPtr(asm.R1, 0).WithReference(refDevmap),
		asm.Mov.Imm(asm.R3, 0),
		asm.FnRedirectMap.Call(),
		asm.JNE.Imm(asm.R0, xdpRedirect, "miss_egress_off"),

		// The length the frame leaves with (a tag pushed: +4, popped: -4)
		// against the egress port's MaxFrame, before anything changes the
		// frame: a frame the port cannot send goes to the slow path whole,
		// where the pipeline drops and counts it (too-big), instead of
		// the kernel dropping it silently at the redirect.
		asm.LoadMem(asm.R1, asm.R10, stInLen, asm.Word),
		asm.LoadMem(asm.R2, asm.R8, fdbValVID, asm.Half),
		asm.JSet.Imm(asm.R9, taggedBit, "len_tagged"),
		asm.JEq.Imm(asm.R2, 0, "len_done"),
		asm.Add.Imm(asm.R1, 4),
		asm.Ja.Label("len_done"),
		asm.JNE.Imm(asm.R2, 0, "len_done").WithSymbol("len_tagged"),
		asm.Sub.Imm(asm.R1, 4),
		asm.StoreMem(asm.R10, stOutLen, asm.R1, asm.Word).WithSymbol("len_done"),
		asm.LoadMem(asm.R1, asm.R8, fdbValPort, asm.Half),
		asm.StoreMem(asm.R10, stIdx, asm.R1, asm.Word),
	)
	lookup(refPortMax, stIdx)
	add(
		asm.JEq.Imm(asm.R0, 0, "tag"),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.Word),
		asm.JEq.Imm(asm.R1, 0, "tag"),
		asm.LoadMem(asm.R2, asm.R10, stOutLen, asm.Word),
		asm.JGT.Reg(asm.R2, asm.R1, "miss_too_big"),

		// Egress tagging. The redirect target is recorded; the frame may
		// still change until the program returns.
		asm.LoadMem(asm.R1, asm.R8, fdbValVID, asm.Half).WithSymbol("tag"),
		asm.JSet.Imm(asm.R9, taggedBit, "in_tagged"),
		asm.JEq.Imm(asm.R1, 0, "count"),
		// Push: 4 bytes of headroom, MACs moved to the front, tag after.
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.Mov.Imm(asm.R2, -4),
		asm.FnXdpAdjustHead.Call(),
		asm.JNE.Imm(asm.R0, 0, "miss_headroom"),
	)
	loadPkt(18, "error") // cannot fail: 14 bytes were there before
	add(
		asm.LoadMem(asm.R1, asm.R2, 4, asm.Word),
		asm.StoreMem(asm.R2, 0, asm.R1, asm.Word),
		asm.LoadMem(asm.R1, asm.R2, 8, asm.Word),
		asm.StoreMem(asm.R2, 4, asm.R1, asm.Word),
		asm.LoadMem(asm.R1, asm.R2, 12, asm.Word),
		asm.StoreMem(asm.R2, 8, asm.R1, asm.Word),
		asm.Mov.Imm(asm.R1, 0x8100),
		asm.HostTo(asm.BE, asm.R1, asm.Half),
		asm.StoreMem(asm.R2, 12, asm.R1, asm.Half),
		asm.LoadMem(asm.R1, asm.R8, fdbValVID, asm.Half),
		asm.HostTo(asm.BE, asm.R1, asm.Half),
		asm.StoreMem(asm.R2, 14, asm.R1, asm.Half),
		asm.Ja.Label("count"),

		// Arrived tagged: pop, or rewrite the VID keeping PCP and DEI.
		asm.JEq.Imm(asm.R1, 0, "pop").WithSymbol("in_tagged"),
		asm.Mov.Reg(asm.R4, asm.R1),
	)
	loadPkt(18, "miss_malformed")
	add(
		asm.Mov.Reg(asm.R1, asm.R9),
		asm.And.Imm(asm.R1, 0xf000),
		asm.Or.Reg(asm.R1, asm.R4),
		asm.HostTo(asm.BE, asm.R1, asm.Half),
		asm.StoreMem(asm.R2, 14, asm.R1, asm.Half),
		asm.Ja.Label("count"),

		asm.Mov.Imm(asm.R0, 0).WithSymbol("pop"),
	)
	loadPkt(18, "miss_malformed")
	add(
		asm.LoadMem(asm.R1, asm.R2, 8, asm.Word),
		asm.StoreMem(asm.R2, 12, asm.R1, asm.Word),
		asm.LoadMem(asm.R1, asm.R2, 4, asm.Word),
		asm.StoreMem(asm.R2, 8, asm.R1, asm.Word),
		asm.LoadMem(asm.R1, asm.R2, 0, asm.Word),
		asm.StoreMem(asm.R2, 4, asm.R1, asm.Word),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.Mov.Imm(asm.R2, 4),
		asm.FnXdpAdjustHead.Call(),
		// The MACs are moved already: a failure here cannot be undone.
		// It cannot happen (18 bytes are there), but the frame is dropped
		// and counted if it does.
		asm.JNE.Imm(asm.R0, 0, "error"),
	)

	// Hit: count, and let the kernel redirect.
	add(
		asm.LoadMem(asm.R1, asm.R8, fdbValSlot, asm.Word).WithSymbol("count"),
		asm.StoreMem(asm.R10, stIdx, asm.R1, asm.Word),
	)
	lookup(refEntryCtr, stIdx)
	add(
		asm.JEq.Imm(asm.R0, 0, "count_src"),
		asm.Mov.Imm(asm.R2, 1),
	)
	inc64(asm.R0, entryCtrDst, asm.R2)
	add(asm.Mov.Imm(asm.R0, 0).WithSymbol("count_src"))
	lookup(refEntryCtr, stSrcSlot)
	add(
		asm.JEq.Imm(asm.R0, 0, "count_rx"),
		asm.Mov.Imm(asm.R2, 1),
	)
	inc64(asm.R0, entryCtrSrc, asm.R2)
	add(
		asm.LoadMem(asm.R1, asm.R7, portValSlot, asm.Word).WithSymbol("count_rx"),
		asm.StoreMem(asm.R10, stIdx, asm.R1, asm.Word),
	)
	lookup(refPortCtr, stIdx)
	add(
		asm.JEq.Imm(asm.R0, 0, "count_tx"),
		asm.Mov.Imm(asm.R2, 1),
	)
	inc64(asm.R0, portCtrRxPackets, asm.R2)
	add(asm.LoadMem(asm.R2, asm.R10, stInLen, asm.Word))
	inc64(asm.R0, portCtrRxBytes, asm.R2)
	add(
		asm.LoadMem(asm.R1, asm.R8, fdbValPort, asm.Half).WithSymbol("count_tx"),
		asm.StoreMem(asm.R10, stIdx, asm.R1, asm.Word),
	)
	lookup(refPortCtr, stIdx)
	add(
		asm.JEq.Imm(asm.R0, 0, "hit"),
		asm.Mov.Imm(asm.R2, 1),
	)
	inc64(asm.R0, portCtrTxPackets, asm.R2)
	add(
		asm.Mov.Reg(asm.R9, asm.R0),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.FnXdpGetBuffLen.Call(),
	)
	inc64(asm.R9, portCtrTxBytes, asm.R0)
	add(
		asm.Mov.Imm(asm.R0, xdpRedirect).WithSymbol("hit"),
		asm.Return(),
	)

	// A secured port's frame: an IPv4 or IPv6 source in the port's
	// allowed prefixes (the allow4 and allow6 tries, keyed by ingress
	// ifindex and address), and for IPv6 TCP or UDP right after the
	// fixed header; anything else is the pipeline's guards' to judge.
	// The IP header is copied to the stack with bpf_xdp_load_bytes: its
	// offset (14, or 18 under a tag) is variable, which direct packet
	// access would need CAP_PERFMON for. The allow key is built in place
	// over the header's leading bytes, ending at the source address.
	sec := len(p)
	loadPkt(14, "miss_malformed")
	p[sec] = p[sec].WithSymbol("secured")
	add(
		asm.LoadMem(asm.R5, asm.R2, 12, asm.Half),
		asm.Mov.Imm(asm.R4, 14),
		asm.JSet.Imm(asm.R9, taggedBit, "sec_tagged"),
		asm.Ja.Label("sec_ethertype"),
	)
	tagged := len(p)
	loadPkt(18, "miss_malformed")
	p[tagged] = p[tagged].WithSymbol("sec_tagged")
	add(
		asm.LoadMem(asm.R5, asm.R2, 16, asm.Half),
		asm.Mov.Imm(asm.R4, 18),
		asm.HostTo(asm.BE, asm.R5, asm.Half).WithSymbol("sec_ethertype"),
		asm.Mov.Reg(asm.R2, asm.R4), // offset of the IP header
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.Mov.Reg(asm.R3, asm.R10),
		asm.Add.Imm(asm.R3, stL3),
		asm.JEq.Imm(asm.R5, 0x0800, "sec_ip4"),
		asm.JNE.Imm(asm.R5, 0x86dd, "miss_guard"),

		// IPv6: the fixed header; next header at 6, source at 8.
		asm.Mov.Imm(asm.R4, 40),
		asm.FnXdpLoadBytes.Call(),
		asm.JNE.Imm(asm.R0, 0, "miss_guard"),
		asm.LoadMem(asm.R1, asm.R10, stL3+6, asm.Byte),
		asm.StoreMem(asm.R10, stNH, asm.R1, asm.Word),
		asm.StoreImm(asm.R10, stL3, 32+128, asm.Word),
		asm.LoadMem(asm.R1, asm.R6, mdIngressIfidx, asm.Word),
		asm.StoreMem(asm.R10, stL3+4, asm.R1, asm.Word),
	)
	lookup(refAllow6, stL3)
	add(
		asm.JEq.Imm(asm.R0, 0, "miss_src_ip"),
		asm.LoadMem(asm.R1, asm.R10, stNH, asm.Word),
		asm.JEq.Imm(asm.R1, 6, "dst"),  // TCP
		asm.JEq.Imm(asm.R1, 17, "dst"), // UDP
		asm.Ja.Label("miss_guard"),

		// IPv4: the fixed header; source at 12.
		asm.Mov.Imm(asm.R4, 20).WithSymbol("sec_ip4"),
		asm.FnXdpLoadBytes.Call(),
		asm.JNE.Imm(asm.R0, 0, "miss_guard"),
		asm.StoreImm(asm.R10, stL3+4, 32+32, asm.Word),
		asm.LoadMem(asm.R1, asm.R6, mdIngressIfidx, asm.Word),
		asm.StoreMem(asm.R10, stL3+8, asm.R1, asm.Word),
	)
	lookup(refAllow4, stL3+4)
	add(
		asm.JEq.Imm(asm.R0, 0, "miss_src_ip"),
		asm.Ja.Label("dst"),
	)

	// Misses: R8 = the reason's column in the port's row of miss counters.
	misses := []struct {
		label  string
		reason MissReason
	}{
		{"miss_forced", MissForced},
		{"miss_malformed", MissMalformed},
		{"miss_group_dst", MissGroupDst},
		{"miss_group_src", MissGroupSrc},
		{"miss_vlan", MissVLAN},
		{"miss_src_unknown", MissSrcUnknown},
		{"miss_src_ip", MissSrcIP},
		{"miss_guard", MissGuard},
		{"miss_dst_unknown", MissDstUnknown},
		{"miss_hairpin", MissHairpin},
		{"miss_egress_off", MissEgressOff},
		{"miss_too_big", MissTooBig},
		{"miss_headroom", MissHeadroom},
	}
	for _, m := range misses {
		add(
			asm.Mov.Imm(asm.R8, int32(m.reason)).WithSymbol(m.label),
			asm.Ja.Label("miss"),
		)
	}
	// missCount: miss_ctr[port slot*missRow + R8] += 1, then on to next.
	missCount := func(label, next string) {
		add(
			asm.LoadMem(asm.R1, asm.R7, portValSlot, asm.Word).WithSymbol(label),
			asm.Mul.Imm(asm.R1, missRow),
			asm.Add.Reg(asm.R1, asm.R8),
			asm.StoreMem(asm.R10, stIdx, asm.R1, asm.Word),
		)
		lookup(refMissCtr, stIdx)
		add(
			asm.JEq.Imm(asm.R0, 0, next),
			asm.Mov.Imm(asm.R2, 1),
		)
		inc64(asm.R0, 0, asm.R2)
	}
	missCount("miss", "slow_counted")
	// To the queue's AF_XDP socket, or the kernel stack when none is bound
	// (the low bits of the flags are the action on a failed lookup).
	add(
		asm.LoadMem(asm.R2, asm.R6, mdRxQueue, asm.Word).WithSymbol("slow_counted"),
		asm.LoadMapPtr(asm.R1, 0).WithReference(refXSKs),
		asm.Mov.Imm(asm.R3, xdpPass),
		asm.FnRedirectMap.Call(),
		asm.JNE.Imm(asm.R0, xdpPass, "out"),
		asm.Mov.Imm(asm.R8, missColSlowPass),
	)
	missCount("count_pass", "pass")
	add(
		asm.Mov.Imm(asm.R0, xdpPass).WithSymbol("pass"),
		asm.Return().WithSymbol("out"),

		// Uncounted slow path: the port has no configuration.
		asm.LoadMem(asm.R2, asm.R6, mdRxQueue, asm.Word).WithSymbol("slow"),
		asm.LoadMapPtr(asm.R1, 0).WithReference(refXSKs),
		asm.Mov.Imm(asm.R3, xdpPass),
		asm.FnRedirectMap.Call(),
		asm.Return(),

		// A half-done VLAN pop: drop and count.
		asm.Mov.Imm(asm.R8, missColErrors).WithSymbol("error"),
	)
	missCount("count_error", "drop")
	add(
		asm.Mov.Imm(asm.R0, xdpDrop).WithSymbol("drop"),
		asm.Return(),
	)
	return p
}

package fastpath

// The binary layouts of the maps, shared by the Go side (which marshals
// these structs in host byte order) and the program (which uses the
// offsets below). Multi-byte integers are in host order, MACs in wire
// order. The package doc draws them.

// fdbKey is the key of the fdb hash: a MAC in a domain, packed in 8 bytes.
type fdbKey struct {
	MAC    MAC
	Domain uint16
}

// fdbValue is the value of the fdb hash.
type fdbValue struct {
	Ifindex uint32 // egress port
	Slot    uint32 // entry counter slot
	VID     uint16 // egress VID, 0 untagged
	Port    uint16 // egress port's counter slot
	Flags   uint32 // reserved, zero
}

const (
	fdbValIfindex = 0
	fdbValSlot    = 4
	fdbValVID     = 8
	fdbValPort    = 10
)

// portValue is the value of the port configuration hash, keyed by the
// ingress ifindex (u32).
type portValue struct {
	Domain uint16 // domain of untagged frames
	Flags  uint16 // portFlag*
	Slot   uint32 // port counter slot
}

const (
	portValDomain = 0
	portValFlags  = 2
	portValSlot   = 4
)

// Port flags.
const (
	portFlagSlowPath = 1 << 0 // everything to the slow path
	portFlagUntagged = 1 << 1 // untagged frames belong to Domain
	portFlagSecured  = 1 << 2 // IP sources checked against the allow maps
)

// allow4Key and allow6Key are the keys of the source LPM tries of secured
// ports (PortConfig.Sources), one per family: the ingress ifindex (host
// order; always matched whole) then the address (wire order). Prefixlen
// counts the bits of both: 32 + the prefix's length in the map, 32 + 32
// or 32 + 128 in the program's lookups. The value (a u32, zero) is not
// read: a match is the answer.
type allow4Key struct {
	Prefixlen uint32
	Ifindex   uint32
	Addr      [4]byte
}

type allow6Key struct {
	Prefixlen uint32
	Ifindex   uint32
	Addr      [16]byte
}

// vlanKey is the key of the trunk VLAN hash.
type vlanKey struct {
	Ifindex uint32
	VID     uint16
	Pad     uint16
}

// vlanValue is the value of the trunk VLAN hash.
type vlanValue struct {
	Domain uint16
	Pad    uint16
}

// entryCounters is one CPU's value of the per-entry counter array.
type entryCounters struct {
	Src, Dst uint64
}

const (
	entryCtrSrc = 0
	entryCtrDst = 8
)

// portCounters is one CPU's value of the per-port hit counter array.
type portCounters struct {
	RxPackets, RxBytes, TxPackets, TxBytes uint64
}

const (
	portCtrRxPackets = 0
	portCtrRxBytes   = 8
	portCtrTxPackets = 16
	portCtrTxBytes   = 24
	portCtrSize      = 32
)

// The port limit array holds, by port slot, the u32 MaxFrame of the port
// (0: unchecked); the program reads the egress port's through the slot in
// the fdb value. An array element is written in place, so the hash
// recycling rule (Maps.beforeAlloc) does not apply to it.

// The miss counter array holds a row of u64 counters per port slot: one
// per miss reason, then the slow-pass and error counters. The program
// computes the index (slot*missRow + column) as a map key: a variable
// offset into a map value would need CAP_PERFMON (the verifier's Spectre
// rules).
const (
	missColSlowPass = NumMissReasons
	missColErrors   = NumMissReasons + 1
	missRow         = NumMissReasons + 2
)

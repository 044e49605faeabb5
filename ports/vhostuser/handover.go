package vhostuser

import "errors"

// Handing a port to another process: the types (JSON, for the takeover
// state). See the package doc, "Handing a port to another process", and
// handover_linux.go.

var (
	// ErrNoHandover is wrapped when a port cannot be handed over now
	// (Port.Handover).
	ErrNoHandover = errors.New("vhostuser: port cannot be handed over")
	// ErrBadHandover is wrapped when Adopt or Restore refuses what it was
	// given: a description, a descriptor or a late state that does not
	// fit. Nothing was changed.
	ErrBadHandover = errors.New("vhostuser: bad handover")
)

// Handover describes a running port to the process that adopts it, besides
// its descriptors. Every descriptor is named by its index in the slice of
// descriptors that travels with it (Port.Handover returns both); each is
// used once.
type Handover struct {
	// Socket is the path the listener is bound to. Queues, BatchSize and
	// NoOffload are the port's shape (Config): the front-end negotiated
	// against it.
	Socket    string `json:"socket"`
	Queues    int    `json:"queues"`
	BatchSize int    `json:"batch"`
	NoOffload bool   `json:"no_offload"`
	// Listener is the listening socket's descriptor; Conn the front-end
	// connection's, or -1 when none is connected.
	Listener int `json:"listener"`
	Conn     int `json:"conn"`
	// Features and ProtocolFeatures are what the front-end acknowledged.
	Features         uint64 `json:"features"`
	ProtocolFeatures uint64 `json:"protocol_features"`
	// Regions is the memory table (empty: none set).
	Regions []RegionHandover `json:"regions"`
	// Rings has one entry per virtqueue (2*Queues): pair p's guest
	// receive ring at 2p, its transmit ring at 2p+1.
	Rings []RingHandover `json:"rings"`
}

// RegionHandover is one guest memory region: its guest-physical and
// front-end virtual start, its size, where it starts in its file, and the
// file's descriptor (an index).
type RegionHandover struct {
	GPA    uint64 `json:"gpa"`
	UVA    uint64 `json:"uva"`
	Size   uint64 `json:"size"`
	Offset uint64 `json:"offset"`
	FD     int    `json:"fd"`
}

// RingHandover is what the front-end told about one virtqueue, and
// whether it runs.
type RingHandover struct {
	// Num is the ring size (0: not set).
	Num uint32 `json:"num"`
	// HasAddr says SET_VRING_ADDR came; Desc, Used, Avail are its
	// front-end virtual addresses, Flags and Log the rest of it.
	HasAddr bool   `json:"has_addr"`
	Flags   uint32 `json:"flags,omitempty"`
	Desc    uint64 `json:"desc"`
	Used    uint64 `json:"used"`
	Avail   uint64 `json:"avail"`
	Log     uint64 `json:"log,omitempty"`
	// Base is where a stopped ring resumes (SET_VRING_BASE, or where it
	// last stopped); a running ring's position is in the late state.
	Base uint16 `json:"base"`
	// Started: SET_VRING_KICK came and no GET_VRING_BASE since.
	// Enabled: SET_VRING_ENABLE 1. Running: the data path serves it.
	Started bool `json:"started"`
	Enabled bool `json:"enabled"`
	Running bool `json:"running"`
	// Kick and Call are its eventfds' indices, or -1: none.
	Kick int `json:"kick"`
	Call int `json:"call"`
}

// LateState is where the giver's data path left each running ring, read
// once its workers have stopped (Port.LateState) and given to the adopter
// before its workers start (Port.Restore).
type LateState struct {
	Rings []RingState `json:"rings"`
}

// RingState is one running ring's data-path position.
type RingState struct {
	// VQ is the virtqueue's index.
	VQ int `json:"vq"`
	// LastAvail is the next avail entry to consume; LastUsed the next
	// used entry to fill (the used index published to the guest: every
	// batch publishes what it used, and interrupts the guest if it asked,
	// before it ends).
	LastAvail uint16 `json:"last_avail"`
	LastUsed  uint16 `json:"last_used"`
	// Broken: the guest's avail index ran impossibly far ahead; the ring
	// stays idle until the front-end sets it up again.
	Broken bool `json:"broken,omitempty"`
}

package ctl

import "time"

// The views: what the daemon's read commands answer, as vsctl and other
// clients decode them. They are plain copies of the data plane's types
// (vswitch, pipeline, ports), with the same JSON, so that a client links
// none of the data plane; the daemon converts, and a test of the daemon
// package checks that every copy encodes like its original, field for
// field.

// PortMode is a port's VLAN mode (vswitch.PortMode).
type PortMode string

// Port modes.
const (
	Access PortMode = "access"
	Trunk  PortMode = "trunk"
)

// DefaultVXLANPort is the VTEP's UDP port when none is set (RFC 7348).
const DefaultVXLANPort = 4789

// MaxFDBPageLimit is the largest page fdb/show answers (limit=).
const MaxFDBPageLimit = 10000

// PortView is a port as list-ports and show present it.
type PortView struct {
	Name     string            `json:"name"`
	Bridge   string            `json:"bridge"`
	Type     string            `json:"type"`
	Options  map[string]string `json:"options,omitempty"`
	Mode     PortMode          `json:"mode"`
	VLAN     uint16            `json:"vlan"`
	Trunks   VLANSet           `json:"trunks,omitempty"`
	Attached bool              `json:"attached"`
	Up       bool              `json:"up"`
	// Down says why a configured port has no driver: its interface was
	// deleted, or it could not be restored at start; DownSince is when,
	// and LastTry the latest attempt to attach it again (the daemon
	// retries every few seconds).
	Down      string    `json:"down,omitempty"`
	DownSince time.Time `json:"down_since,omitzero"`
	LastTry   string    `json:"last_try,omitempty"`
	// Losses counts the times the port lost its interface.
	Losses uint64 `json:"losses,omitempty"`
	// MACs are the station's MACs (bound to the port unless
	// PortSecurity is false); Learned is how many MACs the port has
	// learned, MACLimit its limit and MACLimitDrops the sources refused
	// at it (by the port's own limit: those its bridge's limit refused
	// are BridgeView.MACLimitDrops).
	MACs          []string `json:"macs,omitempty"`
	PortSecurity  bool     `json:"port_security"`
	Learned       int      `json:"learned"`
	MACLimit      int      `json:"mac_limit"`
	MACLimitDrops uint64   `json:"mac_limit_drops"`
	// Degraded says why an attached port does not receive as it should
	// (an AF_XDP rx queue starved of buffers lately); "" if it does.
	Degraded string       `json:"degraded,omitempty"`
	RxQueues []QueueInfo  `json:"rx_queues,omitempty"`
	Counters PortCounters `json:"counters"`
	// FastPath is the port's kernel fast-path state and counters (absent
	// when the daemon runs without a fast path or the port is detached).
	FastPath *FastPathPort `json:"fast_path,omitempty"`
}

// ShowView is what show returns.
type ShowView struct {
	Bridges []BridgeView `json:"bridges"`
	// RoutedPorts are the ports in no bridge (routed endpoints').
	RoutedPorts []PortView     `json:"routed_ports,omitempty"`
	Workers     []WorkerInfo   `json:"workers"`
	FastPath    FastPathStatus `json:"fast_path"`
}

// BridgeView is one bridge in show.
type BridgeView struct {
	Name          string `json:"name"`
	MACAgeSeconds int    `json:"mac_age_seconds"`
	MACLimit      int    `json:"mac_limit"`
	// MACLimitDrops counts the sources not learned because the bridge
	// was at its MAC limit (MACLimit; a port's own limit is counted on
	// the port).
	MACLimitDrops uint64 `json:"mac_limit_drops"`
	// FastPath is false when fast-path=off for the bridge.
	FastPath bool       `json:"fast_path"`
	Ports    []PortView `json:"ports"`
}

// PortStats is one port's counters (port/stats), with its driver's own.
type PortStats struct {
	Name     string       `json:"name"`
	Counters PortCounters `json:"counters"`
	// FastPath holds the frames the kernel fast path switched for the
	// port (not in Counters) and its misses by reason.
	FastPath *FastPathPort `json:"fast_path,omitempty"`
	// Driver is the driver's own counters, as the driver reports them.
	Driver any `json:"driver,omitempty"`
}

// ErrorCount is one drop counter in show-errors.
type ErrorCount struct {
	Node    string `json:"node"`
	Reason  string `json:"reason"`
	Packets uint64 `json:"packets"`
}

// TraceView is a traced packet as trace/show returns it.
type TraceView struct {
	Trace
	// Headers is the received frame decoded.
	Headers string `json:"headers"`
}

// CaptureView is a capture's state as capture/show and capture/stop
// report it.
type CaptureView struct {
	// Running is true while a capture writes its file: until capture/stop,
	// or until it ends on its own (max=, size=, its port removed: Done says
	// why; its file is closed then). capture/show with no capture answers
	// a view with Running false and no File.
	Running bool `json:"running"`
	// File is the capture file's path, in the daemon's capture directory.
	File    string `json:"file"`
	Port    string `json:"port"`
	Packets int    `json:"packets"`
	Lost    uint64 `json:"lost"`
	Bytes   int64  `json:"bytes"`
	Max     int    `json:"max"`
	Done    string `json:"done,omitempty"`
}

// VNIView is one VNI as vni/show lists it.
type VNIView struct {
	Bridge string `json:"bridge"`
	VNI
}

// VXLANView is what vni/show returns.
type VXLANView struct {
	VTEP *VTEP     `json:"vtep"`
	VNIs []VNIView `json:"vnis"`
}

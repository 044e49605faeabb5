package netdev

import (
	"fmt"
	"net"
	"net/netip"
)

// VethOptions describes a veth pair for a container.
type VethOptions struct {
	// HostName names the host end (required, at most 15 bytes).
	HostName string
	// Netns is the container's namespace path (required unless PeerHere).
	Netns string
	// PeerHere leaves the container end in the caller's namespace, for a
	// runtime to move into the container (Docker's libnetwork moves and
	// renames the interface a driver names in Join, and configures its
	// addresses itself). Netns, Addrs, Gateways and Routes must be empty.
	PeerHere bool
	// PeerName names the container end inside Netns (default "eth0").
	PeerName string
	// MAC is the container end's MAC; nil lets the kernel pick a random
	// locally administered one (reported in Veth.PeerMAC).
	MAC net.HardwareAddr
	// MTU of both ends (default 1500).
	MTU int
	// Queues is the number of rx and tx queues of each end (default 1); an
	// AF_XDP port binds one socket per rx queue of the host end.
	Queues int
	// Addrs, Gateways and Routes configure the container end as in
	// LinkConfig.
	Addrs    []netip.Prefix
	Gateways []netip.Addr
	Routes   []Route
	// DAD runs IPv6 duplicate address detection (see LinkConfig.DAD).
	DAD bool
	// KeepTxChecksum leaves TX checksum offload on in the container. By
	// default it is switched off; see the package doc for why.
	KeepTxChecksum bool
	// GRO switches GRO on in the container (LinkConfig.GROOn): the XDP
	// fast path needs it to deliver frames to the container.
	GRO bool
	// Alias is set as the host end's alias (IFLA_IFALIAS, shown by
	// `ip link`): vswitchd writes its host ID there so that it only ever
	// sweeps veths it made, never another daemon's.
	Alias string
}

// MaxQueues bounds VethOptions.Queues.
const MaxQueues = 256

func (o *VethOptions) setDefaults() {
	if o.PeerName == "" {
		o.PeerName = "eth0"
	}
	if o.MTU == 0 {
		o.MTU = 1500
	}
	if o.Queues == 0 {
		o.Queues = 1
	}
}

// peerConfig is what is applied to the container end after creation.
func (o *VethOptions) peerConfig() LinkConfig {
	return LinkConfig{
		Addrs: o.Addrs, Gateways: o.Gateways, Routes: o.Routes,
		Up: true, DAD: o.DAD, TxChecksumOff: !o.KeepTxChecksum, GROOn: o.GRO,
	}
}

func (o *VethOptions) validate() error {
	if err := ValidateName(o.HostName); err != nil {
		return fmt.Errorf("host end: %w", err)
	}
	if err := ValidateName(o.PeerName); err != nil {
		return fmt.Errorf("container end: %w", err)
	}
	switch {
	case o.PeerHere && (o.Netns != "" || len(o.Addrs) > 0 || len(o.Gateways) > 0 || len(o.Routes) > 0):
		return wrapKind(ErrInvalid, fmt.Errorf("a container end left here for its runtime takes no namespace, addresses or routes"))
	case o.Netns == "" && !o.PeerHere:
		return wrapKind(ErrInvalid, fmt.Errorf("no container netns path"))
	}
	if o.Queues < 1 || o.Queues > MaxQueues {
		return wrapKind(ErrInvalid, fmt.Errorf("%d queues, want 1..%d", o.Queues, MaxQueues))
	}
	c := o.peerConfig()
	c.MAC, c.MTU = o.MAC, o.MTU
	return c.validate()
}

// Veth is a pair made by CreateVeth: what Delete needs to remove exactly
// it, and what the caller needs to attach the host end.
type Veth struct {
	// HostName and HostIndex identify the host end in the namespace
	// CreateVeth was called from.
	HostName  string
	HostIndex int
	HostMAC   net.HardwareAddr
	// PeerName, PeerIndex and PeerMAC describe the container end, in Netns.
	PeerName  string
	PeerIndex int
	PeerMAC   net.HardwareAddr
	// Netns is the container namespace path.
	Netns  string
	MTU    int
	Queues int
}

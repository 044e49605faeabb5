package tap

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

const (
	// ethHeader is an Ethernet header without a VLAN tag; vlanTag is the
	// 802.1Q tag a trunk frame adds.
	ethHeader = 14
	vlanTag   = 4
	// MaxMTU is the largest MTU a tap port accepts: a tagged frame of
	// that MTU plus one spare byte fits a pipeline buffer, so a read that
	// fills the buffer is always a truncated, oversize frame.
	MaxMTU = pipeline.MaxPacket - ethHeader - vlanTag - 1
	// MaxQueues is the kernel's limit on queues of a multi-queue tap.
	MaxQueues = 256
)

// Config describes a tap port.
type Config struct {
	// Name is the port's name in the switch (required).
	Name string
	// Ifname is the tap device's name. Without Netns it is created under
	// this name in the caller's namespace (default: the kernel picks
	// tapN). With Netns it is created under a temporary random name,
	// moved, and renamed to Ifname there (default "eth0").
	Ifname string
	// Queues is the number of queues (default 1); more than one makes a
	// multi-queue tap, one file descriptor per queue, and the port offers
	// as many rx and tx queues.
	Queues int
	// BatchSize is the most frames one Rx returns (default and at most
	// pipeline.VectorSize).
	BatchSize int
	// MTU of the device (default 1500, at most MaxMTU).
	MTU int
	// VLAN says the device carries 802.1Q-tagged frames (the switch port
	// is, or may become, a trunk): the largest frame is MTU+18 bytes
	// instead of MTU+14. The kernel takes such a frame from the tap and
	// the container's stack receives it. vswitchd sets it on every tap
	// port, since set-port makes a port a trunk without making its
	// driver again.
	VLAN bool
	// Offload opens the tap with a virtio-net header (IFF_VNET_HDR) and
	// TSO/checksum offloads on (TUNSETOFFLOAD): the kernel hands over TCP
	// and UDP frames of up to 64 KiB with partial checksums, read as
	// pipeline chains, and takes them back the same way. See offload.go.
	Offload bool
	// Netns is the path of a container network namespace to move the
	// device into; "" leaves it in the caller's namespace.
	Netns string
	// MAC, Addrs, Gateways, Routes and DAD configure the device as in
	// netdev.LinkConfig; the device is always brought up.
	MAC      net.HardwareAddr
	Addrs    []netip.Prefix
	Gateways []netip.Addr
	Routes   []netdev.Route
	DAD      bool
	// Logger receives the one line logged when the device goes away
	// (default slog.Default()).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Queues == 0 {
		c.Queues = 1
	}
	if c.BatchSize == 0 {
		c.BatchSize = pipeline.VectorSize
	}
	if c.MTU == 0 {
		c.MTU = 1500
	}
	if c.Netns != "" && c.Ifname == "" {
		c.Ifname = "eth0"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func (c *Config) validate() error {
	if c.Name == "" {
		return errors.New("tap: port needs a name")
	}
	if c.Ifname != "" {
		if err := netdev.ValidateName(c.Ifname); err != nil {
			return fmt.Errorf("tap %s: %w", c.Name, err)
		}
	}
	switch {
	case c.Queues < 1 || c.Queues > MaxQueues:
		return fmt.Errorf("tap %s: %d queues, want 1..%d: %w", c.Name, c.Queues, MaxQueues, netdev.ErrInvalid)
	case c.BatchSize < 1 || c.BatchSize > pipeline.VectorSize:
		return fmt.Errorf("tap %s: batch size %d, want 1..%d: %w", c.Name, c.BatchSize, pipeline.VectorSize, netdev.ErrInvalid)
	case c.MTU < netdev.MinMTU || c.MTU > MaxMTU:
		return fmt.Errorf("tap %s: MTU %d, want %d..%d: %w", c.Name, c.MTU, netdev.MinMTU, MaxMTU, netdev.ErrInvalid)
	}
	return nil
}

// maxFrame is the longest frame the port sends and expects.
func (c *Config) maxFrame() int {
	if c.VLAN {
		return c.MTU + ethHeader + vlanTag
	}
	return c.MTU + ethHeader
}

// linkConfig is what netdev applies to the device once it is where it
// belongs.
func (c *Config) linkConfig() netdev.LinkConfig {
	return netdev.LinkConfig{
		Name: c.Ifname, MAC: c.MAC, MTU: c.MTU, Addrs: c.Addrs,
		Gateways: c.Gateways, Routes: c.Routes, Up: true, DAD: c.DAD,
	}
}

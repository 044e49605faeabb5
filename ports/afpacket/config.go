package afpacket

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// MaxQueues bounds Config.Queues.
const MaxQueues = 64

// Config describes a port.
type Config struct {
	// Name is the port's name in the switch.
	Name string
	// Ifname is the interface to read and write (the host end of a veth).
	Ifname string
	// Queues is the number of sockets (default 1); more than one share
	// the interface's frames by flow hash.
	Queues int
	// BatchSize is the most frames one Rx returns (default
	// pipeline.VectorSize).
	BatchSize int
	// MaxFrame is the longest frame without GSO the port sends (default
	// 1514: MTU 1500); longer ones are dropped and counted.
	MaxFrame int
	// Logger gets the port's rare events (default slog.Default()).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Queues == 0 {
		c.Queues = 1
	}
	if c.BatchSize == 0 {
		c.BatchSize = pipeline.VectorSize
	}
	if c.MaxFrame == 0 {
		c.MaxFrame = 1514
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func (c *Config) validate() error {
	switch {
	case c.Name == "":
		return errors.New("afpacket: port needs a name")
	case c.Queues < 1 || c.Queues > MaxQueues:
		return fmt.Errorf("afpacket %s: %d queues, want 1..%d: %w", c.Name, c.Queues, MaxQueues, netdev.ErrInvalid)
	case c.BatchSize < 1 || c.BatchSize > pipeline.VectorSize:
		return fmt.Errorf("afpacket %s: batch size %d, want 1..%d: %w", c.Name, c.BatchSize, pipeline.VectorSize, netdev.ErrInvalid)
	case c.MaxFrame < 60 || c.MaxFrame > pipeline.MaxPacket:
		return fmt.Errorf("afpacket %s: max frame %d, want 60..%d: %w", c.Name, c.MaxFrame, pipeline.MaxPacket, netdev.ErrInvalid)
	}
	return netdev.ValidateName(c.Ifname)
}

// Stats are a port's counters, summed over its queues.
type Stats struct {
	RxPackets, RxBytes, TxPackets, TxBytes uint64
	// RxOversize: frames above 64 KiB (truncated by the kernel), dropped.
	RxOversize uint64
	// RxInvalid: runts and frames whose header does not describe them.
	RxInvalid uint64
	// RxNoBuffer: polls cut short because the pool was empty.
	RxNoBuffer uint64
	// RxKernelDrops: frames the kernel dropped before the port read
	// them, because a socket's receive buffer was full (the worker fell
	// behind, or the pool was empty): the sockets' PACKET_STATISTICS
	// tp_drops. The kernel resets those on every read; Stats reads them
	// and adds them up, so this counts since the port was made (or
	// adopted: drops the giver had not read yet included).
	RxKernelDrops uint64
	// RxErrors, TxErrors: reads and writes that failed.
	RxErrors, TxErrors uint64
	// TxFull: frames dropped because the socket's buffer was full.
	TxFull uint64
	// TxOversize: frames without GSO longer than MaxFrame, dropped.
	TxOversize uint64
	// TxInvalid: frames the kernel refused, or chains too long.
	TxInvalid uint64
}

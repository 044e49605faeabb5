//go:build !linux

package afxdp

import (
	"errors"
	"log/slog"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
)

// Config describes an AF_XDP port (Linux only).
type Config struct {
	Name, Ifname, Attach, Copy  string
	Queues, RingSize, BatchSize int
	FastPath                    *FastPath
	Logger                      *slog.Logger
}

// Limits, as on Linux.
const (
	// MaxRxFrame is the longest frame an AF_XDP socket would receive.
	MaxRxFrame = pipeline.FrameSize - 256
	// MaxMTU is the largest device MTU a port would accept.
	MaxMTU = MaxRxFrame - 14 - 4
)

// ErrNotSupported is returned on systems without AF_XDP.
var ErrNotSupported = errors.New("afxdp: AF_XDP is only supported on Linux")

// Port is not available on this system.
type Port struct{}

// New reports ErrNotSupported.
func New(Config) (*Port, error) { return nil, ErrNotSupported }

func (*Port) Name() string     { return "" }
func (*Port) Info() ports.Info { return ports.Info{} }
func (*Port) OpenRx(int, *pipeline.Pool) (pipeline.RxQueue, error) {
	return nil, ErrNotSupported
}
func (*Port) OpenTx(int, *pipeline.Pool) (pipeline.TxQueue, error) {
	return nil, ErrNotSupported
}
func (*Port) Close() error { return ErrNotSupported }

// Stats is empty: there is no port.
func (*Port) Stats() Stats { return Stats{} }

// FastPath is not available on this system.
type FastPath struct{}

// FastPathConfig sizes the fast path's tables (Linux only).
type FastPathConfig struct {
	MaxEntries, MaxPorts, MaxVLANs int
}

// ErrFastPathUnsupported is returned on systems without XDP.
var ErrFastPathUnsupported = errors.New("afxdp: the XDP fast path is only supported on Linux")

// NewFastPath reports ErrFastPathUnsupported.
func NewFastPath(FastPathConfig) (*FastPath, error) { return nil, ErrFastPathUnsupported }

// Close does nothing.
func (*FastPath) Close() error { return nil }

var _ ports.FastPath = (*FastPath)(nil)

// SetPort reports ErrFastPathUnsupported, like every method below.
func (*FastPath) SetPort(int, ports.FastPathPort) error { return ErrFastPathUnsupported }
func (*FastPath) DelPort(int) error                     { return ErrFastPathUnsupported }
func (*FastPath) SetEntry(uint16, [6]byte, int, uint16) (uint32, error) {
	return 0, ErrFastPathUnsupported
}
func (*FastPath) DelEntry(uint16, [6]byte) error { return ErrFastPathUnsupported }
func (*FastPath) FlushPort(int) error            { return ErrFastPathUnsupported }
func (*FastPath) FlushDomain(uint16) error       { return ErrFastPathUnsupported }
func (*FastPath) EntryHits(uint32) (uint64, uint64, error) {
	return 0, 0, ErrFastPathUnsupported
}
func (*FastPath) PortCounters(int) (ports.FastPathCounters, error) {
	return ports.FastPathCounters{}, ErrFastPathUnsupported
}

// ErrNoHandover is wrapped when a port cannot be handed over.
var ErrNoHandover = errors.New("afxdp: port cannot be handed over")

// Handover reports ErrNotSupported.
func (*Port) Handover() (Handover, []int, error) { return Handover{}, nil, ErrNotSupported }

// Release does nothing here.
func (*Port) Release() {}

// Adopt reports ErrNotSupported.
func Adopt(Config, Handover, []int) (*Port, error) { return nil, ErrNotSupported }

// SocketStates reports nothing here.
func (*Port) SocketStates() []SocketState { return nil }

// TakeBack reports ErrNotSupported.
func (*Port) TakeBack() error { return ErrNotSupported }

// Swap reports ErrNotSupported.
func (*Port) Swap() error { return ErrNotSupported }

// Restore reports ErrNotSupported.
func (*Port) Restore([]SocketState) error { return ErrNotSupported }

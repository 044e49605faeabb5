//go:build !linux

package afxdp

import (
	"errors"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
)

// Config describes an AF_XDP port (Linux only).
type Config struct {
	Name, Ifname, Attach, Copy  string
	Queues, RingSize, BatchSize int
}

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

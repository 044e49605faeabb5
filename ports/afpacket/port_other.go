//go:build !linux

package afpacket

import (
	"errors"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
)

// ErrNotSupported: AF_PACKET sockets are Linux's.
var ErrNotSupported = errors.New("afpacket: not supported on this platform")

// Port is an AF_PACKET port (Linux only).
type Port struct{}

// New fails: AF_PACKET is Linux's.
func New(cfg Config) (*Port, error) { return nil, ErrNotSupported }

// Name implements ports.Port.
func (p *Port) Name() string { return "" }

// Info implements ports.Port.
func (p *Port) Info() ports.Info { return ports.Info{} }

// OpenRx implements ports.Port.
func (p *Port) OpenRx(int, *pipeline.Pool) (pipeline.RxQueue, error) { return nil, ErrNotSupported }

// OpenTx implements ports.Port.
func (p *Port) OpenTx(int, *pipeline.Pool) (pipeline.TxQueue, error) { return nil, ErrNotSupported }

// Close implements ports.Port.
func (p *Port) Close() error { return ErrNotSupported }

// Stats are zero.
func (p *Port) Stats() Stats { return Stats{} }

// Ifname is "".
func (p *Port) Ifname() string { return "" }

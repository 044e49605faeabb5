//go:build !linux

package afpacket

import "log/slog"

// Handover describes nothing: AF_PACKET is Linux's.
func (p *Port) Handover() (Handover, []int) { return Handover{}, nil }

// Adopt fails: AF_PACKET is Linux's.
func Adopt(string, Handover, []int, *slog.Logger) (*Port, error) { return nil, ErrNotSupported }

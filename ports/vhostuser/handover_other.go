//go:build !linux

package vhostuser

// Handover returns ErrNotSupported: vhost-user needs Linux.
func (p *Port) Handover() (Handover, []int, error) { return Handover{}, nil, ErrNotSupported }

// LateState returns nothing: vhost-user needs Linux.
func (p *Port) LateState() LateState { return LateState{} }

// TakeBack returns ErrNotSupported: vhost-user needs Linux.
func (p *Port) TakeBack() error { return ErrNotSupported }

// Release does nothing: vhost-user needs Linux.
func (p *Port) Release() {}

// Restore returns ErrNotSupported: vhost-user needs Linux.
func (p *Port) Restore(LateState) error { return ErrNotSupported }

// Adopt returns ErrNotSupported: vhost-user needs Linux.
func Adopt(Config, Handover, []int) (*Port, error) { return nil, ErrNotSupported }

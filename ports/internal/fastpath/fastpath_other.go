//go:build !linux

package fastpath

// Maps is not available on this system.
type Maps struct{}

// NewMaps reports ErrNotSupported.
func NewMaps(MapsConfig) (*Maps, error) { return nil, ErrNotSupported }

// Close does nothing.
func (*Maps) Close() error { return nil }

// Probe reports ErrNotSupported.
func Probe() error { return ErrNotSupported }

// Program is not available on this system.
type Program struct{}

// Close does nothing.
func (*Program) Close() error { return nil }

// PeerState is what CheckPeer reports on Linux.
type PeerState struct {
	Veth, Found, GRO, XDP, TxChecksum bool
	Netns, Name                       string
	Ifindex                           int
}

// CheckPeer reports ErrNotSupported.
func CheckPeer(int) (PeerState, error) { return PeerState{}, ErrNotSupported }

// RecheckPeer reports ErrNotSupported.
func RecheckPeer(st PeerState) (PeerState, error) { return st, ErrNotSupported }

// EnsureGRO reports ErrNotSupported.
func EnsureGRO(netnsPath, ifname string) error { return ErrNotSupported }

package ipam

import (
	"errors"
	"fmt"
	"net/netip"
)

// The kinds of error the package returns. Every error wraps exactly one of
// them, so a caller maps it to its own error code with errors.Is.
var (
	// ErrInvalid: a malformed pool definition, lease or request.
	ErrInvalid = errors.New("invalid address pool or request")
	// ErrInUse: a wanted address is held by another owner.
	ErrInUse = errors.New("address in use")
	// ErrConflict: the owner already holds a lease with other addresses.
	ErrConflict = errors.New("owner holds other addresses")
	// ErrNotInRange: a wanted address is not allocatable in the pool
	// (outside its range, the gateway, excluded, no range of its family).
	ErrNotInRange = errors.New("address not allocatable in the pool")
	// ErrExhausted: a range has no free address left.
	ErrExhausted = errors.New("address pool exhausted")
	// ErrNeedBlock: the blocks this host holds in a range are full, but
	// the range is not; claim another block and retry ([NeedBlockRange]).
	// Or a wanted address is in a block this host does not hold: claim
	// that block and retry ([WantedBlock]).
	ErrNeedBlock = errors.New("no free address in this host's blocks")
)

// ipamError is an error of one kind with its own message (the message
// does not repeat the kind's text).
type ipamError struct {
	kind error
	msg  string
}

func (e *ipamError) Error() string { return e.msg }
func (e *ipamError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &ipamError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// needBlockError is ErrNeedBlock for one range; block and addr are set
// when a wanted address needs the block that holds it.
type needBlockError struct {
	ipamError
	rangeIndex int
	block      netip.Prefix
	addr       netip.Addr
}

// NeedBlockRange tells whether err is (or wraps) ErrNeedBlock from
// Allocate, and for which range index of the pool a block is needed.
func NeedBlockRange(err error) (int, bool) {
	var nb *needBlockError
	if errors.As(err, &nb) {
		return nb.rangeIndex, true
	}
	return 0, false
}

// WantedBlock tells whether err is (or wraps) ErrNeedBlock from Allocate
// for a wanted address outside this host's blocks, and which block holds
// that address: the caller claims this block (not any block) and
// retries, or refuses the address if another host holds the block.
func WantedBlock(err error) (block netip.Prefix, addr netip.Addr, ok bool) {
	var nb *needBlockError
	if errors.As(err, &nb) && nb.block.IsValid() {
		return nb.block, nb.addr, true
	}
	return netip.Prefix{}, netip.Addr{}, false
}

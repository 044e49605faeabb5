package takeover

import (
	"errors"
	"fmt"
)

// ErrPeerGone means the other process closed the connection or died in
// the middle of a takeover.
var ErrPeerGone = errors.New("takeover: peer gone mid-handshake")

// ErrTimeout means the other process did not answer in time.
var ErrTimeout = errors.New("takeover: peer did not answer in time")

// VersionError is a refusal for different state-format versions.
type VersionError struct {
	Ours, Theirs uint16
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("takeover: state format version %d here, %d in the peer: these builds cannot hand over (stop the running vswitchd and start this one: the stored configuration is replayed, learned tables are learned again)", e.Ours, e.Theirs)
}

// RefusedError is the peer's refusal, with its reason.
type RefusedError struct {
	// Version is the refusing peer's Version.
	Version uint16
	Reason  string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("takeover refused by the running vswitchd (version %d): %s", e.Version, e.Reason)
}

// ProtocolError is a malformed or unexpected message.
type ProtocolError struct {
	Msg string
}

func (e *ProtocolError) Error() string { return "takeover: protocol error: " + e.Msg }

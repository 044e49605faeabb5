package netdev

import (
	"errors"
	"strings"
)

// Kinds of failure, found with errors.Is in every *Error that has one.
var (
	// ErrInvalid: an argument failed validation before the kernel was asked.
	ErrInvalid = errors.New("invalid argument")
	// ErrNotFound: no such interface (in the namespace named by the error).
	ErrNotFound = errors.New("link not found")
	// ErrExists: the interface name, address or route is already in use.
	ErrExists = errors.New("already exists")
	// ErrNetns: the namespace path cannot be opened or is no network
	// namespace.
	ErrNetns = errors.New("network namespace unusable")
	// ErrChanged: the interface found under a recorded ifindex is no longer
	// the one that was created (another name or kind); nothing is touched.
	ErrChanged = errors.New("link changed since it was created")
	// ErrNotSupported: the platform has no such facility (non-Linux builds).
	ErrNotSupported = errors.New("not supported on this platform")
)

// Error describes a failed operation.
type Error struct {
	// Op is what was being done, such as "create veth" or "set mtu".
	Op string
	// Link is the interface name, if any.
	Link string
	// Netns is the namespace path; empty means the caller's namespace.
	Netns string
	// Err is the cause; it wraps one of the Err* kinds where one applies.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("netdev: ")
	switch {
	case e.Link != "" && e.Netns != "":
		b.WriteString(e.Link + " in netns " + e.Netns + ": ")
	case e.Link != "":
		b.WriteString(e.Link + ": ")
	case e.Netns != "":
		b.WriteString("netns " + e.Netns + ": ")
	}
	b.WriteString(e.Op)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// kindError pairs a kind with the cause it was derived from so that
// errors.Is finds both.
type kindError struct{ kind, cause error }

func (k *kindError) Error() string {
	if k.cause == nil {
		return k.kind.Error()
	}
	return k.kind.Error() + ": " + k.cause.Error()
}

func (k *kindError) Unwrap() []error {
	if k.cause == nil {
		return []error{k.kind}
	}
	return []error{k.kind, k.cause}
}

// wrapKind returns cause tagged with kind.
func wrapKind(kind, cause error) error { return &kindError{kind: kind, cause: cause} }

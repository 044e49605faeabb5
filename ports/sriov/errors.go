package sriov

import (
	"errors"
	"fmt"
	"strings"
)

// Kinds of failure, found with errors.Is in every *Error that has one.
var (
	// ErrInvalid: an option or argument failed validation before the
	// kernel was asked.
	ErrInvalid = errors.New("invalid argument")
	// ErrNotSRIOV: the device is not an SR-IOV physical function (sysfs
	// shows no sriov_totalvfs and netlink lists no VFs).
	ErrNotSRIOV = errors.New("not an SR-IOV physical function")
	// ErrNoVF: the PF has no VF of that index.
	ErrNoVF = errors.New("no such VF")
	// ErrNoNetdev: the VF has no kernel netdev (unbound, or bound to
	// vfio-pci); give a representor to attach it as a port.
	ErrNoNetdev = errors.New("VF has no netdev")
	// ErrRefused: the kernel or the PF's driver refused a setting; the
	// errno is wrapped too (errors.Is(err, unix.EOPNOTSUPP)).
	ErrRefused = errors.New("setting refused")
	// ErrNotSupported: the platform has no SR-IOV (non-Linux builds).
	ErrNotSupported = errors.New("not supported on this platform")
)

// Error describes a failed operation on a PF or one of its VFs.
type Error struct {
	PF string
	// VF is the VF index, or -1 when the failure concerns the PF.
	VF int
	// Op is what was being done, such as "set trust on" or "discover".
	Op string
	// Kind is one of the Err* kinds, or nil.
	Kind error
	// Err is the cause.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sriov")
	if e.PF != "" {
		b.WriteString(": pf " + e.PF)
	}
	if e.VF >= 0 {
		if e.PF == "" {
			b.WriteString(":")
		}
		fmt.Fprintf(&b, " vf %d", e.VF)
	}
	s := b.String() + ": " + e.Op
	if e.Err != nil {
		s += ": " + e.Err.Error()
	} else if e.Kind != nil {
		s += ": " + e.Kind.Error()
	}
	return s
}

// Unwrap returns the kind and the cause.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

func invalid(format string, args ...any) error {
	return &Error{VF: -1, Op: "options", Kind: ErrInvalid, Err: fmt.Errorf(format, args...)}
}

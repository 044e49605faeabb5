package netdev

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// MaxNameLen is the longest interface name the kernel accepts (IFNAMSIZ
// minus the terminating NUL).
const MaxNameLen = 15

// ValidateName checks an interface name the way the kernel does
// (dev_valid_name): 1 to 15 bytes, not "." or "..", and no '/', ':' or
// white space. The error wraps ErrInvalid.
func ValidateName(name string) error {
	switch {
	case name == "":
		return wrapKind(ErrInvalid, fmt.Errorf("empty interface name"))
	case len(name) > MaxNameLen:
		return wrapKind(ErrInvalid, fmt.Errorf("interface name %q is %d bytes, more than %d", name, len(name), MaxNameLen))
	case name == "." || name == "..":
		return wrapKind(ErrInvalid, fmt.Errorf("interface name %q is reserved", name))
	case strings.ContainsAny(name, "/: \t\n\v\f\r"):
		return wrapKind(ErrInvalid, fmt.Errorf("interface name %q contains '/', ':' or white space", name))
	}
	return nil
}

// RandomName returns prefix followed by random hex digits, MaxNameLen bytes
// in all (the prefix is cut to leave at least 4 random digits). It is meant
// for temporary and test interfaces whose names must not collide.
func RandomName(prefix string) string {
	if len(prefix) > MaxNameLen-4 {
		prefix = prefix[:MaxNameLen-4]
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails on Linux (getrandom)
	return prefix + hex.EncodeToString(b[:])[:MaxNameLen-len(prefix)]
}

package fib

import "errors"

// Errors returned by the tables, wrapped with the offending prefix or value;
// test for them with errors.Is.
var (
	// ErrInvalidPrefix: the prefix is invalid, of the other address family,
	// or has host bits set (10.0.0.1/24 is refused, not masked: pass
	// Prefix.Masked() if that is what you mean).
	ErrInvalidPrefix = errors.New("invalid prefix")
	// ErrInvalidNextHop: the next hop is 0 (reserved for "no route") or
	// larger than MaxNextHop.
	ErrInvalidNextHop = errors.New("invalid next hop")
	// ErrNotFound: Delete of a prefix that is not in the table.
	ErrNotFound = errors.New("no such prefix")
	// ErrTableFull: the insert needs more groups or leaves than the table's
	// limit allows. The table is unchanged.
	ErrTableFull = errors.New("table full")
	// ErrClosed: the table was closed.
	ErrClosed = errors.New("table closed")
)

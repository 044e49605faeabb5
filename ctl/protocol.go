package ctl

import (
	"encoding/json"
	"fmt"
)

// Version is the protocol version this package speaks.
const Version = 1

// Request is one command sent to the daemon.
type Request struct {
	V    int      `json:"v"`
	Cmd  string   `json:"cmd"`
	Args []string `json:"args,omitempty"`
	// Batch, with Cmd BatchCmd (and no Args), is one transaction: the
	// commands are carried out in order, each seeing the changes of
	// those before it, and stored with one write; if one fails, none is
	// applied and the error's Index names it. Only commands whose Spec
	// has Batch can be in one. The result is the list of the commands'
	// results, in order.
	Batch []BatchCommand `json:"batch,omitempty"`
}

// BatchCmd is the Request.Cmd of a batch.
const BatchCmd = "batch"

// BatchCommand is one command of a batch.
type BatchCommand struct {
	Cmd  string   `json:"cmd"`
	Args []string `json:"args,omitempty"`
}

// Response answers one Request.
type Response struct {
	V      int             `json:"v"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// Code classifies an error for programs.
type Code string

// Error codes.
const (
	CodeBadRequest Code = "bad-request"     // not a valid request
	CodeVersion    Code = "version"         // unsupported protocol version
	CodeUnknown    Code = "unknown-command" // no such command
	CodeUsage      Code = "usage"           // wrong number or form of arguments
	CodeInvalid    Code = "invalid"         // arguments well formed but not acceptable
	CodeNotFound   Code = "not-found"       // the named object does not exist
	CodeExists     Code = "exists"          // the named object already exists
	CodeTooLarge   Code = "too-large"       // request over the size limit
	CodeTimeout    Code = "timeout"         // request did not arrive in time
	CodeDenied     Code = "denied"          // peer not allowed
	CodeBusy       Code = "busy"            // too many clients
	CodeInternal   Code = "internal"        // the daemon failed
	CodeUnavail    Code = "unavailable"     // daemon not running (client side), or a store it needs unreachable
	CodeNoAnswer   Code = "no-answer"       // client side only: the request went out, no answer came in time; it may still be carried out
	CodeExhausted  Code = "exhausted"       // an address pool has no free address
)

// Error is a typed control-plane error.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Index, in the answer to a batch, is the position (from 1) of the
	// command that failed; 0 if the batch failed as a whole.
	Index int `json:"index,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf makes an *Error.
func Errorf(code Code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// Is lets errors.Is match an *Error by code: errors.Is(err, &Error{Code: CodeNotFound}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

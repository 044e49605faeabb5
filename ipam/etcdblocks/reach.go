package etcdblocks

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/connectivity"

	"github.com/vecswitch/vecswitch/ipam"
)

// Failing fast while etcd is out of reach.
//
// The etcd client waits for a connection until the call's context ends,
// so with etcd gone every exchange costs the caller's whole timeout; a
// daemon that serializes its commands (vswitchd) would stall every
// command behind each one. So once an exchange has failed for lack of
// etcd, later ones are not tried while the client's connection is not
// ready: they fail at once with ErrUnreachable, and each such call wakes
// the connection's reconnect (gRPC otherwise backs off up to two
// minutes), so that the first call after etcd is back finds it ready or
// nearly. A minute after the last failure one exchange is tried anyway,
// in case the connection's state says less than the truth.

// ErrUnreachable: an exchange with etcd failed a moment ago and the
// client has not connected since, so this one was not tried. It is none
// of ipam's kinds: etcd out of reach, try again.
var ErrUnreachable = errors.New("etcdblocks: etcd is out of reach (an exchange failed and the client has not reconnected since; not tried)")

// retryAfter is how long after the last failure a call is tried even
// though the connection does not say it is ready.
const retryAfter = time.Minute

// kickEvery bounds how often failing calls wake the reconnect.
const kickEvery = time.Second

// reach is the state of Claims' fast failure.
type reach struct {
	failed atomic.Int64 // UnixNano of the last failed exchange, 0 after a success
	kicked atomic.Int64 // UnixNano of the last reconnect wake-up
}

// enter refuses a call while etcd is known to be out of reach.
func (c *Claims) enter() error {
	f := c.reach.failed.Load()
	if f == 0 {
		return nil
	}
	conn := c.cli.ActiveConnection()
	switch conn.GetState() {
	case connectivity.Ready:
		return nil
	case connectivity.Idle:
		conn.Connect()
	}
	now := time.Now()
	if now.Sub(time.Unix(0, f)) >= retryAfter {
		return nil
	}
	if k := c.reach.kicked.Load(); now.Sub(time.Unix(0, k)) >= kickEvery && c.reach.kicked.CompareAndSwap(k, now.UnixNano()) {
		conn.ResetConnectBackoff()
	}
	return ErrUnreachable
}

// leave records how a call went: etcd answered (err is nil or a
// conflict with what etcd holds), did not, or was not asked (bad
// arguments, not tried, given up by the caller: nothing learned).
func (c *Claims) leave(err error) {
	switch {
	case err == nil, errors.Is(err, ErrPoolMismatch), errors.Is(err, ErrPoolOverlap),
		errors.Is(err, ErrNotHeld), errors.Is(err, ErrExhausted):
		c.reach.failed.Store(0)
	case errors.Is(err, ErrUnreachable), errors.Is(err, context.Canceled),
		errors.Is(err, ipam.ErrInvalid), errors.Is(err, ipam.ErrNotInRange):
	default:
		c.reach.failed.Store(time.Now().UnixNano())
	}
}

package perf

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The short-connection exchange (as netperf's TCP_CRR): the client
// connects, sends connReqLen bytes, reads connRespLen bytes, closes; the
// server accepts, reads the request, writes the reply and closes first
// (so TIME_WAIT sits on the server's side, keyed by the client's port,
// and the client never runs out of ports).
const (
	connReqLen  = 16
	connRespLen = 16
	// connIOTimeout bounds a connection (and the probes): long enough
	// for a retransmitted SYN (sent after 1 s) on a loaded machine.
	connIOTimeout = 3 * time.Second
)

// errConnTimeout is waitFD's: the deadline passed.
var errConnTimeout = errors.New("timed out")

// probeConn makes one exchange from namespace ns with sa.
func probeConn(ns netns.NsHandle, sa unix.SockaddrInet4, timeout time.Duration) error {
	var err error
	if oerr := onThreadIn(ns, func() error {
		err = connOnceTo(sa, timeout)
		return nil
	}); oerr != nil {
		return oerr
	}
	return err
}

// rcvAddr is the receiver's address (rcvIP) at port.
func rcvAddr(port int) unix.SockaddrInet4 {
	sa := unix.SockaddrInet4{Port: port}
	copy(sa.Addr[:], rcvIP.To4())
	return sa
}

// exchange is the server's side of the exchange, for one thread: it
// reads the request, writes reply (cut or padded to connRespLen bytes)
// and closes first.
func exchange(reply string) func(fd int) {
	var req [connReqLen]byte
	resp := make([]byte, connRespLen)
	copy(resp, reply)
	return func(fd int) {
		if readFull(fd, req[:], time.Now().Add(connIOTimeout)) == nil {
			unix.Write(fd, resp)
		}
		unix.Close(fd)
	}
}

// acceptEach accepts connections on the non-blocking listener lfd and
// hands each to handle, until quit is set (checked every 100 ms) or the
// listener fails.
func acceptEach(lfd int, quit *atomic.Bool, handle func(fd int)) error {
	for !quit.Load() {
		if err := waitFD(lfd, unix.POLLIN, time.Now().Add(100*time.Millisecond)); err != nil {
			if err != errConnTimeout {
				return err
			}
			continue
		}
		fd, _, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			if err == unix.EAGAIN || err == unix.EINTR || err == unix.ECONNABORTED {
				continue
			}
			return fmt.Errorf("perf: accept: %w", err)
		}
		handle(fd)
	}
	return nil
}

// runConnsTo runs loops client threads in namespace ns, pinned to cpu,
// each making exchanges with sa (a value: Connect writes into it) one
// after another for window.
func runConnsTo(ctx context.Context, ns netns.NsHandle, sa unix.SockaddrInet4, loops, cpu int, window time.Duration) (*ConnResult, error) {
	var (
		ok, failed atomic.Uint64
		wg         sync.WaitGroup
		mu         sync.Mutex
		firstErr   error
		setupErr   error
	)
	start := time.Now()
	end := start.Add(window)
	for range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := lockPinned(cpu, ns)
			if err != nil {
				mu.Lock()
				setupErr = errors.Join(setupErr, err)
				mu.Unlock()
				return
			}
			defer release()
			for time.Now().Before(end) && ctx.Err() == nil {
				if err := connOnceTo(sa, connIOTimeout); err != nil {
					failed.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if setupErr != nil {
		return nil, setupErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &ConnResult{Seconds: secs, OK: ok.Load(), Failed: failed.Load(), PerSec: float64(ok.Load()) / secs}
	if firstErr != nil {
		r.FirstErr = firstErr.Error()
	}
	return r, nil
}

// connOnceTo makes one exchange with sa (a copy: Connect writes into it)
// from the calling thread's namespace: connect, request, reply, close.
func connOnceTo(sa unix.SockaddrInet4, timeout time.Duration) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(timeout)
	if err := unix.Connect(fd, &sa); err != nil && err != unix.EINPROGRESS {
		return fmt.Errorf("connect: %w", err)
	}
	if err := waitFD(fd, unix.POLLOUT, deadline); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if e, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || e != 0 {
		if err == nil {
			err = unix.Errno(e)
		}
		return fmt.Errorf("connect: %w", err)
	}
	var req [connReqLen]byte
	copy(req[:], "vecswitch-sg-req")
	if n, err := unix.Write(fd, req[:]); err != nil || n != len(req) {
		return fmt.Errorf("send: %d bytes, %v", n, err)
	}
	var resp [connRespLen]byte
	if err := readFull(fd, resp[:], deadline); err != nil {
		return fmt.Errorf("reply: %w", err)
	}
	return nil
}

// readFull reads len(b) bytes from the non-blocking fd by deadline.
func readFull(fd int, b []byte, deadline time.Time) error {
	for got := 0; got < len(b); {
		if err := waitFD(fd, unix.POLLIN, deadline); err != nil {
			return err
		}
		n, err := unix.Read(fd, b[got:])
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
		case err != nil:
			return err
		case n == 0:
			return fmt.Errorf("closed after %d of %d bytes", got, len(b))
		default:
			got += n
		}
	}
	return nil
}

// waitFD polls fd for events until deadline (errConnTimeout then).
func waitFD(fd int, events int16, deadline time.Time) error {
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return errConnTimeout
		}
		p := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(p, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		if n > 0 {
			return nil
		}
	}
}

// lockPinned locks the calling goroutine to its thread, moves the thread
// into ns (unless ns is -1) and pins it to cpu. release restores the
// thread's namespace and CPU set and unlocks it; if either cannot be
// restored the thread stays locked and dies with its goroutine.
func lockPinned(cpu int, ns netns.NsHandle) (release func(), err error) {
	runtime.LockOSThread()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("perf: CPU set: %w", err)
	}
	orig := netns.None()
	if ns != -1 {
		if orig, err = netns.Get(); err != nil {
			runtime.UnlockOSThread()
			return nil, fmt.Errorf("perf: current netns: %w", err)
		}
		if err := netns.Set(ns); err != nil {
			orig.Close()
			return nil, fmt.Errorf("perf: enter netns: %w", err) // state unknown: stay locked
		}
	}
	release = func() {
		ok := unix.SchedSetaffinity(0, &set) == nil
		if ns != -1 {
			ok = netns.Set(orig) == nil && ok
			orig.Close()
		}
		if ok {
			runtime.UnlockOSThread()
		}
	}
	if err := pinThread(cpu); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

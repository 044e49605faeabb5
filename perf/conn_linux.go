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

var errConnTimeout = errors.New("timed out")

// connServer serves the exchange on SGConnPort (one SO_REUSEPORT
// listener per thread) and on SGDeniedPort (one), each thread locked and
// pinned to one CPU.
type connServer struct {
	fds  []int
	quit atomic.Bool
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
}

// startConnServer listens in namespace ns on rcvIP with threads threads
// for SGConnPort and one for SGDeniedPort, all pinned to cpu.
func startConnServer(ns netns.NsHandle, threads, cpu int) (s *connServer, err error) {
	s = &connServer{}
	defer func() {
		if err != nil {
			for _, fd := range s.fds {
				unix.Close(fd)
			}
		}
	}()
	ports := make([]int, 0, threads+1)
	for range threads {
		ports = append(ports, SGConnPort)
	}
	ports = append(ports, SGDeniedPort)
	err = onThreadIn(ns, func() error {
		for _, p := range ports {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("perf: socket: %w", err)
			}
			s.fds = append(s.fds, fd)
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
				return fmt.Errorf("perf: SO_REUSEADDR: %w", err)
			}
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
				return fmt.Errorf("perf: SO_REUSEPORT: %w", err)
			}
			sa := &unix.SockaddrInet4{Port: p}
			copy(sa.Addr[:], rcvIP.To4())
			if err := unix.Bind(fd, sa); err != nil {
				return fmt.Errorf("perf: bind %s:%d: %w", rcvIP, p, err)
			}
			if err := unix.Listen(fd, 4096); err != nil {
				return fmt.Errorf("perf: listen %s:%d: %w", rcvIP, p, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ready := make(chan error, len(s.fds))
	for _, fd := range s.fds {
		s.wg.Add(1)
		go s.serve(fd, cpu, ready)
	}
	for range s.fds {
		if e := <-ready; e != nil {
			err = errors.Join(err, e)
		}
	}
	if err != nil {
		return nil, errors.Join(err, s.stop())
	}
	return s, nil
}

// serve accepts on lfd until stopped, one connection at a time.
func (s *connServer) serve(lfd, cpu int, ready chan<- error) {
	defer s.wg.Done()
	release, err := lockPinned(cpu, -1)
	ready <- err
	if err != nil {
		return
	}
	defer release()
	var buf [connReqLen]byte
	resp := make([]byte, connRespLen)
	copy(resp, "vecswitch-sgresp")
	err = acceptEach(lfd, &s.quit, func(fd int) {
		if readFull(fd, buf[:], time.Now().Add(connIOTimeout)) == nil {
			unix.Write(fd, resp)
		}
		unix.Close(fd)
	})
	if err != nil {
		s.fail(err)
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

func (s *connServer) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// stop ends the threads and closes the listeners; the error is the first
// a thread met.
func (s *connServer) stop() error {
	s.quit.Store(true)
	s.wg.Wait()
	for _, fd := range s.fds {
		unix.Close(fd)
	}
	s.fds = nil
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// probeConn makes one exchange from namespace ns to rcvIP:port.
func probeConn(ns netns.NsHandle, port int, timeout time.Duration) error {
	var err error
	if oerr := onThreadIn(ns, func() error {
		err = connOnce(port, timeout)
		return nil
	}); oerr != nil {
		return oerr
	}
	return err
}

// runConns runs loops client threads in namespace ns, pinned to cpu,
// each making exchanges with rcvIP:SGConnPort one after another for
// window.
func runConns(ctx context.Context, ns netns.NsHandle, loops, cpu int, window time.Duration) (*ConnResult, error) {
	sa := unix.SockaddrInet4{Port: SGConnPort}
	copy(sa.Addr[:], rcvIP.To4())
	return runConnsTo(ctx, ns, sa, loops, cpu, window)
}

// runConnsTo is runConns against sa (a value: Connect writes into it).
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

// connOnce makes one exchange with rcvIP:port from the calling thread's
// namespace: connect, request, reply, close.
func connOnce(port int, timeout time.Duration) error {
	sa := unix.SockaddrInet4{Port: port}
	copy(sa.Addr[:], rcvIP.To4())
	return connOnceTo(sa, timeout)
}

// connOnceTo is connOnce with sa (a copy: Connect writes into it).
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

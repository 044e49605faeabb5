package perf

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// listeners is what the suites' servers (the security-group suite's
// connection server, the service suite's backends) have in common:
// non-blocking listening sockets in a namespace, one thread per socket,
// locked and pinned to one CPU, accepting until stop, and the first error
// a thread met. Threads that handlers start count in wg too, so stop
// waits for them.
type listeners struct {
	fds  []int
	quit atomic.Bool
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
}

// start listens in namespace ns on addr at each of ports (with
// SO_REUSEPORT, so that several listeners share a port) and starts a
// thread per listener, pinned to cpu, that hands each connection it
// accepts to the handler newHandler(port) made on that thread (so a
// handler's buffers are its thread's own). It returns once every thread
// is pinned; on error nothing is left open.
func (l *listeners) start(ns netns.NsHandle, addr netip.Addr, ports []int, cpu int, newHandler func(port int) func(fd int)) error {
	err := onThreadIn(ns, func() error {
		for _, p := range ports {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("perf: socket: %w", err)
			}
			l.fds = append(l.fds, fd)
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
				return fmt.Errorf("perf: SO_REUSEADDR: %w", err)
			}
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
				return fmt.Errorf("perf: SO_REUSEPORT: %w", err)
			}
			if err := unix.Bind(fd, &unix.SockaddrInet4{Port: p, Addr: addr.As4()}); err != nil {
				return fmt.Errorf("perf: bind %s:%d: %w", addr, p, err)
			}
			if err := unix.Listen(fd, 4096); err != nil {
				return fmt.Errorf("perf: listen %s:%d: %w", addr, p, err)
			}
		}
		return nil
	})
	if err != nil {
		for _, fd := range l.fds {
			unix.Close(fd)
		}
		l.fds = nil
		return err
	}
	ready := make(chan error, len(l.fds))
	for i, fd := range l.fds {
		l.wg.Add(1)
		go l.serve(fd, cpu, ports[i], newHandler, ready)
	}
	for range l.fds {
		if e := <-ready; e != nil {
			err = errors.Join(err, e)
		}
	}
	if err != nil {
		return errors.Join(err, l.stop())
	}
	return nil
}

// serve accepts on lfd until stopped, one connection at a time.
func (l *listeners) serve(lfd, cpu, port int, newHandler func(port int) func(fd int), ready chan<- error) {
	defer l.wg.Done()
	release, err := lockPinned(cpu, -1)
	ready <- err
	if err != nil {
		return
	}
	defer release()
	if err := acceptEach(lfd, &l.quit, newHandler(port)); err != nil {
		l.fail(err)
	}
}

// fail records err unless a thread failed before.
func (l *listeners) fail(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
}

// stop ends the threads and closes the listeners; the error is the first
// a thread met.
func (l *listeners) stop() error {
	l.quit.Store(true)
	l.wg.Wait()
	for _, fd := range l.fds {
		unix.Close(fd)
	}
	l.fds = nil
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

package netdev

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// OpenNetns opens the namespace file at path (/proc/PID/ns/net, or a bind
// mount such as /var/run/netns/NAME); "" is the caller's namespace. It
// checks that the file is a network namespace. Close it when done: an open
// handle keeps the namespace alive.
func OpenNetns(path string) (*Netns, error) {
	if path == "" {
		return &Netns{fd: -1}, nil
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &Error{Op: "open", Netns: path, Err: wrapKind(ErrNetns, err)}
	}
	t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil || t != unix.CLONE_NEWNET {
		unix.Close(fd)
		if err == nil {
			err = fmt.Errorf("namespace type %#x", t)
		}
		return nil, &Error{Op: "open", Netns: path, Err: wrapKind(ErrNetns, fmt.Errorf("not a network namespace: %w", err))}
	}
	return &Netns{path: path, fd: fd}, nil
}

// Close releases the namespace file. It is safe to call more than once.
func (n *Netns) Close() error {
	if n.fd < 0 {
		return nil
	}
	err := unix.Close(n.fd)
	n.fd = -1
	return err
}

// Do runs fn with the calling context inside the namespace: on a new
// goroutine locked to its OS thread, which enters the namespace, runs fn,
// and returns to the thread's original namespace before unlocking. File
// descriptors fn opens (sockets) stay in the namespace after Do returns. If
// the thread cannot return, it stays locked and exits with the goroutine.
// A panic in fn is raised again in the caller, after the thread is back.
func (n *Netns) Do(fn func() error) error {
	if n.fd < 0 {
		return fn()
	}
	type result struct {
		err      error
		panicked bool
		val      any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: &Error{Op: "open own netns", Err: err}}
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: &Error{Op: "enter", Netns: n.path, Err: wrapKind(ErrNetns, err)}}
			return
		}
		var res result
		func() {
			defer func() {
				if v := recover(); v != nil {
					res.panicked, res.val = true, v
				}
			}()
			res.err = fn()
		}()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// Stay locked: the runtime ends the thread with the goroutine.
			done <- result{err: &Error{Op: "leave", Netns: n.path, Err: err}}
			return
		}
		runtime.UnlockOSThread()
		done <- res
	}()
	res := <-done
	if res.panicked {
		panic(res.val)
	}
	return res.err
}

// Do opens the namespace at path, runs fn inside it (see Netns.Do) and
// closes it.
func Do(path string, fn func() error) error {
	n, err := OpenNetns(path)
	if err != nil {
		return err
	}
	defer n.Close()
	return n.Do(fn)
}

// handle opens an rtnetlink socket inside the namespace; the caller closes
// it. Like netlink.NewHandleAt, only the socket's creation runs inside the
// namespace, but it does so through Do, so a thread that fails to switch
// back is never reused (NewHandleAt unlocks it regardless).
func (n *Netns) handle() (*netlink.Handle, error) {
	var h *netlink.Handle
	err := n.Do(func() error {
		var err error
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		return nil, linkErr("open netlink socket", "", n.path, err)
	}
	return h, nil
}

// openWithHandle opens a namespace and a netlink handle in it.
func openWithHandle(path string) (*Netns, *netlink.Handle, error) {
	n, err := OpenNetns(path)
	if err != nil {
		return nil, nil, err
	}
	h, err := n.handle()
	if err != nil {
		n.Close()
		return nil, nil, err
	}
	return n, h, nil
}

package pipeline

import (
	"golang.org/x/sys/unix"
)

// Pollable is an optional RxQueue capability: a file descriptor that polls
// readable when the queue has packets (an AF_XDP socket, a tap fd). When
// every rx queue of a worker is pollable, an idle worker in IdleSleep mode
// blocks in epoll until traffic arrives instead of sleeping in steps, so an
// idle switch uses almost no CPU and still wakes at once.
type Pollable interface {
	PollFD() int
}

// idler blocks an idle worker in epoll on its rx queues' descriptors and on
// an eventfd the control plane writes to wake it (new poll list, quiesce,
// stop).
type idler struct {
	epfd, evfd int
	list       *PollList // what the epoll set was built for
	fds        []int
	ok         bool // every rx queue of list is pollable
	events     [8]unix.EpollEvent
	buf        [8]byte
}

func newIdler() (*idler, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, err
	}
	return &idler{epfd: epfd, evfd: evfd}, nil
}

// kick wakes the worker if it waits. Safe from any goroutine.
func (i *idler) kick() {
	var one = [8]byte{1}
	unix.Write(i.evfd, one[:])
}

// wait blocks until a queue of pl is readable, a kick, or timeoutMs. It
// returns false at once if some queue of pl cannot be polled (the caller
// then sleeps instead).
func (i *idler) wait(pl *PollList, timeoutMs int) bool {
	if pl != i.list {
		i.rebuild(pl)
	}
	if !i.ok {
		return false
	}
	n, err := unix.EpollWait(i.epfd, i.events[:], timeoutMs)
	if err != nil && err != unix.EINTR {
		return false
	}
	for _, ev := range i.events[:max(n, 0)] {
		switch {
		case int(ev.Fd) == i.evfd:
			unix.Read(i.evfd, i.buf[:])
		case ev.Events&(unix.EPOLLERR|unix.EPOLLHUP) != 0:
			// The queue's device is gone: its fd would report an error
			// on every wait. Stop waiting on it; the port reports down.
			unix.EpollCtl(i.epfd, unix.EPOLL_CTL_DEL, int(ev.Fd), nil)
		}
	}
	return true
}

func (i *idler) rebuild(pl *PollList) {
	for _, fd := range i.fds {
		unix.EpollCtl(i.epfd, unix.EPOLL_CTL_DEL, fd, nil) // closed fds left the set by themselves
	}
	// No queue at all: wait for a kick (or the timeout) only.
	i.fds, i.list, i.ok = i.fds[:0], pl, true
	if pl == nil {
		return
	}
	for _, e := range pl.Rx {
		p, ok := e.Queue.(Pollable)
		if !ok {
			i.ok = false
			return
		}
		fd := p.PollFD()
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err := unix.EpollCtl(i.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil && err != unix.EEXIST {
			i.ok = false
			return
		}
		i.fds = append(i.fds, fd)
	}
}

func (i *idler) close() {
	unix.Close(i.epfd)
	unix.Close(i.evfd)
}

package vhostuser

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports"
)

// New validates cfg, listens on its socket and starts the port's goroutine,
// which serves front-ends until Close. On failure nothing is left behind.
func New(cfg Config) (*Port, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	n := cfg.Queues
	p := &Port{
		name: cfg.Name, socket: cfg.Socket, log: cfg.Logger,
		info:   ports.Info{RxQueues: n, TxQueues: n, BatchSize: cfg.BatchSize, Offload: !cfg.NoOffload},
		rxOpen: make([]bool, n), txOpen: make([]bool, n),
		rxc: make([]rxCounters, n), txc: make([]txCounters, n),
	}
	if err := p.makePortFDs(n); err != nil {
		return nil, fmt.Errorf("vhostuser %s: %w", cfg.Name, err)
	}
	p.b = newBackend(cfg.Name, cfg.Logger, linuxSys{}, n, !cfg.NoOffload, cfg.mac48(), p.pollFDs, p.busyFDs, &p.ctl)
	ln, err := listen(cfg.Socket, cfg.SocketMode)
	if err != nil {
		closePortFDs(p.pollFDs)
		closePortFDs(p.busyFDs)
		return nil, fmt.Errorf("vhostuser %s: listen on %s: %w", cfg.Name, cfg.Socket, err)
	}
	p.srv = newServer(p.b, cfg.Logger, &p.ctl, ln)
	go p.srv.run()
	return p, nil
}

// makePortFDs creates, per queue pair, the rx queue's epoll descriptor and
// an eventfd that is readable for ever.
func (p *Port) makePortFDs(n int) error {
	p.pollFDs, p.busyFDs = make([]int, n), make([]int, n)
	for i := range n {
		p.pollFDs[i], p.busyFDs[i] = -1, -1
	}
	for i := range n {
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			closePortFDs(p.pollFDs)
			closePortFDs(p.busyFDs)
			return fmt.Errorf("epoll_create: %w", err)
		}
		p.pollFDs[i] = ep
		ev, err := unix.Eventfd(1, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			closePortFDs(p.pollFDs)
			closePortFDs(p.busyFDs)
			return fmt.Errorf("eventfd: %w", err)
		}
		p.busyFDs[i] = ev
	}
	return nil
}

func closePortFDs(fds []int) {
	for i, fd := range fds {
		if fd >= 0 {
			unix.Close(fd)
			fds[i] = -1
		}
	}
}

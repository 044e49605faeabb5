//go:build !linux

package vhostuser

// New returns ErrNotSupported: vhost-user needs Linux (eventfd, memfd,
// SCM_RIGHTS and mmap of shared guest memory).
func New(cfg Config) (*Port, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return nil, ErrNotSupported
}

type server struct{}

func (s *server) stop() {}
func (s *server) drop() {}

func closePortFDs(fds []int) {}

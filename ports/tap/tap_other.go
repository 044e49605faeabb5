//go:build !linux

package tap

import (
	"errors"

	"github.com/vecswitch/vecswitch/pipeline"
)

var errNotSupported = errors.New("tap: not supported on this platform")

func createDevice(cfg *Config) ([]int, Device, error) { return nil, Device{}, errNotSupported }

func destroyDevice(fds []int, dev Device) error { return errNotSupported }

func detached(fd int) error { return nil }

type rxQueue struct {
	p     *Port
	q     int
	fd    int
	pool  *pipeline.Pool
	batch int
	c     *rxCounters
}

type txQueue struct {
	p        *Port
	q        int
	fd       int
	pool     *pipeline.Pool
	maxFrame int
	c        *txCounters
}

func (q *rxQueue) Rx([]pipeline.BufID) (int, error) { return 0, errNotSupported }
func (q *rxQueue) Close() error                     { return errNotSupported }
func (q *txQueue) Tx(b []pipeline.BufID) (int, error) {
	q.pool.FreeN(b)
	return 0, errNotSupported
}
func (q *txQueue) Close() error { return errNotSupported }

func newOffRx(rx rxQueue) *rxQueue { return &rx }
func newOffTx(tx txQueue) *txQueue { return &tx }

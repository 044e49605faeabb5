package perf

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netns"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/afxdp"
)

// generator transmits one 64-byte UDP frame over and over out of the
// sender's eth0 from a thread inside the sender's namespace, pinned to one
// CPU, at full rate or paced to a set rate; sent counts the frames. This
// file has the AF_XDP generator (our port driver, copy mode: the thread
// keeps the tx ring full and reclaims completions);
// e2e_xdplive_linux.go has the xdp-live one.
type generator struct {
	sent    atomic.Uint64
	stopReq atomic.Bool
	done    chan error
}

const (
	genRing   = 2048
	genFrames = 2 * genRing
	// genDrain bounds how long stop waits for the kernel to complete
	// what is still on the tx ring.
	genDrain = time.Second
)

func startGenerator(ns netns.NsHandle, frame []byte, cpu, rate int) (*generator, error) {
	g := &generator{done: make(chan error, 1)}
	ready := make(chan error, 1)
	go func() {
		g.done <- offMainThread(func() error { return g.run(ns, frame, cpu, rate, ready) })
	}()
	if err := <-ready; err != nil {
		<-g.done
		return nil, err
	}
	return g, nil
}

// stop ends the generator; call it once.
func (g *generator) stop() error {
	g.stopReq.Store(true)
	return <-g.done
}

// run owns its OS thread for good: enterForGood moves it into the sender's
// namespaces and it exits with the goroutine. It sends one value on ready.
func (g *generator) run(ns netns.NsHandle, frame []byte, cpu, rate int, ready chan<- error) (err error) {
	started := false
	defer func() {
		if r := recover(); r != nil {
			err = errors.Join(err, fmt.Errorf("perf: generator panicked: %v", r))
		}
		if !started {
			ready <- err
		}
	}()
	if err := enterForGood(ns); err != nil {
		return err
	}
	if err := pinThread(cpu); err != nil {
		return err
	}
	tx, err := openGenTx(innerIfname, frame)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, tx.close()) }()
	started = true
	ready <- nil
	return errors.Join(g.loop(tx, rate), tx.drain(genDrain))
}

func (g *generator) loop(tx *genTx, rate int) error {
	pace := newPacer(rate, pipeline.VectorSize, 0)
	var sent uint64
	for !g.stopReq.Load() {
		room := pace.next(sent, pipeline.VectorSize)
		if room == 0 {
			continue
		}
		k, err := tx.send(room)
		if err != nil {
			return err
		}
		sent += uint64(k)
		g.sent.Store(sent)
	}
	return nil
}

// genTx is the generator's transmit side: an AF_XDP port on one device and
// a pool whose every frame already holds the packet, so sending is only
// metadata and ring work.
type genTx struct {
	pool *pipeline.Pool
	port *afxdp.Port
	txq  pipeline.TxQueue
	rc   pipeline.Reclaimer
	meta []pipeline.Meta
	ids  [pipeline.VectorSize]pipeline.BufID
}

// openGenTx opens queue 0 of ifname (in the calling thread's namespace,
// with /sys showing it) for transmitting frame. On an error it closes what
// it opened and returns a nil *genTx.
func openGenTx(ifname string, frame []byte) (_ *genTx, err error) {
	g := &genTx{}
	defer closeOnError(&err, g.close)
	if g.pool, err = pipeline.NewPool(pipeline.PoolConfig{Frames: genFrames}); err != nil {
		return nil, err
	}
	if g.port, err = afxdp.New(afxdp.Config{Name: "gen", Ifname: ifname, Queues: 1, RingSize: genRing, Copy: "copy"}); err != nil {
		return nil, fmt.Errorf("perf: generator: %w", err)
	}
	if g.txq, err = g.port.OpenTx(0, g.pool); err != nil {
		return nil, fmt.Errorf("perf: generator: %w", err)
	}
	g.rc, _ = g.txq.(pipeline.Reclaimer)
	ids := make([]pipeline.BufID, g.pool.Size())
	ids = ids[:g.pool.AllocN(ids)]
	for _, id := range ids {
		g.pool.SetPacket(id, frame)
	}
	g.pool.FreeN(ids)
	g.meta, _ = g.pool.Arrays()
	return g, nil
}

// send reclaims completed frames and puts up to limit more on the tx ring,
// never more than the ring holds; it returns how many the kernel took.
func (g *genTx) send(limit int) (int, error) {
	if g.rc != nil {
		g.rc.Reclaim()
	}
	room := min(genRing-(g.pool.Size()-g.pool.Available()), limit, len(g.ids))
	n := g.pool.AllocN(g.ids[:max(room, 0)])
	for _, id := range g.ids[:n] {
		g.meta[id].Len = FrameLen
	}
	// Tx also completes and kicks when n is 0: a full ring drains.
	k, err := g.txq.Tx(g.ids[:n])
	if err != nil {
		return k, fmt.Errorf("perf: generator tx: %w", err)
	}
	return k, nil
}

// drain waits, kicking, until the kernel has completed every frame.
func (g *genTx) drain(timeout time.Duration) error {
	for end := time.Now().Add(timeout); g.pool.Available() < g.pool.Size(); {
		if time.Now().After(end) {
			return fmt.Errorf("perf: generator: %d frames not completed after %v", g.pool.Size()-g.pool.Available(), timeout)
		}
		if _, err := g.send(0); err != nil {
			return err
		}
	}
	return nil
}

// close closes the queue, the port and the pool, in that order.
func (g *genTx) close() error {
	var errs []error
	if g.txq != nil {
		errs = append(errs, g.txq.Close())
	}
	if g.port != nil {
		errs = append(errs, g.port.Close())
	}
	if g.pool != nil {
		errs = append(errs, g.pool.Close())
	}
	g.txq, g.port, g.pool = nil, nil, nil
	return errors.Join(errs...)
}

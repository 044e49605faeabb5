package perf

import (
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/vecswitch/vecswitch/pipeline"
)

// rig is what a path adds between the two host ends.
type rig struct {
	// close stops forwarding and releases what the path made (not the
	// topology).
	close func() error
	// runtime returns node counters (Vecswitch only; nil otherwise).
	runtime func() []pipeline.NodeCounters
	// report fills the path's counters into a result, before close.
	report func(*E2EResult)
}

func startPath(t *topo, path string, cpu int) (*rig, error) {
	switch path {
	case PathBridge:
		if err := t.addBridge(); err != nil {
			return nil, err
		}
		return &rig{close: func() error { return nil }, report: func(*E2EResult) {}}, nil
	case PathBridgeRPS:
		if err := t.addBridge(); err != nil {
			return nil, err
		}
		if err := steerRx(t.snd.host, cpu); err != nil {
			return nil, err
		}
		return &rig{close: func() error { return nil }, report: func(*E2EResult) {}}, nil
	case PathVecswitch:
		return startVecswitch(t, cpu, false, false)
	case PathVecswitchShared:
		return startVecswitch(t, cpu, false, true)
	case PathFastPath:
		return startVecswitch(t, cpu, true, false)
	case PathAFPacket:
		return startVecswitchAFPacket(t, cpu)
	case PathAsavie:
		return startAsavie(t, cpu)
	case PathXSK:
		return startXSK(t, cpu)
	}
	return nil, fmt.Errorf("perf: unknown path %q", path)
}

// pump is the skeleton of the cross-connects: a goroutine that owns a
// thread pinned to one CPU and calls step until stopped. step forwards in
// both directions and returns an error only when it cannot go on.
type pump struct {
	stopReq atomic.Bool
	done    chan error
	// fwd and drop count frames per direction (0: sender to receiver).
	fwd, drop [2]atomic.Uint64
}

func startPump(cpu int, step func(p *pump) error) (*pump, error) {
	p := &pump{done: make(chan error, 1)}
	ready := make(chan error, 1)
	go func() {
		var err error
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("perf: forwarder panicked: %v", r)
			}
			p.done <- err
		}()
		// Never unlocked: the pinned thread exits with the goroutine.
		runtime.LockOSThread()
		if err = pinThread(cpu); err != nil {
			ready <- err
			return
		}
		ready <- nil
		for !p.stopReq.Load() {
			if err = step(p); err != nil {
				return
			}
		}
	}()
	if err := <-ready; err != nil {
		<-p.done
		return nil, err
	}
	return p, nil
}

// stop ends the pump; the error is the step's, if it failed. Call it once.
func (p *pump) stop() error {
	p.stopReq.Store(true)
	return <-p.done
}

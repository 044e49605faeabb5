package perf

import (
	"errors"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/afxdp"
)

// xskXC is the raw cross-connect: an AF_XDP port on each host end, both on
// one buffer pool (one UMEM shared by the two sockets), and a loop that
// hands every frame received on one end to the other end's tx ring by
// address. No graph, no lookup, no copy in userspace: what is left is the
// kernel's AF_XDP copy path on veth plus our rings.
//
// It uses the public port driver (ports/afxdp), a thin layer over
// ports/internal/xsk, because Go's internal rule keeps perf from importing
// ports/internal/xsk itself.
type xskXC struct {
	pool  *pipeline.Pool
	ports [2]*afxdp.Port
	rx    [2]pipeline.RxQueue
	tx    [2]pipeline.TxQueue
	pump  *pump
}

func startXSK(t *topo, cpu int) (*rig, error) {
	x, err := openXSK(t)
	if err != nil {
		return nil, err
	}
	var ids [pipeline.VectorSize]pipeline.BufID
	if x.pump, err = startPump(cpu, func(p *pump) error { return x.step(p, ids[:]) }); err != nil {
		return nil, errors.Join(err, x.close())
	}
	return &rig{close: x.close, report: x.report}, nil
}

// openXSK opens the ports and queues; the caller runs step. On an error
// it closes what it opened and returns a nil *xskXC.
func openXSK(t *topo) (_ *xskXC, err error) {
	x := &xskXC{}
	defer closeOnError(&err, x.close)
	if x.pool, err = pipeline.NewPool(pipeline.PoolConfig{Frames: 8192}); err != nil {
		return nil, err
	}
	for i, e := range []*endpoint{&t.snd, &t.rcv} {
		if x.ports[i], err = afxdp.New(afxdp.Config{Name: e.host, Ifname: e.host, Queues: 1}); err != nil {
			return nil, err
		}
		if x.rx[i], err = x.ports[i].OpenRx(0, x.pool); err != nil {
			return nil, err
		}
		if x.tx[i], err = x.ports[i].OpenTx(0, x.pool); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// step forwards one batch each way. The pump's goroutine owns the queues.
func (x *xskXC) step(p *pump, ids []pipeline.BufID) error {
	for d := range 2 {
		n, err := x.rx[d].Rx(ids)
		if err != nil {
			return err
		}
		if n == 0 {
			x.tx[1-d].(pipeline.Reclaimer).Reclaim()
			continue
		}
		k, err := x.tx[1-d].Tx(ids[:n])
		if err != nil {
			return err
		}
		p.fwd[d].Add(uint64(k))
		if k < n {
			p.drop[d].Add(uint64(n - k))
		}
	}
	return nil
}

func (x *xskXC) report(res *E2EResult) {
	for i, port := range x.ports {
		if port == nil {
			continue
		}
		st := port.Stats()
		sr := SocketReport{Name: port.Name(), RxDropped: st.RxDropped, RxRingFull: st.RxRingFull,
			RxFillEmpty: st.RxFillEmpty, TxInvalidDescs: st.TxInvalidDescs}
		if x.pump != nil {
			// Port i transmits what came in on the other one.
			sr.Forwarded, sr.Dropped = x.pump.fwd[1-i].Load(), x.pump.drop[1-i].Load()+st.TxRingFull
		}
		res.Sockets = append(res.Sockets, sr)
	}
}

// close stops the loop, then closes queues, ports and the pool, in that
// order (a port closes only without open queues; the pool only after the
// kernel can no longer touch it).
func (x *xskXC) close() error {
	var errs []error
	if x.pump != nil {
		errs = append(errs, x.pump.stop())
		x.pump = nil
	}
	for i := range x.ports {
		if x.rx[i] != nil {
			errs = append(errs, x.rx[i].Close())
		}
		if x.tx[i] != nil {
			errs = append(errs, x.tx[i].Close())
		}
		if x.ports[i] != nil {
			errs = append(errs, x.ports[i].Close())
		}
		x.rx[i], x.tx[i], x.ports[i] = nil, nil, nil
	}
	if x.pool != nil {
		errs = append(errs, x.pool.Close())
		x.pool = nil
	}
	return errors.Join(errs...)
}

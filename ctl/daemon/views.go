package daemon

import (
	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The daemon answers with ctl's views, which copy the data plane's report
// types so that clients link none of it. Where the two have the same
// fields, a Go conversion is used: a field added to one and not the other
// then fails to compile. The rest is converted by hand here, and
// views_test.go checks every copy's JSON against its original's.

func fastPathPortView(f *vswitch.FastPathPort) *ctl.FastPathPort {
	if f == nil {
		return nil
	}
	v := &ctl.FastPathPort{State: f.State, Reason: f.Reason}
	if f.Counters != nil {
		c := ctl.FastPathCounters(*f.Counters)
		v.Counters = &c
	}
	return v
}

func queueViews(qs []vswitch.QueueInfo) []ctl.QueueInfo {
	if qs == nil {
		return nil
	}
	out := make([]ctl.QueueInfo, len(qs))
	for i, q := range qs {
		out[i] = ctl.QueueInfo(q)
	}
	return out
}

func workerViews(ws []vswitch.WorkerInfo) []ctl.WorkerInfo {
	if ws == nil {
		return nil
	}
	out := make([]ctl.WorkerInfo, len(ws))
	for i, w := range ws {
		out[i] = ctl.WorkerInfo(w)
	}
	return out
}

func traceView(t vswitch.Trace) ctl.Trace {
	v := ctl.Trace{Seq: t.Seq, Worker: t.Worker, Time: t.Time, InPort: t.InPort, Data: t.Data}
	if t.Hops != nil {
		v.Hops = make([]ctl.TraceHop, len(t.Hops))
		for i, h := range t.Hops {
			v.Hops[i] = ctl.TraceHop(h)
		}
	}
	return v
}

func vtepView(t *vswitch.VTEP) *ctl.VTEP {
	if t == nil {
		return nil
	}
	v := ctl.VTEP(*t)
	return &v
}

package daemon

import (
	"maps"
	"slices"
	"sort"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The read commands of the switch as a whole: show, port/stats,
// show-runtime, show-workers, show-errors.

func (d *Daemon) portViews(bridge string) []ctl.PortView {
	live := map[string]vswitch.PortInfo{}
	for _, pi := range d.sw.Ports() {
		live[pi.Name] = pi
	}
	var out []ctl.PortView
	for _, spec := range d.state.Ports {
		if bridge != "" && spec.Bridge != bridge {
			continue
		}
		_, bp := d.state.port(spec.Name)
		v := ctl.PortView{Name: spec.Name, Bridge: spec.Bridge, Type: spec.Type, Options: spec.Options}
		if bp != nil {
			v.Mode, v.VLAN, v.Trunks = ctl.PortMode(bp.Mode), bp.VLAN, ctl.VLANSet(bp.Trunks)
			v.MACs, v.PortSecurity = bp.MACs, len(bp.MACs) > 0 && (bp.PortSecurity == nil || *bp.PortSecurity)
			v.MACLimit = bp.MACLimit
			if v.MACLimit == 0 {
				v.MACLimit = vswitch.DefaultPortMACLimit
			}
			if v.Mode == "" {
				v.Mode = ctl.Access
			}
		}
		if pi, ok := live[spec.Name]; ok {
			v.Attached, v.Up, v.RxQueues, v.Counters, v.FastPath = true, pi.Up, queueViews(pi.RxQueues), ctl.PortCounters(pi.Counters), fastPathPortView(pi.FastPath)
			v.Learned, v.MACLimitDrops = pi.MACs, pi.MACLimitDrops
		}
		if pd, ok := d.health.down[spec.Name]; ok {
			v.Down, v.DownSince, v.LastTry = pd.Reason, pd.Since, pd.LastTry
		}
		v.Losses = d.health.losses[spec.Name]
		if dr, ok := d.drivers[spec.Name]; ok {
			if dg, ok := dr.port.(interface{ Degraded() string }); ok {
				v.Degraded = dg.Degraded()
			}
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (d *Daemon) show([]string) (any, error) {
	cfg := d.sw.Config() // defaults filled in
	v := ctl.ShowView{Bridges: []ctl.BridgeView{}, Workers: workerViews(d.sw.WorkerInfos()), FastPath: ctl.FastPathStatus(d.sw.FastPathStatus())}
	limitDrops := d.sw.MACStats().LimitDrops
	for _, b := range cfg.Bridges {
		ports := d.portViews(b.Name)
		if ports == nil {
			ports = []ctl.PortView{}
		}
		v.Bridges = append(v.Bridges, ctl.BridgeView{Name: b.Name, MACAgeSeconds: b.MACAgeSeconds, MACLimit: b.MACLimit,
			MACLimitDrops: limitDrops[b.Name], FastPath: b.FastPath == nil || *b.FastPath, Ports: ports})
	}
	for _, p := range d.portViews("") {
		if p.Bridge == "" {
			v.RoutedPorts = append(v.RoutedPorts, p)
		}
	}
	return v, nil
}

func (d *Daemon) portStats(args []string) (any, error) {
	var out []ctl.PortStats
	for _, v := range d.portViews("") {
		if len(args) == 1 && v.Name != args[0] {
			continue
		}
		ps := ctl.PortStats{Name: v.Name, Counters: v.Counters, FastPath: v.FastPath}
		if dr, ok := d.drivers[v.Name]; ok {
			if s, ok := dr.port.(interface{ Stats() any }); ok {
				ps.Driver = s.Stats()
			} else {
				ps.Driver = driverStats(dr)
			}
		}
		out = append(out, ps)
	}
	if len(args) == 1 && len(out) == 0 {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no port %s", args[0])
	}
	if out == nil {
		out = []ctl.PortStats{}
	}
	return out, nil
}

func (d *Daemon) showRuntime([]string) (any, error) { return d.sw.Runtime(), nil }

func (d *Daemon) showWorkers([]string) (any, error) { return d.sw.WorkerInfos(), nil }

func (d *Daemon) showErrors([]string) (any, error) {
	out := []ctl.ErrorCount{}
	for _, n := range d.sw.Runtime() {
		for _, dc := range n.Drops {
			out = append(out, ctl.ErrorCount{Node: n.Name, Reason: dc.Reason, Packets: dc.Packets})
		}
	}
	return append(out, d.outsideDrops()...), nil
}

// outsideDrops are show errors' counters that are not the pipeline's
// (see showErrors), non-zero only. The caller holds d.mu.
func (d *Daemon) outsideDrops() []ctl.ErrorCount {
	var out []ctl.ErrorCount
	// Losses the pipeline cannot count, under "port:NAME": frames the
	// kernel dropped at an AF_XDP port because its fill ring was empty
	// (the worker's buffer pool ran dry, or the worker fell behind) or
	// its rx ring full, and at an AF_PACKET port because its socket's
	// receive buffer was full (the worker fell behind).
	names := slices.Sorted(maps.Keys(d.drivers))
	for _, name := range names {
		switch p := d.drivers[name].port.(type) {
		case *afxdp.Port:
			st := p.Stats()
			if st.RxFillEmpty > 0 {
				out = append(out, ctl.ErrorCount{Node: "port:" + name, Reason: "rx-fill-ring-empty", Packets: st.RxFillEmpty})
			}
			if st.RxRingFull > 0 {
				out = append(out, ctl.ErrorCount{Node: "port:" + name, Reason: "rx-ring-full", Packets: st.RxRingFull})
			}
		case *afpacket.Port:
			if st := p.Stats(); st.RxKernelDrops > 0 {
				out = append(out, ctl.ErrorCount{Node: "port:" + name, Reason: "rx-kernel-drops", Packets: st.RxKernelDrops})
			}
		}
	}
	// Sources the MAC table did not learn (their frames were forwarded,
	// and frames to them flooded): a bridge at its MAC limit
	// ("bridge:NAME"), a port at its own ("port:NAME").
	st := d.sw.MACStats()
	for _, b := range slices.Sorted(maps.Keys(st.LimitDrops)) {
		out = append(out, ctl.ErrorCount{Node: "bridge:" + b, Reason: "mac-limit-not-learned", Packets: st.LimitDrops[b]})
	}
	for _, pi := range d.sw.Ports() {
		if pi.MACLimitDrops > 0 {
			out = append(out, ctl.ErrorCount{Node: "port:" + pi.Name, Reason: "mac-limit-not-learned", Packets: pi.MACLimitDrops})
		}
	}
	return out
}

package daemon

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/memport"
)

// portUp gathers the port_up series by port: value and bridge label.
func portUp(t *testing.T, d *Daemon) map[string][2]any {
	t.Helper()
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(newMetricsCollector(d)))
	fams, err := reg.Gather()
	require.NoError(t, err)
	out := map[string][2]any{}
	for _, f := range fams {
		if f.GetName() != "vswitch_port_up" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["port"]] = [2]any{m.GetGauge().GetValue(), labels["bridge"]}
		}
	}
	return out
}

// TestMetricsPortUpForDownPorts: a configured port that is down (here not
// restored at start) has its port_up series, 0; it had none, so an alert
// on port_up == 0 never fired for it.
func TestMetricsPortUpForDownPorts(t *testing.T) {
	dir := t.TempDir()
	d := newMemPortDaemon(t, dir, nil)
	require.True(t, run(t, d, "add-br", "br0").OK)
	require.True(t, run(t, d, "add-port", "br0", "p1", "type=tap").OK)
	require.True(t, run(t, d, "add-port", "br0", "p2", "type=tap").OK)
	require.Equal(t, map[string][2]any{"p1": {1.0, "br0"}, "p2": {1.0, "br0"}}, portUp(t, d))
	require.NoError(t, d.Close())

	d = newMemPortDaemon(t, dir, func(spec PortSpec) (ports.Port, error) {
		if spec.Name == "p2" {
			return nil, errors.New("no such device")
		}
		return memport.New(memport.Config{Name: spec.Name})
	})
	t.Cleanup(func() { d.Close() })
	require.Equal(t, map[string][2]any{"p1": {1.0, "br0"}, "p2": {0.0, "br0"}}, portUp(t, d))
}

// gatherMetrics collects c's series as name{label=value,...} (labels in
// the order the collector gives them) -> value, gauges and counters
// alike.
func gatherMetrics(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(c))
	fams, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			k := f.GetName()
			if ls := m.GetLabel(); len(ls) > 0 {
				var parts []string
				for _, l := range ls {
					parts = append(parts, l.GetName()+"="+l.GetValue())
				}
				k += "{" + strings.Join(parts, ",") + "}"
			}
			v := m.GetGauge().GetValue()
			if m.GetCounter() != nil {
				v = m.GetCounter().GetValue()
			}
			out[k] = v
		}
	}
	return out
}

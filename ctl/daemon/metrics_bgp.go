package daemon

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vecswitch/vecswitch/ctl"
)

// bgpCollector exports the BGP sessions and routes to Prometheus (issue
// 22): what bgp/show shows, read at scrape time under the daemon's lock.
type bgpCollector struct {
	d                                      *Daemon
	up, state, received, accepted, sent    *prometheus.Desc
	uptime, learned, installed, configured *prometheus.Desc
}

func newBGPCollector(d *Daemon) *bgpCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("vswitch_bgp_"+name, help, labels, nil)
	}
	return &bgpCollector{d: d,
		configured: desc("running", "1 if the BGP speaker is configured and running."),
		up:         desc("session_up", "1 if the session with a neighbor is established.", "neighbor", "vrf"),
		state:      desc("session_state", "The session's state (1 for the current one: idle, connect, active, opensent, openconfirm, established, not-configured).", "neighbor", "vrf", "state"),
		uptime:     desc("session_uptime_seconds", "Time the session has been established.", "neighbor", "vrf"),
		received:   desc("prefixes_received", "Prefixes the neighbor sent.", "neighbor", "vrf"),
		accepted:   desc("prefixes_accepted", "Prefixes accepted from the neighbor.", "neighbor", "vrf"),
		sent:       desc("prefixes_sent", "Prefixes announced to the neighbor.", "neighbor", "vrf"),
		learned:    desc("routes_learned", "Routes learned from all neighbors."),
		installed:  desc("routes_installed", "Learned routes installed in the switch's FIBs."),
	}
}

// Describe implements prometheus.Collector.
func (c *bgpCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.configured, c.up, c.state, c.uptime, c.received, c.accepted, c.sent, c.learned, c.installed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *bgpCollector) Collect(ch chan<- prometheus.Metric) {
	c.d.mu.Lock()
	r, err := c.d.bgpShow(nil)
	c.d.mu.Unlock()
	v, ok := r.(ctl.BGPShowView)
	if err != nil || !ok {
		return
	}
	gauge := func(d *prometheus.Desc, x float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, x, labels...)
	}
	b := func(x bool) float64 {
		if x {
			return 1
		}
		return 0
	}
	gauge(c.configured, b(v.Running))
	gauge(c.learned, float64(v.Learned))
	gauge(c.installed, float64(v.Installed))
	for _, n := range v.Neighbors {
		vrf := n.VRF
		if vrf == "" {
			vrf = "default"
		}
		gauge(c.up, b(n.State == "established"), n.Addr, vrf)
		gauge(c.state, 1, n.Addr, vrf, n.State)
		gauge(c.uptime, float64(n.Uptime), n.Addr, vrf)
		gauge(c.received, float64(n.Received), n.Addr, vrf)
		gauge(c.accepted, float64(n.Accepted), n.Addr, vrf)
		gauge(c.sent, float64(n.Sent), n.Addr, vrf)
	}
}

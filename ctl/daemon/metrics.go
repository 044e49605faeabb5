package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
)

// metricsCollector exports the data plane's counters to Prometheus. It
// reads them the way vsctl does, at scrape time, from the published
// counters: the data path never calls the client library.
type metricsCollector struct {
	d                                                    *Daemon
	rxPkts, rxBytes, txPkts, txBytes, txDrops            *prometheus.Desc
	nodeCalls, nodeVectors, nodePkts, nodeNanos, drops   *prometheus.Desc
	workerBusy, workerIters, macEntries, macLearned, ups *prometheus.Desc
	fpRxPkts, fpRxBytes, fpTxPkts, fpTxBytes, fpMisses   *prometheus.Desc
	fpEntries, fpErrors, fpEntryPkts                     *prometheus.Desc
	nbrEntries, nbrIfEntries, nbrLimit, nbrIfLimit       *prometheus.Desc
	nbrLearned, nbrUpdated, nbrAged, nbrEvicted, nbrFull *prometheus.Desc
}

func newMetricsCollector(d *Daemon) *metricsCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("vswitch_"+name, help, labels, nil)
	}
	return &metricsCollector{d: d,
		rxPkts:      desc("port_rx_packets_total", "Packets received on a port.", "port"),
		rxBytes:     desc("port_rx_bytes_total", "Bytes received on a port.", "port"),
		txPkts:      desc("port_tx_packets_total", "Packets sent on a port.", "port"),
		txBytes:     desc("port_tx_bytes_total", "Bytes sent on a port.", "port"),
		txDrops:     desc("port_tx_drops_total", "Packets for a port that it did not send.", "port"),
		ups:         desc("port_up", "1 if the port is in a bridge and polled; 0 for any other configured port (down: not attached, see vsctl show; or in no bridge).", "port", "bridge"),
		nodeCalls:   desc("node_calls_total", "Calls of a graph node (show runtime).", "node"),
		nodeVectors: desc("node_vectors_total", "Calls of a graph node that had packets.", "node"),
		nodePkts:    desc("node_packets_total", "Packets through a graph node.", "node"),
		nodeNanos:   desc("node_seconds_total", "Time spent in a graph node.", "node"),
		drops:       desc("drops_total", "Packets dropped, by node and reason (show errors).", "node", "reason"),
		workerBusy:  desc("worker_busy_ratio", "Share of time a worker spent on iterations with packets.", "worker", "cpu"),
		workerIters: desc("worker_iterations_total", "Loop iterations of a worker.", "worker", "cpu"),
		macEntries:  desc("mac_entries", "Entries in the MAC table."),
		macLearned:  desc("mac_learned_total", "MACs learned."),
		fpRxPkts:    desc("fastpath_rx_packets_total", "Packets received on a port and switched by the kernel fast path (not in port_rx_packets_total).", "port"),
		fpRxBytes:   desc("fastpath_rx_bytes_total", "Bytes received on a port and switched by the kernel fast path.", "port"),
		fpTxPkts:    desc("fastpath_tx_packets_total", "Packets the kernel fast path switched to a port (not in port_tx_packets_total).", "port"),
		fpTxBytes:   desc("fastpath_tx_bytes_total", "Bytes the kernel fast path switched to a port.", "port"),
		fpMisses:    desc("fastpath_misses_total", "Packets received on a fast-path port and handed to the pipeline, by reason.", "port", "reason"),
		fpEntries:   desc("fastpath_entries", "MAC entries offloaded to the kernel fast path."),
		fpErrors:    desc("fastpath_errors_total", "Kernel fast-path updates that failed (the entries concerned take the pipeline)."),
		fpEntryPkts: desc("fastpath_entry_packets_total", "Packets the kernel fast path switched from (direction=from) or to (direction=to) an offloaded MAC.", "bridge", "vlan", "mac", "direction"),
		nbrEntries:  desc("neighbor_entries", "Entries in the ARP/ND table, by state (static; stale: learned from a packet the switch did not ask for, evicted first; reachable).", "state"),
		nbrIfEntries: desc("neighbor_interface_entries", "Learned ARP/ND entries of a router interface, by state (stale, reachable).",
			"interface", "state"),
		nbrLimit:   desc("neighbor_limit", "Size of the ARP/ND table."),
		nbrIfLimit: desc("neighbor_interface_limit", "Most learned ARP/ND entries one router interface holds."),
		nbrLearned: desc("neighbor_learned_total", "ARP/ND entries learned."),
		nbrUpdated: desc("neighbor_updated_total", "Learned ARP/ND entries whose MAC changed."),
		nbrAged:    desc("neighbor_aged_total", "Learned ARP/ND entries removed unconfirmed for the neighbor age."),
		nbrEvicted: desc("neighbor_evicted_total", "Learned ARP/ND entries removed to make room for a newer one (the table or the interface's share full)."),
		nbrFull:    desc("neighbor_full_total", "New ARP/ND entries refused: the table or the interface's share full with nothing to evict."),
	}
}

// Describe implements prometheus.Collector.
func (c *metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rxPkts, c.rxBytes, c.txPkts, c.txBytes, c.txDrops, c.ups, c.nodeCalls,
		c.nodeVectors, c.nodePkts, c.nodeNanos, c.drops, c.workerBusy, c.workerIters, c.macEntries, c.macLearned,
		c.fpRxPkts, c.fpRxBytes, c.fpTxPkts, c.fpTxBytes, c.fpMisses, c.fpEntries, c.fpErrors, c.fpEntryPkts,
		c.nbrEntries, c.nbrIfEntries, c.nbrLimit, c.nbrIfLimit, c.nbrLearned, c.nbrUpdated, c.nbrAged, c.nbrEvicted, c.nbrFull} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	sw := c.d.sw
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	// Every configured port has a port_up series, 0 while it is down (not
	// restored, its interface gone), labelled with its configured bridge
	// either way, so that an alert on port_up == 0 sees it.
	c.d.mu.Lock()
	configured := make(map[string]string, len(c.d.state.Ports))
	for _, spec := range c.d.state.Ports {
		configured[spec.Name] = spec.Bridge
	}
	// Losses counted outside the pipeline (kernel drops at AF_XDP and
	// AF_PACKET ports, MAC-limit refusals), as show errors lists them.
	for _, e := range c.d.outsideDrops() {
		counter(c.drops, e.Packets, e.Node, e.Reason)
	}
	c.d.mu.Unlock()
	live := sw.Ports()
	attached := make(map[string]bool, len(live))
	for _, p := range live {
		attached[p.Name] = true
	}
	for name, bridge := range configured {
		if !attached[name] {
			ch <- prometheus.MustNewConstMetric(c.ups, prometheus.GaugeValue, 0, name, bridge)
		}
	}
	for _, p := range live {
		counter(c.rxPkts, p.Counters.RxPackets, p.Name)
		counter(c.rxBytes, p.Counters.RxBytes, p.Name)
		counter(c.txPkts, p.Counters.TxPackets, p.Name)
		counter(c.txBytes, p.Counters.TxBytes, p.Name)
		counter(c.txDrops, p.Counters.TxDrops, p.Name)
		up := 0.0
		if p.Up {
			up = 1
		}
		bridge, ok := configured[p.Name]
		if !ok {
			bridge = p.Bridge
		}
		ch <- prometheus.MustNewConstMetric(c.ups, prometheus.GaugeValue, up, p.Name, bridge)
		if f := p.FastPath; f != nil && f.Counters != nil {
			counter(c.fpRxPkts, f.Counters.RxPackets, p.Name)
			counter(c.fpRxBytes, f.Counters.RxBytes, p.Name)
			counter(c.fpTxPkts, f.Counters.TxPackets, p.Name)
			counter(c.fpTxBytes, f.Counters.TxBytes, p.Name)
			for reason, n := range f.Counters.Misses {
				counter(c.fpMisses, n, p.Name, reason)
			}
		}
	}
	if fs := sw.FastPathStatus(); fs.Enabled {
		ch <- prometheus.MustNewConstMetric(c.fpEntries, prometheus.GaugeValue, float64(fs.Entries))
		counter(c.fpErrors, fs.Errors)
		if fs.Entries > 0 {
			for _, e := range sw.FastPathFDB() {
				if e.FastPath == nil {
					continue
				}
				vlan := fmt.Sprint(e.VLAN)
				counter(c.fpEntryPkts, e.FastPath.SrcHits, e.Bridge, vlan, e.MAC, "from")
				counter(c.fpEntryPkts, e.FastPath.DstHits, e.Bridge, vlan, e.MAC, "to")
			}
		}
	}
	for _, n := range sw.Runtime() {
		counter(c.nodeCalls, n.Calls, n.Name)
		counter(c.nodeVectors, n.Vectors, n.Name)
		counter(c.nodePkts, n.Packets, n.Name)
		ch <- prometheus.MustNewConstMetric(c.nodeNanos, prometheus.CounterValue, float64(n.Nanos)/1e9, n.Name)
		for _, dc := range n.Drops {
			counter(c.drops, dc.Packets, n.Name, dc.Reason)
		}
	}
	for _, w := range sw.WorkerInfos() {
		id, cpu := fmt.Sprint(w.ID), fmt.Sprint(w.CPU)
		ch <- prometheus.MustNewConstMetric(c.workerBusy, prometheus.GaugeValue, w.BusyPercent/100, id, cpu)
		counter(c.workerIters, w.Iterations, id, cpu)
	}
	st := sw.MACStats()
	ch <- prometheus.MustNewConstMetric(c.macEntries, prometheus.GaugeValue, float64(st.Entries))
	counter(c.macLearned, st.Learned)
	c.collectNeighbors(ch, counter)
}

// collectNeighbors exports the ARP/ND table's size, limits and counters
// (neigh/stats).
func (c *metricsCollector) collectNeighbors(ch chan<- prometheus.Metric, counter func(*prometheus.Desc, uint64, ...string)) {
	ns := c.d.sw.NeighborStats()
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	gauge(c.nbrEntries, ns.Static, "static")
	gauge(c.nbrEntries, ns.Stale, "stale")
	gauge(c.nbrEntries, ns.Reachable, "reachable")
	for _, i := range ns.Interfaces {
		gauge(c.nbrIfEntries, i.Stale, i.Interface, "stale")
		gauge(c.nbrIfEntries, i.Reachable, i.Interface, "reachable")
	}
	gauge(c.nbrLimit, ns.Limit)
	gauge(c.nbrIfLimit, ns.InterfaceLimit)
	counter(c.nbrLearned, ns.Learned)
	counter(c.nbrUpdated, ns.Updated)
	counter(c.nbrAged, ns.Aged)
	counter(c.nbrEvicted, ns.Evicted)
	counter(c.nbrFull, ns.Full)
}

// DefaultMetricsHost is where the metrics listener binds when the address
// names only a port.
const DefaultMetricsHost = "127.0.0.1"

// metricsConns bounds the metrics listener's open connections.
const metricsConns = 64

// ServeMetrics starts an HTTP listener serving /metrics for the daemon. An
// address without a host binds to loopback. The server stops with Close.
func (d *Daemon) ServeMetrics(addr string) (*http.Server, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("metrics address %q: %w", addr, err)
	}
	if host == "" {
		host = DefaultMetricsHost
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	// At most metricsConns connections at once (a flood of idle ones took
	// every descriptor of the process, and with them the control socket);
	// the others wait in the kernel's backlog.
	ln = netutil.LimitListener(ln, metricsConns)
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{newMetricsCollector(d), newBGPCollector(d)} {
		if err := reg.Register(c); err != nil {
			ln.Close()
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: nil}))
	// Slow or idle clients are cut off: a scrape is one quick request.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("metrics listener failed", "err", err)
		}
	}()
	d.log.Info("metrics served", "addr", ln.Addr().String())
	return srv, nil
}

package perf

import (
	"cmp"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// The paths of RunLBBench. PathBridgeDNAT is a namespace routing between
// two Linux bridges (the clients' and the backends') with the VIP
// load-balanced by nftables DNAT (NftLBRuleset) and the kernel's
// conntrack; PathTapSvc is Vecswitch routing between the same two
// networks over offload taps, with the VIP a Config.NAT.Services entry
// (Maglev, its own conntrack).
const (
	PathBridgeDNAT = "linux-bridge-nft-dnat"
	PathTapSvc     = "vecswitch-svc"
)

// LBPaths lists the paths RunLBBench knows, in the order it measures
// them.
var LBPaths = []string{PathBridgeDNAT, PathTapSvc}

// Addresses and ports of the service suite (198.18.0.0/15 is set aside
// for benchmarks). The client sits on 198.18.1.0/24 behind the router's
// LBClientGW; the three backends on 198.18.2.0/24 behind LBBackendGW.
// The VIP is on neither network and no namespace has it: it exists only
// in the nftables DNAT rule or the switch's service. LBConnPort serves
// the short-connection exchange, LBBulkPort the bulk streams (a sink).
const (
	LBVIP       = "198.18.9.9"
	LBClient    = "198.18.1.2"
	LBClientGW  = "198.18.1.1"
	LBBackendGW = "198.18.2.1"
	LBConnPort  = 5202
	LBBulkPort  = 5203
)

// LBBackends are the backends' addresses.
var LBBackends = []string{"198.18.2.2", "198.18.2.3", "198.18.2.4"}

// LBBenchConfig describes a service run: on each path, short TCP
// connections per second to the VIP (connect, a 16-byte request, a
// 16-byte reply, close; Conns loops in parallel), then bulk TCP streams
// to the VIP, each path on a topology of its own.
type LBBenchConfig struct {
	// Paths to measure (default LBPaths).
	Paths []string `json:"paths"`
	// ConnWindow is how long connections are made (default 5 s), by
	// Conns client loops in parallel (default 4); each backend runs as
	// many server threads.
	ConnWindow time.Duration `json:"conn_window_ns"`
	Conns      int           `json:"conns"`
	// Streams lists the bulk runs' parallel stream counts (default 1
	// and 4); NoBulk skips them.
	Streams []int `json:"streams"`
	NoBulk  bool  `json:"no_bulk,omitempty"`
	// Duration of each bulk window (default 10 s), after Warmup (default
	// 1 s, not counted).
	Duration time.Duration `json:"duration_ns"`
	Warmup   time.Duration `json:"warmup_ns"`
	// CPUSwitch runs the Vecswitch worker; CPUGen runs the client and
	// server threads (all pinned).
	CPUSwitch int `json:"cpu_switch"`
	CPUGen    int `json:"cpu_gen"`
	// Log, if not nil, receives progress lines.
	Log func(format string, a ...any) `json:"-"`
}

// LBBenchResult is one path.
type LBBenchResult struct {
	Path string `json:"path"`
	// Balancer says what load-balances: "nft dnat jhash + conntrack"
	// or "vecswitch service (maglev)".
	Balancer string `json:"balancer"`
	// Conn is the short-connection run; ConnSpread how many of its
	// connections each backend accepted (in LBBackends' order).
	Conn       *ConnResult `json:"conn,omitempty"`
	ConnSpread []uint64    `json:"conn_spread,omitempty"`
	// Bulk holds one run per stream count.
	Bulk []LBBulkResult `json:"bulk,omitempty"`
	// Err is why the path failed ("" if it did not).
	Err string `json:"error,omitempty"`
}

// LBBulkResult is a bulk run: Streams TCP connections to the VIP, each
// writing 128 KiB blocks as fast as it can, the backends reading and
// discarding.
type LBBulkResult struct {
	Streams int `json:"streams"`
	// Seconds is the measured window (after the warm-up), Gbps the
	// payload the backends read in it.
	Seconds float64 `json:"seconds"`
	Gbps    float64 `json:"gbps"`
	// Retransmits is the senders' total (TCP_INFO) over the whole run.
	Retransmits uint64 `json:"retransmits"`
	// HostCPU is how many CPUs were busy in the window; CPUPerGbps is
	// HostCPU / Gbps.
	HostCPU    float64 `json:"host_cpu"`
	CPUPerGbps float64 `json:"cpu_per_gbps"`
	// Spread is how many streams each backend took.
	Spread []uint64 `json:"spread"`
	Err    string   `json:"error,omitempty"`
}

func (c *LBBenchConfig) normalize(ncpu int) error {
	if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	c.Log = orNop(c.Log)
	return cmp.Or(
		normPaths(&c.Paths, LBPaths, LBPaths, "service path"),
		normConns(&c.ConnWindow, &c.Conns, 64),
		normStreams(&c.Streams, []int{1, 4}, 64, "bulk"),
		normWindow(&c.Duration, 10*time.Second, 500*time.Millisecond, "bulk window", "500ms"),
		checkCPUs(c.CPUSwitch, c.CPUGen, ncpu),
	)
}

// NftLBRuleset is the kernel path's load balancer: one table of family
// ip, in the router namespace, whose prerouting NAT chain sends new TCP
// flows to vip's ports to a backend picked by a hash of the 5-tuple (as
// Vecswitch's Maglev picks by the 5-tuple; iptables' statistic and nft's
// numgen random would do as well, since conntrack pins the flow after):
//
//	table ip <name> {
//		chain prerouting {
//			type nat hook prerouting priority dstnat; policy accept;
//			ip daddr 198.18.9.9 tcp dport { 5202, 5203 } dnat to jhash ip saddr . tcp sport . ip daddr . tcp dport mod 3 seed 0x5eed map { 0 : 198.18.2.2, 1 : 198.18.2.3, 2 : 198.18.2.4 }
//		}
//	}
//
// Conntrack does the rest: the flow's later packets and the backends'
// replies (routed back through the same namespace) are translated from
// its entry, as in kube-proxy's nftables mode.
func NftLBRuleset(name string, vip netip.Addr, ports []uint16, backends []netip.Addr) (string, error) {
	if !vip.Is4() || len(ports) == 0 || len(backends) == 0 {
		return "", fmt.Errorf("perf: nft DNAT wants an IPv4 VIP, ports and backends")
	}
	ps := make([]string, len(ports))
	for i, p := range ports {
		ps[i] = fmt.Sprint(p)
	}
	bs := make([]string, len(backends))
	for i, b := range backends {
		if !b.Is4() {
			return "", fmt.Errorf("perf: nft DNAT backend %s is not IPv4", b)
		}
		bs[i] = fmt.Sprintf("%d : %s", i, b)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "table ip %s {\n\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n", name)
	fmt.Fprintf(&s, "\t\tip daddr %s tcp dport { %s } dnat to jhash ip saddr . tcp sport . ip daddr . tcp dport mod %d seed 0x5eed map { %s }\n",
		vip, strings.Join(ps, ", "), len(backends), strings.Join(bs, ", "))
	s.WriteString("\t}\n}\n")
	return s.String(), nil
}

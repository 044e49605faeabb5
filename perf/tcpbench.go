package perf

import (
	"cmp"
	"time"
)

// PathTap is Vecswitch with each namespace's interface a tap device the
// switch owns (ports/tap with virtio-net headers, vsctl type=tap
// netns=... offload=on): TSO and checksum offload stay on inside the
// namespace and TCP crosses in frames of up to 64 KiB, read and written
// with one system call per frame. TCP only (RunTCPBench).
const PathTap = "vecswitch-tap"

// The VXLAN overlay paths of RunTCPBench: a container on the local host's
// overlay sends to a far host whose VTEP is a kernel vxlan device, over
// an underlay veth. PathBridgeVXLAN's local host is a Linux bridge with a
// kernel vxlan device (the container on a veth); PathVXLAN's is Vecswitch
// (the container on a tap with offloads, the underlay an AF_XDP port, so
// large frames are encapsulated whole and cut to the underlay's MTU once,
// after encapsulation).
const (
	PathBridgeVXLAN = "linux-bridge-vxlan"
	PathVXLAN       = "vecswitch-vxlan"
)

// TCPPaths lists the paths RunTCPBench knows, in the order it measures
// them: the Linux bridge with the namespaces' offloads as they come, then
// Vecswitch's attach modes from the best for TCP to the best for small
// packets; then the overlay, the kernel's and Vecswitch's.
var TCPPaths = []string{PathBridge, PathTap, PathAFPacket, PathFastPath, PathVecswitch, PathBridgeVXLAN, PathVXLAN}

// TCPBenchConfig describes a TCP bulk-throughput run (iperf3 between two
// namespaces, one path at a time, each with a topology of its own).
type TCPBenchConfig struct {
	// Paths to measure (default TCPPaths).
	Paths []string `json:"paths"`
	// Streams lists the iperf3 parallel stream counts to run on each path
	// (default 1 and 4).
	Streams []int `json:"streams"`
	// Duration of each iperf3 window (default 10 s); Warmup is iperf3's
	// -O, not counted (default 1 s).
	Duration time.Duration `json:"duration_ns"`
	Warmup   time.Duration `json:"warmup_ns"`
	// CPUSwitch runs the Vecswitch worker; CPUGen runs iperf3's client
	// and server (both pinned).
	CPUSwitch int `json:"cpu_switch"`
	CPUGen    int `json:"cpu_gen"`
	// Log, if not nil, receives progress lines.
	Log func(format string, a ...any) `json:"-"`
}

// TCPBenchResult is one path at one stream count.
type TCPBenchResult struct {
	Path    string `json:"path"`
	Streams int    `json:"streams"`
	// TCP is iperf3's figure (received side).
	TCP *TCPResult `json:"tcp,omitempty"`
	// HostCPU is how many CPUs were busy on average over the iperf3 run,
	// summed over the whole host (/proc/stat: user, nice, system, irq,
	// softirq; steal, the hypervisor's, not counted): the sender, the
	// receiver and whatever switched the frames. A polling Vecswitch worker counts as busy
	// the whole time, as it is.
	HostCPU float64 `json:"host_cpu"`
	// CPUPerGbps is HostCPU divided by the throughput: CPU-seconds spent
	// per gigabit moved (lower is better).
	CPUPerGbps float64 `json:"cpu_per_gbps"`
	// Forwarded is how many frames (large ones count once) Vecswitch
	// sent out of the receiver's port during the run; 0 on the bridge.
	Forwarded uint64 `json:"forwarded"`
	// Err is why the path failed ("" if it did not).
	Err string `json:"error,omitempty"`
}

func (c *TCPBenchConfig) normalize(ncpu int) error {
	if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	c.Log = orNop(c.Log)
	return cmp.Or(
		normPaths(&c.Paths, TCPPaths, TCPPaths, "TCP path"),
		normStreams(&c.Streams, []int{1, 4}, 128, "iperf3"),
		normWindow(&c.Duration, 10*time.Second, time.Second, "TCP window", "a second"),
		checkCPUs(c.CPUSwitch, c.CPUGen, ncpu),
	)
}

package perf

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/ports/afxdp"
)

// The end-to-end benchmark (RunE2E, cmd/vsbench, e2e.sh) measures real
// packets between two network namespaces on one machine. For each path it
// builds a topology of its own: namespaces vsb-ID-snd and vsb-ID-rcv, each
// with a veth whose inner end is eth0 (198.18.0.1 and .2/24) and whose host
// end (vsbIDs, vsbIDr) stays in the caller's namespace; the path connects
// the host ends. Everything is removed when the path is done, newest first,
// also on failure or cancellation.
//
// UDP: a generator sends one 64-byte frame (60 bytes without the FCS) to
// the receiver's MAC and address, UDP port 9, over and over out of the
// sender's eth0, from a thread inside the sender's namespace pinned to
// CPUGen. There are two (E2EConfig.Generator):
//
//   - afxdp (the default): an AF_XDP socket (our port driver, copy mode)
//     on eth0 keeps its tx ring full. Every frame is copied into an skb
//     that the veth passes to its host end, all on CPUGen (with the Linux
//     bridge's bridging too): on a 2-vCPU VM that caps it at some 0.2 to
//     0.45 Mpps, which hides differences between the paths.
//   - xdp-live: the kernel's BPF_PROG_RUN in live-frame mode
//     (BPF_F_TEST_XDP_LIVE_FRAMES, as xdp-trafficgen) runs a program that
//     returns XDP_TX on eth0, 4096 frames per system call at full rate
//     (half a millisecond's worth when paced); the kernel sends each out
//     of eth0 with ndo_xdp_xmit, and it reaches the host end as an
//     xdp_frame, with no skb made on the sender's side. A veth takes such
//     frames only while the receiving end runs NAPI, so with this
//     generator GRO is switched on on both host ends (on every path). The
//     host end's NAPI runs on the CPU that sent, so what the path does in
//     softirq there (the Linux bridge's bridging, XDP on the host end)
//     shares CPUGen with the generator. The program is kept attached to a
//     spare veth in the sender's namespace meanwhile (see
//     e2e_xdplive_linux.go: that makes a run cost microseconds, not tens
//     of milliseconds). It needs Linux 5.18 or later; where the kernel
//     refuses, the path is reported skipped.
//
// On the receiver's eth0 an XDP program (cilium/ebpf asm, attached by a
// BPF link in driver mode) counts those frames in a per-CPU array and
// drops them; anything else it counts apart and passes. The rate is the
// sink's count over the window. CPU use of CPUSwitch and CPUGen over the
// window comes from /proc/stat (in ticks of 10 ms on common kernels, so a
// short window gives coarse figures). TCP: iperf3, server in the
// receiver's namespace, client in the sender's, both pinned to CPUGen,
// with no sink attached.

// End-to-end paths: what connects the sender's and the receiver's veth host
// ends in an E2E run.
const (
	// PathBridge is a Linux bridge (the reference).
	PathBridge = "linux-bridge"
	// PathBridgeRPS is the Linux bridge with the sender's host end steered
	// (RPS) to the forwarder's CPU, so bridging runs on a core of its own
	// as the AF_XDP forwarders do, not on the sender's.
	PathBridgeRPS = "linux-bridge-rps"
	// PathVecswitch is an in-process Vecswitch with AF_XDP ports, one
	// worker pinned to one CPU.
	PathVecswitch = "vecswitch"
	// PathVecswitchShared is PathVecswitch with shared (memfd) worker
	// pools, as vswitchd runs by default so that a takeover can move
	// AF_XDP ports: the price of a UMEM that may not get huge pages.
	PathVecswitchShared = "vecswitch-shared-pools"
	// PathAsavie is a cross-connect on github.com/asavie/xdp: two sockets,
	// frames copied from one UMEM to the other.
	PathAsavie = "asavie-xc"
	// PathXSK is a cross-connect on our AF_XDP layer without any switching:
	// two sockets sharing one UMEM, frames passed rx to tx by address. It
	// shows what the kernel's AF_XDP copy path on veth allows.
	PathXSK = "xsk-xc"
	// PathFastPath is Vecswitch with its XDP fast path: the same switch
	// and ports as PathVecswitch (its worker in adaptive poll mode), known
	// unicast switched in the kernel by the program on each host end.
	PathFastPath = "vecswitch-fastpath"
	// PathAFPacket is Vecswitch with the host ends read and written by
	// AF_PACKET with virtio-net headers (ports/afpacket, vsctl io=afpacket):
	// the namespaces keep TSO and checksum offload, so TCP crosses in
	// frames of up to 64 KiB; one system call per frame.
	PathAFPacket = "vecswitch-afpacket"
)

// UDP generators (E2EConfig.Generator).
const (
	// GenAFXDP sends from an AF_XDP socket in copy mode on the sender's
	// eth0.
	GenAFXDP = "afxdp"
	// GenXDPLive sends with BPF_PROG_RUN in live-frame mode: an XDP_TX
	// program run on the sender's eth0.
	GenXDPLive = "xdp-live"
)

// E2EGenerators lists the UDP generators.
var E2EGenerators = []string{GenAFXDP, GenXDPLive}

// E2EPaths lists every path in the order an E2E run measures them.
var E2EPaths = []string{PathBridge, PathBridgeRPS, PathVecswitch, PathVecswitchShared, PathFastPath, PathAFPacket, PathAsavie, PathXSK}

// ErrE2ENotSupported is returned by RunE2E where there are no network
// namespaces, veth or AF_XDP (anything but Linux).
var ErrE2ENotSupported = errors.New("perf: the end-to-end benchmark needs Linux")

// ErrAsavieBind is wrapped when github.com/asavie/xdp cannot open its
// sockets on this kernel.
var ErrAsavieBind = errors.New("asavie/xdp cannot bind")

// E2EConfig describes an end-to-end run.
type E2EConfig struct {
	// Paths to measure (default E2EPaths).
	Paths []string `json:"paths"`
	// Duration of each measurement window (default 5 s); Warmup runs
	// before the UDP window (default 1 s).
	Duration time.Duration `json:"duration_ns"`
	Warmup   time.Duration `json:"warmup_ns"`
	// CPUSwitch runs the forwarder (the Vecswitch worker, the
	// cross-connects; the bridging of linux-bridge-rps); CPUGen runs the
	// generator and iperf3.
	CPUSwitch int `json:"cpu_switch"`
	CPUGen    int `json:"cpu_gen"`
	// Generator is the UDP generator, GenAFXDP (default) or GenXDPLive.
	Generator string `json:"generator"`
	// Rate is the generator's rate in packets per second; 0 sends as fast
	// as the kernel takes frames.
	Rate int `json:"rate"`
	// UDP and TCP select the measurements.
	UDP bool `json:"udp"`
	TCP bool `json:"tcp"`
	// Log, if not nil, receives progress lines.
	Log func(format string, a ...any) `json:"-"`
}

func (c *E2EConfig) normalize(ncpu int) error {
	if err := normPaths(&c.Paths, E2EPaths, E2EPaths, "path"); err != nil {
		return err
	}
	if c.Duration == 0 {
		c.Duration = 5 * time.Second
	}
	if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	if c.Duration < 100*time.Millisecond || c.Warmup < 0 {
		return fmt.Errorf("perf: duration %v, warm-up %v: want at least 100ms and no negative warm-up", c.Duration, c.Warmup)
	}
	for _, cpu := range []int{c.CPUSwitch, c.CPUGen} {
		if cpu < 0 || cpu >= ncpu {
			return fmt.Errorf("perf: CPU %d: this machine has CPUs 0 to %d", cpu, ncpu-1)
		}
	}
	if c.CPUSwitch == c.CPUGen && ncpu > 1 {
		return fmt.Errorf("perf: switch and generator both on CPU %d", c.CPUGen)
	}
	if c.Generator == "" {
		c.Generator = GenAFXDP
	}
	if !slices.Contains(E2EGenerators, c.Generator) {
		return fmt.Errorf("perf: unknown generator %q (want %v)", c.Generator, E2EGenerators)
	}
	if c.Rate < 0 {
		return fmt.Errorf("perf: negative rate %d", c.Rate)
	}
	c.Log = orNop(c.Log)
	return nil
}

// E2EResult is one path's figures.
type E2EResult struct {
	Path string `json:"path"`
	// UDP is the 64-byte UDP measurement (nil if not run).
	UDP *UDPResult `json:"udp,omitempty"`
	// TCP is the iperf3 measurement (Linux bridge and the Vecswitch paths).
	TCP *TCPResult `json:"tcp,omitempty"`
	// TCPCsumOff is, for the Linux bridge, TCP with TX checksum offload
	// off on the namespace ends, as Vecswitch needs them (so no TSO).
	TCPCsumOff *TCPResult `json:"tcp_tx_csum_off,omitempty"`
	// Switch holds Vecswitch's counters for the run.
	Switch *SwitchReport `json:"switch,omitempty"`
	// Sockets holds AF_XDP socket counters of the cross-connects.
	Sockets []SocketReport `json:"sockets,omitempty"`
	// Err is why the path could not be measured ("" if it was).
	Err string `json:"error,omitempty"`
	// Skipped is true when Err says the path cannot run here (asavie/xdp
	// failing to bind, the kernel refusing the xdp-live generator) rather
	// than that it failed.
	Skipped bool `json:"skipped,omitempty"`
}

// UDPResult is a UDP measurement: frames counted by the generator (afxdp:
// put on its AF_XDP tx ring and taken by the kernel; xdp-live: run by a
// program run that succeeded) and by the sink's XDP program, in the window
// and over the whole run.
type UDPResult struct {
	// Generator is the generator that ran (GenAFXDP or GenXDPLive).
	Generator string  `json:"generator"`
	Seconds   float64 `json:"seconds"`
	Generated uint64  `json:"generated"`
	Received  uint64  `json:"received"`
	GenPPS    float64 `json:"gen_pps"`
	RxPPS     float64 `json:"rx_pps"`
	// TotalGenerated and TotalReceived cover warm-up, window and drain.
	TotalGenerated uint64 `json:"total_generated"`
	TotalReceived  uint64 `json:"total_received"`
	// Other counts frames the sink saw that were not the generator's (ARP,
	// IPv6 neighbour discovery); they were passed to the stack.
	Other uint64 `json:"other"`
	// Links are the kernel's counters of the path's devices over the window.
	Links []LinkDelta `json:"links,omitempty"`
	// SwitchCPUBusy and GenCPUBusy are the shares (0 to 1) of the window
	// that CPUSwitch and CPUGen were busy (user, nice, system, irq,
	// softirq and steal: all but idle and iowait), from /proc/stat; the
	// SoftIRQ and Steal fields are the parts of that in softirq (packet
	// processing, bridging) and stolen by the hypervisor. Everything that
	// ran there counts, not only the benchmark. With one CPU both name the
	// same CPU.
	SwitchCPUBusy    float64 `json:"switch_cpu_busy"`
	SwitchCPUSoftIRQ float64 `json:"switch_cpu_softirq"`
	SwitchCPUSteal   float64 `json:"switch_cpu_steal"`
	GenCPUBusy       float64 `json:"gen_cpu_busy"`
	GenCPUSoftIRQ    float64 `json:"gen_cpu_softirq"`
	GenCPUSteal      float64 `json:"gen_cpu_steal"`
}

// Lost is the share of the frames generated over the whole run that did
// not reach the sink.
func (u *UDPResult) Lost() float64 {
	if u.TotalGenerated == 0 || u.TotalReceived >= u.TotalGenerated {
		return 0
	}
	return float64(u.TotalGenerated-u.TotalReceived) / float64(u.TotalGenerated)
}

// LinkDelta is how one device's kernel counters moved.
type LinkDelta struct {
	Dev       string `json:"dev"`
	RxPackets uint64 `json:"rx_packets"`
	TxPackets uint64 `json:"tx_packets"`
	RxDropped uint64 `json:"rx_dropped"`
	TxDropped uint64 `json:"tx_dropped"`
}

// TCPResult is one iperf3 run.
type TCPResult struct {
	Seconds     float64 `json:"seconds"`
	Gbps        float64 `json:"gbps"`
	Retransmits int     `json:"retransmits"`
}

// SwitchReport is Vecswitch's view of a run: node counters over the UDP
// window and per-port counters over the whole run.
type SwitchReport struct {
	Runtime []pipeline.NodeCounters `json:"runtime"`
	Ports   []SwitchPort            `json:"ports"`
}

// SwitchPort is one port's counters.
type SwitchPort struct {
	Name     string                `json:"name"`
	Counters pipeline.PortCounters `json:"counters"`
	AFXDP    afxdp.Stats           `json:"afxdp"`
	// AFPacket holds the AF_PACKET port's counters (PathAFPacket).
	AFPacket *afpacket.Stats `json:"afpacket,omitempty"`
	// FastPath holds the kernel fast path's counters (PathFastPath).
	FastPath *ports.FastPathCounters `json:"fast_path,omitempty"`
}

// SocketReport is one AF_XDP socket's counters in a cross-connect.
type SocketReport struct {
	Name      string `json:"name"`
	Forwarded uint64 `json:"forwarded"`
	// Dropped counts frames the forwarder could not put on the tx ring.
	Dropped        uint64 `json:"dropped"`
	RxDropped      uint64 `json:"rx_dropped"`
	RxRingFull     uint64 `json:"rx_ring_full"`
	RxFillEmpty    uint64 `json:"rx_fill_ring_empty"`
	TxInvalidDescs uint64 `json:"tx_invalid_descs"`
}

// diffCounters subtracts before from after, node by node (MaxNanos is
// kept: it is a maximum, not a sum).
func diffCounters(after, before []pipeline.NodeCounters) []pipeline.NodeCounters {
	out := make([]pipeline.NodeCounters, len(after))
	for i, a := range after {
		out[i] = a
		if i >= len(before) || before[i].Name != a.Name {
			continue
		}
		b := before[i]
		out[i].Calls -= b.Calls
		out[i].Vectors -= b.Vectors
		out[i].Packets -= b.Packets
		out[i].Nanos -= b.Nanos
		out[i].Drops = nil
		for _, d := range a.Drops {
			for _, e := range b.Drops {
				if e.Reason == d.Reason {
					d.Packets -= e.Packets
				}
			}
			if d.Packets > 0 {
				out[i].Drops = append(out[i].Drops, d)
			}
		}
	}
	return out
}

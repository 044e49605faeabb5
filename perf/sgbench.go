package perf

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vecswitch/vecswitch/vswitch"
)

// The filtered paths of RunSGBench. PathBridgeNft is the Linux bridge
// with an nftables ruleset equivalent to the security groups (NftRuleset)
// and the kernel's conntrack; PathTapSG and PathAFPacketSG are
// PathTap and PathAFPacket with the groups (SGBenchGroups) on both ports.
const (
	PathBridgeNft  = "linux-bridge-nft"
	PathTapSG      = "vecswitch-tap-sg"
	PathAFPacketSG = "vecswitch-afpacket-sg"
)

// SGPaths lists the paths RunSGBench knows, in the order it measures
// them. Each filtered path is compared with its unfiltered twin and each
// Vecswitch path with its Linux peer (SGPeer).
var SGPaths = []string{PathBridge, PathBridgeNft, PathTap, PathTapSG, PathAFPacket, PathAFPacketSG}

// DefaultSGPaths are the paths measured unless told otherwise: the
// bridge and Vecswitch's offload taps (its fastest TCP attach mode), each
// without and with 1,000 rules.
var DefaultSGPaths = []string{PathBridge, PathBridgeNft, PathTap, PathTapSG}

// Ports of the security-group suite, all on the receiver: the rules allow
// TCP to SGAllowPorts (iperf3's iperfPort and the connection server's
// SGConnPort) and nothing else of the receiver's; a server also listens
// on SGDeniedPort, so a connection there fails only because of the rules.
const (
	SGAllowPorts = "5201-5210"
	SGConnPort   = 5202
	SGDeniedPort = 5299
)

// SGPeer is the Linux path a path is compared with: the bridge with the
// ruleset for the filtered paths, the plain bridge for the others.
func SGPeer(path string) string {
	if SGFiltered(path) {
		return PathBridgeNft
	}
	return PathBridge
}

// SGFiltered reports whether path filters with rules (ours or nft's).
func SGFiltered(path string) bool {
	return path == PathBridgeNft || path == PathTapSG || path == PathAFPacketSG
}

// SGBenchConfig describes a security-group run: on each path, short TCP
// connections per second (connect, a 16-byte request, a 16-byte reply,
// close; Conns loops in parallel), then iperf3, each path on a topology
// of its own.
type SGBenchConfig struct {
	// Paths to measure (default DefaultSGPaths).
	Paths []string `json:"paths"`
	// Rules and Groups shape the rule set (default 1,000 rules in 100
	// groups; see SGBenchGroups).
	Rules  int `json:"rules"`
	Groups int `json:"groups"`
	// ConnWindow is how long connections are made (default 5 s), by
	// Conns client loops in parallel (default 4) against as many server
	// threads.
	ConnWindow time.Duration `json:"conn_window_ns"`
	Conns      int           `json:"conns"`
	// Streams lists iperf3's parallel stream counts (default 1); an
	// empty list after normalizing is impossible, NoIperf skips iperf3.
	Streams []int `json:"streams"`
	NoIperf bool  `json:"no_iperf,omitempty"`
	// Duration of each iperf3 window (default 10 s); Warmup is iperf3's
	// -O, not counted (default 1 s).
	Duration time.Duration `json:"duration_ns"`
	Warmup   time.Duration `json:"warmup_ns"`
	// CPUSwitch runs the Vecswitch worker; CPUGen runs iperf3 and the
	// connection client and server threads (all pinned).
	CPUSwitch int `json:"cpu_switch"`
	CPUGen    int `json:"cpu_gen"`
	// Log, if not nil, receives progress lines.
	Log func(format string, a ...any) `json:"-"`
}

// SGBenchResult is one path.
type SGBenchResult struct {
	Path string `json:"path"`
	// Rules is how many rules filtered the path (0: none).
	Rules int `json:"rules"`
	// Filter says what filtered: "vecswitch sg-policy", "nft bridge
	// (nf_conntrack_bridge)" or "nft inet via br_netfilter"; "" for none.
	Filter string `json:"filter,omitempty"`
	// DeniedPortOpen: a connection to SGDeniedPort (a server listens
	// there) succeeded. Expected only on the unfiltered paths.
	DeniedPortOpen bool `json:"denied_port_open"`
	// Conn is the short-connection run.
	Conn *ConnResult `json:"conn,omitempty"`
	// TCP holds iperf3's runs, one per stream count.
	TCP []TCPBenchResult `json:"tcp,omitempty"`
	// Err is why the path failed ("" if it did not).
	Err string `json:"error,omitempty"`
}

// ConnResult is a short-connection run.
type ConnResult struct {
	Seconds float64 `json:"seconds"`
	// OK is how many connections completed (reply read); Failed how many
	// did not (refused, timed out, short reply).
	OK     uint64 `json:"ok"`
	Failed uint64 `json:"failed"`
	// PerSec is OK / Seconds.
	PerSec float64 `json:"per_sec"`
	// HostCPU is how many CPUs were busy on average (as TCPBenchResult's);
	// CPUPerConn is HostCPU / PerSec in microseconds: CPU time per
	// connection, both ends and the switch.
	HostCPU    float64 `json:"host_cpu"`
	CPUPerConn float64 `json:"cpu_us_per_conn"`
	// FirstErr is the first failure's error, if any.
	FirstErr string `json:"first_error,omitempty"`
}

func (c *SGBenchConfig) normalize(ncpu int) error {
	if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	c.Log = orNop(c.Log)
	return cmp.Or(
		normPaths(&c.Paths, DefaultSGPaths, SGPaths, "security-group path"),
		c.normRules(),
		normConns(&c.ConnWindow, &c.Conns, 256),
		normStreams(&c.Streams, []int{1}, 128, "iperf3"),
		normWindow(&c.Duration, 10*time.Second, time.Second, "TCP window", "a second"),
		checkCPUs(c.CPUSwitch, c.CPUGen, ncpu),
	)
}

// normRules defaults the rule set to 1,000 rules in 100 groups and checks
// it.
func (c *SGBenchConfig) normRules() error {
	if c.Rules == 0 {
		c.Rules = 1000
	}
	if c.Groups == 0 {
		c.Groups = 100
	}
	if c.Rules < 2 || c.Rules > vswitch.MaxSGRules || c.Groups < 1 || c.Groups > c.Rules {
		return fmt.Errorf("perf: %d rules in %d groups (want 2 to %d rules, 1 group to one per rule)", c.Rules, c.Groups, vswitch.MaxSGRules)
	}
	return nil
}

// SGBenchGroups is the rule set of the suite: rules allow rules spread
// over groups groups in order (the first groups get one more rule when
// they do not divide evenly), every group bound to both ports. All but
// the last two rules match nothing of the test's traffic: ingress and
// egress in turn, TCP and UDP, destination ports 1000-4949 in ranges of
// 50, four in five with a remote 10.x.y.0/24 and one in five from or to
// anywhere (so no classifier can skip them on the address alone). The
// last two, in the last group, allow TCP to SGAllowPorts, egress to and
// ingress from 198.18.0.0/24, the namespaces' subnet: for a linear
// ruleset they are the worst case, last.
func SGBenchGroups(rules, groups int, ports []string) []vswitch.SecurityGroup {
	all := make([]vswitch.SGRule, 0, rules)
	for k := range rules - 2 {
		r := vswitch.SGRule{Direction: "ingress", Proto: "tcp", Action: "allow"}
		if k%2 == 1 {
			r.Direction = "egress"
		}
		if k%4 >= 2 {
			r.Proto = "udp"
		}
		lo := 1000 + (k%40)*100
		r.Ports = fmt.Sprintf("%d-%d", lo, lo+49)
		if k%5 != 0 {
			r.Remote = fmt.Sprintf("10.%d.%d.0/24", k/250, k%250)
		}
		all = append(all, r)
	}
	all = append(all,
		vswitch.SGRule{Direction: "egress", Proto: "tcp", Ports: SGAllowPorts, Remote: "198.18.0.0/24", Action: "allow"},
		vswitch.SGRule{Direction: "ingress", Proto: "tcp", Ports: SGAllowPorts, Remote: "198.18.0.0/24", Action: "allow"})
	out := make([]vswitch.SecurityGroup, groups)
	per, extra := rules/groups, rules%groups
	for g := range out {
		n := per
		if g < extra {
			n++
		}
		out[g] = vswitch.SecurityGroup{Name: fmt.Sprintf("sg%03d", g), Ports: slices.Clone(ports)}
		for j := range n {
			r := all[0]
			all = all[1:]
			r.Name = fmt.Sprintf("r%03d", j)
			out[g].Rules = append(out[g].Rules, r)
		}
	}
	return out
}

// ErrNftUnsupported: a rule NftRuleset cannot translate.
var ErrNftUnsupported = errors.New("perf: rule not translatable to nftables")

// NftRuleset translates groups whose ports are all the bridge's ports
// into one nftables table of family "inet" (bridged IPv4 reaches it
// through br_netfilter) or "bridge" (needs nf_conntrack_bridge), with the
// same semantics as Vecswitch's sg-policy:
//
//	table <family> <name> {
//		chain forward {
//			type filter hook forward priority filter; policy drop;
//			[bridge only: meta protocol != { ip, ip6 } accept]
//			ct state established,related accept
//			ct state invalid drop
//			icmpv6 type { nd-... } accept
//			goto sg-egress
//		}
//		chain sg-egress {	# every egress rule, in order
//			ip daddr 10.0.1.0/24 tcp dport 1100-1149 goto sg-ingress
//			...
//		}
//		chain sg-ingress {	# every ingress rule, in order
//			ip saddr 10.0.0.0/24 tcp dport 1000-1049 accept
//			...
//		}
//	}
//
// A new flow must match an egress rule (of the sender's groups) and then
// an ingress rule (of the receiver's); falling off either chain ends in
// the base chain's drop; replies and the rest of a flow pass as
// established. Only allow rules with a protocol, ports and an IPv4 remote
// CIDR (each optional) translate: deny rules, priorities and remote
// groups are ErrNftUnsupported.
func NftRuleset(family, name string, groups []vswitch.SecurityGroup) (string, error) {
	if family != "inet" && family != "bridge" {
		return "", fmt.Errorf("perf: nftables family %q (want inet or bridge)", family)
	}
	var eg, in strings.Builder
	for _, g := range groups {
		for _, r := range g.Rules {
			var b strings.Builder
			if r.Action != "allow" || r.Priority != 0 || r.RemoteGroup != "" {
				return "", fmt.Errorf("%w: group %s rule %s", ErrNftUnsupported, g.Name, r.Name)
			}
			if r.Remote != "" {
				p, err := netip.ParsePrefix(r.Remote)
				if err != nil || !p.Addr().Is4() {
					return "", fmt.Errorf("%w: group %s rule %s: remote %q", ErrNftUnsupported, g.Name, r.Name, r.Remote)
				}
				dir := "saddr"
				if r.Direction == "egress" {
					dir = "daddr"
				}
				fmt.Fprintf(&b, "ip %s %s ", dir, p.Masked())
			}
			proto, err := vswitch.ParseSGProto(r.Proto)
			if err != nil {
				return "", fmt.Errorf("perf: group %s rule %s: %w", g.Name, r.Name, err)
			}
			if r.Ports != "" {
				pr, err := vswitch.ParseSGPorts(r.Ports)
				if err != nil {
					return "", fmt.Errorf("perf: group %s rule %s: %w", g.Name, r.Name, err)
				}
				switch strings.ToLower(r.Proto) {
				case "tcp", "udp":
				default:
					return "", fmt.Errorf("%w: group %s rule %s: ports with protocol %q", ErrNftUnsupported, g.Name, r.Name, r.Proto)
				}
				ports := fmt.Sprint(pr.Lo)
				if pr.Hi != pr.Lo {
					ports = fmt.Sprintf("%d-%d", pr.Lo, pr.Hi)
				}
				fmt.Fprintf(&b, "%s dport %s ", strings.ToLower(r.Proto), ports)
			} else if proto != 0 {
				fmt.Fprintf(&b, "meta l4proto %d ", proto)
			}
			switch r.Direction {
			case "egress":
				fmt.Fprintf(&eg, "\t\t%sgoto sg-ingress\n", b.String())
			case "ingress":
				fmt.Fprintf(&in, "\t\t%saccept\n", b.String())
			default:
				return "", fmt.Errorf("%w: group %s rule %s: direction %q", ErrNftUnsupported, g.Name, r.Name, r.Direction)
			}
		}
	}
	var s strings.Builder
	fmt.Fprintf(&s, "table %s %s {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n", family, name)
	if family == "bridge" {
		s.WriteString("\t\tmeta protocol != { ip, ip6 } accept\n")
	}
	s.WriteString("\t\tct state established,related accept\n\t\tct state invalid drop\n" +
		"\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept\n" +
		"\t\tgoto sg-egress\n\t}\n")
	fmt.Fprintf(&s, "\tchain sg-egress {\n%s\t}\n\tchain sg-ingress {\n%s\t}\n}\n", eg.String(), in.String())
	return s.String(), nil
}

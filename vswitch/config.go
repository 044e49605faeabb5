package vswitch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Config is the whole desired L2 configuration of a switch. It is plain data
// (JSON-ready) so the control plane can store it and replay it. Ports are
// named here; the port drivers are attached separately (Switch.AddPort). A
// configured port without a driver is down; a driver without configuration
// is not polled.
type Config struct {
	Bridges []Bridge `json:"bridges"`
	// The L3 configuration (config_l3.go).
	VRFs       []VRF       `json:"vrfs,omitempty"`
	Interfaces []Interface `json:"interfaces,omitempty"`
	Routes     []Route     `json:"routes,omitempty"`
	Neighbors  []Neighbor  `json:"neighbors,omitempty"`
	// VTEP is the VXLAN tunnel endpoint (config_vxlan.go).
	VTEP *VTEP `json:"vtep,omitempty"`
	// SecurityGroups filter the IP traffic of the ports in them,
	// statefully (config_sg.go, sg.go).
	SecurityGroups []SecurityGroup `json:"security_groups,omitempty"`
	// NAT translates routed traffic: masquerade and port maps
	// (config_nat.go, nat.go).
	NAT *NAT `json:"nat,omitempty"`
	// DNS: interfaces whose networks the switch answers DNS for
	// (config_dns.go, dnspunt.go).
	DNS *DNS `json:"dns,omitempty"`
}

// Bridge is one bridge domain. Bridges never exchange frames.
type Bridge struct {
	Name string `json:"name"`
	// MACAgeSeconds is how long a learned MAC lives without traffic
	// (default 300).
	MACAgeSeconds int `json:"mac_age_seconds,omitempty"`
	// MACLimit is the most MACs the bridge learns, over all its VLANs
	// (default 1,048,576). Sources beyond it are not learned (frames to them
	// are flooded) and counted. Static MACs count toward it but are always
	// installed, so statics beyond the limit leave no room for learning; a
	// source that is still in the table (its port was flushed but the entry
	// not yet reclaimed) is relearned in place without a new slot.
	MACLimit   int         `json:"mac_limit,omitempty"`
	Ports      []Port      `json:"ports"`
	StaticMACs []StaticMAC `json:"static_macs,omitempty"`
	// VXLAN maps VLANs of the bridge to VXLAN networks (config_vxlan.go).
	VXLAN []VNI `json:"vxlan,omitempty"`
	// FastPath false keeps the bridge's ports out of the kernel fast path
	// (Options.FastPath); nil or true: in it where the port can be.
	FastPath *bool `json:"fast_path,omitempty"`
}

// PortMode is a port's VLAN mode.
type PortMode string

// Port modes.
const (
	// Access ports carry one VLAN untagged (VLAN 0, the default, is the
	// bridge's untagged domain). Frames tagged with a non-zero VLAN are
	// dropped; priority-tagged frames (VLAN 0) are accepted.
	Access PortMode = "access"
	// Trunk ports carry tagged frames of the listed VLANs, plus the native
	// VLAN untagged.
	Trunk PortMode = "trunk"
)

// Port is a port's membership in a bridge.
type Port struct {
	Name string   `json:"name"`
	Mode PortMode `json:"mode,omitempty"`
	// VLAN is the access VLAN, or a trunk's native VLAN (default 0: untagged
	// frames on the trunk belong to the bridge's untagged domain).
	VLAN uint16 `json:"vlan,omitempty"`
	// Trunks lists the tagged VLANs a trunk carries (stored as ranges,
	// "1-4094": VLANSet).
	Trunks VLANSet `json:"trunks,omitempty"`
	// FastPath false keeps the port out of the kernel fast path.
	FastPath *bool `json:"fast_path,omitempty"`
	// MACs are the MACs of the station behind the port (the container
	// interface the control plane created: it knows them), at most
	// MaxPortMACs. Unless PortSecurity is false they are bound to the
	// port (port security, as OVN/Neutron and Calico do): frames from
	// the port with any other source MAC are dropped (l2-input
	// src-mac-not-allowed), and each MAC is a static entry on the port in
	// every VLAN the port carries, never moved by learning: a frame from
	// another port with that source is dropped (l2-fwd
	// src-mac-bound-elsewhere).
	MACs []string `json:"macs,omitempty"`
	// PortSecurity false keeps MACs unbound (the port learns as any
	// other); nil (the default) or true binds them. True without MACs is
	// an error.
	PortSecurity *bool `json:"port_security,omitempty"`
	// IPs are the station's addresses, as the control plane knows them
	// (an address, or an address with its subnet's prefix length:
	// "10.0.0.5/24" is 10.0.0.5). With port security on, IPs and
	// AllowedIPs are the sources the port may send from, both IPv4 and
	// IPv6 (the IP source guard, portsec_ip.go): other IP sources, ARP
	// sender addresses and neighbor advertisement targets are dropped
	// (l2-input src-ip-not-allowed, arp-not-allowed, nd-not-allowed);
	// 0.0.0.0, :: and IPv6 link-local addresses are always allowed. A
	// port with neither has no IP source guard (MAC port security only).
	IPs []string `json:"ips,omitempty"`
	// AllowedIPs are more addresses or prefixes (without host bits) the
	// port may send from, as OpenStack's allowed address pairs: a
	// virtual IP the container takes over, a network it routes. IPs and
	// AllowedIPs hold at most MaxPortIPs entries together.
	AllowedIPs []string `json:"allowed_ips,omitempty"`
	// RAGuard false lets a port with port security send IPv6 router
	// advertisements and redirects; nil (the default) or true drops them
	// (l2-input ra-guard): a container is not the network's router.
	RAGuard *bool `json:"ra_guard,omitempty"`
	// MACLimit is the most MACs the port learns (0: DefaultPortMACLimit),
	// so that one port flooding random sources cannot fill its bridge's
	// table. Sources beyond it are not learned (frames to them are
	// flooded) and counted (PortInfo.MACLimitDrops). Bound and static MACs
	// do not count toward it.
	MACLimit int `json:"mac_limit,omitempty"`
}

// MaxPortMACs is the most MACs a port binds.
const MaxPortMACs = 16

// boundMACs returns the MACs port security binds to a normalized port
// (nil when it is off).
func (p *Port) boundMACs() []uint64 {
	if p.PortSecurity != nil && !*p.PortSecurity {
		return nil
	}
	var out []uint64
	for _, s := range p.MACs {
		if m, err := parseMAC(s); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// StaticMAC pins a MAC in one VLAN of a bridge to a port. Static entries
// never age and are not moved by learning.
type StaticMAC struct {
	MAC  string `json:"mac"`
	VLAN uint16 `json:"vlan,omitempty"`
	Port string `json:"port,omitempty"`
	// VTEP, instead of Port, puts the MAC behind a remote VTEP of the
	// VLAN's VNI.
	VTEP string `json:"vtep,omitempty"`
}

// Limits and defaults.
const (
	DefaultMACAge   = 300
	DefaultMACLimit = 1 << 20
	// DefaultPortMACLimit is a port's MAC limit when it sets none: a
	// container has one MAC, a VM or a nested bridge a few hundred.
	DefaultPortMACLimit = 4096
	MaxMACLimit         = 1 << 24
	MaxVLAN             = 4094
	maxNameLen          = 64
	maxDomains          = 0xFFFF
)

// ErrInvalidConfig is wrapped by every validation error.
var ErrInvalidConfig = errors.New("invalid configuration")

// ConfigError says where in a Config a problem is.
type ConfigError struct {
	Path string // for example bridges[br0].ports[eth1].vlan
	Msg  string
}

func (e *ConfigError) Error() string { return e.Path + ": " + e.Msg }

// Describe is the error for a user who never saw the Config, only names
// (vsctl's): the objects on the path by kind and name, the field as in
// the Config, then the message. bridges[br0].ports[p1].vlan: 5000 out of
// range is `bridge "br0", port "p1", vlan: 5000 out of range`; an object
// whose name was bad (bridges[1].name) is `bridge name: ...`, and list
// positions are left out (the message names the item).
func (e *ConfigError) Describe() string {
	var parts []string
	rest := e.Path
	for rest != "" {
		seg := rest
		rest = ""
		key, hasKey := "", false
		if i := strings.IndexAny(seg, ".["); i >= 0 && seg[i] == '[' {
			// A key runs to the "]" that ends the path or precedes a
			// ".": names may hold dots and brackets.
			name, after := seg[:i], seg[i+1:]
			j := strings.Index(after, "].")
			if j < 0 {
				j = strings.LastIndex(after, "]")
			} else {
				rest = after[j+2:]
			}
			if j < 0 {
				j = len(after)
			}
			seg, key, hasKey = name, after[:j], true
		} else if i >= 0 {
			seg, rest = seg[:i], seg[i+1:]
		}
		n, known := configNouns[seg]
		switch {
		case !hasKey || !known:
			parts = append(parts, seg)
		case !isIndex(key):
			parts = append(parts, fmt.Sprintf("%s %q", n.noun, key))
		case n.named && rest == "name":
			parts = append(parts, n.noun+" name") // the name itself was bad
			rest = ""
		default:
			parts = append(parts, n.noun)
		}
	}
	return strings.Join(parts, ", ") + ": " + e.Msg
}

// configNouns names the Config's lists by the kind of their items; named
// for the lists whose items have names (and are found by name on a path).
var configNouns = map[string]struct {
	noun  string
	named bool
}{
	"bridges": {"bridge", true}, "ports": {"port", true}, "interfaces": {"interface", true}, "vrfs": {"VRF", true},
	"static_macs": {"static MAC", false}, "macs": {"MAC", false}, "addrs": {"address", false},
	"neighbors": {"neighbor", false}, "routes": {"route", false}, "via": {"next hop", false},
	"vxlan": {"VXLAN", false}, "remotes": {"remote VTEP", false},
	"ips": {"IP", false}, "allowed_ips": {"allowed IP", false},
}

func isIndex(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// Unwrap makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

func cfgErr(path, format string, a ...any) error {
	return &ConfigError{Path: path, Msg: fmt.Sprintf(format, a...)}
}

// Validate checks a configuration without applying it and returns the first
// problem found as a *ConfigError.
func (c *Config) Validate() error {
	_, _, err := c.normalize()
	return err
}

// normalize validates and returns a copy with defaults filled in, and the
// parsed L3 configuration.
func (c *Config) normalize() (Config, *l3Config, error) {
	out, err := c.normalizeL2()
	if err != nil {
		return out, nil, err
	}
	l3, err := c.normalizeL3(&out)
	if err != nil {
		return out, l3, err
	}
	if out.SecurityGroups, err = normalizeSG(c.SecurityGroups); err != nil {
		return out, l3, err
	}
	if out.NAT, l3.nat, err = c.normalizeNAT(l3); err != nil {
		return out, l3, err
	}
	out.DNS, l3.dns, err = c.normalizeDNS(l3)
	return out, l3, err
}

func (c *Config) normalizeL2() (Config, error) {
	out := Config{Bridges: make([]Bridge, 0, len(c.Bridges))}
	bridges := map[string]bool{}
	portOwner := map[string]string{}
	domains := 0
	for bi, b := range c.Bridges {
		bp := fmt.Sprintf("bridges[%d]", bi)
		if err := checkName(b.Name); err != nil {
			return out, cfgErr(bp+".name", "%v", err)
		}
		if isRoutedBridge(b.Name) {
			return out, cfgErr(bp+".name", "bridge names starting with \"port:\" are reserved for routed ports")
		}
		bp = fmt.Sprintf("bridges[%s]", b.Name)
		if bridges[b.Name] {
			return out, cfgErr(bp, "bridge declared twice")
		}
		bridges[b.Name] = true
		nb := Bridge{Name: b.Name, MACAgeSeconds: b.MACAgeSeconds, MACLimit: b.MACLimit, FastPath: offOnly(b.FastPath)}
		if nb.MACAgeSeconds == 0 {
			nb.MACAgeSeconds = DefaultMACAge
		}
		if nb.MACAgeSeconds < 0 || nb.MACAgeSeconds > 1<<30 {
			return out, cfgErr(bp+".mac_age_seconds", "%d out of range 1..%d", b.MACAgeSeconds, 1<<30)
		}
		if nb.MACLimit == 0 {
			nb.MACLimit = DefaultMACLimit
		}
		if nb.MACLimit < 0 || nb.MACLimit > MaxMACLimit {
			return out, cfgErr(bp+".mac_limit", "%d out of range 1..%d", b.MACLimit, MaxMACLimit)
		}
		vlans := map[uint16]bool{}
		carries := map[string]func(uint16) bool{}
		bound := map[uint64]string{} // MAC -> the port it is bound to
		for pi, p := range b.Ports {
			pp := fmt.Sprintf("%s.ports[%d]", bp, pi)
			if err := checkName(p.Name); err != nil {
				return out, cfgErr(pp+".name", "%v", err)
			}
			pp = fmt.Sprintf("%s.ports[%s]", bp, p.Name)
			if owner, dup := portOwner[p.Name]; dup {
				return out, cfgErr(pp, "port is already in bridge %q", owner)
			}
			portOwner[p.Name] = b.Name
			np := Port{Name: p.Name, Mode: p.Mode, VLAN: p.VLAN, FastPath: offOnly(p.FastPath), MACLimit: p.MACLimit}
			if p.MACLimit < 0 || p.MACLimit > MaxMACLimit {
				return out, cfgErr(pp+".mac_limit", "%d out of range 1..%d", p.MACLimit, MaxMACLimit)
			}
			if np.Mode == "" {
				np.Mode = Access
			}
			if p.VLAN > MaxVLAN {
				return out, cfgErr(pp+".vlan", "%d out of range 0..%d", p.VLAN, MaxVLAN)
			}
			switch np.Mode {
			case Access:
				if len(p.Trunks) > 0 {
					return out, cfgErr(pp+".trunks", "an access port carries no trunk VLANs")
				}
			case Trunk:
				np.Trunks = slices.Clone(p.Trunks)
				slices.Sort(np.Trunks)
				np.Trunks = slices.Compact(np.Trunks)
				for _, v := range np.Trunks {
					if v < 1 || v > MaxVLAN {
						return out, cfgErr(pp+".trunks", "VLAN %d out of range 1..%d", v, MaxVLAN)
					}
					vlans[v] = true
				}
			default:
				return out, cfgErr(pp+".mode", "unknown mode %q (want access or trunk)", p.Mode)
			}
			vlans[np.VLAN] = true
			carries[p.Name] = np.carries
			if err := normalizePortSecurity(&np, &p, pp, bound); err != nil {
				return out, err
			}
			nb.Ports = append(nb.Ports, np)
		}
		domains += len(vlans)
		if domains > maxDomains {
			return out, cfgErr(bp, "more than %d (bridge, VLAN) domains in all", maxDomains)
		}
		seen := map[uint64]bool{}
		for si, s := range b.StaticMACs {
			sp := fmt.Sprintf("%s.static_macs[%d]", bp, si)
			mac, err := parseMAC(s.MAC)
			if err != nil {
				return out, cfgErr(sp+".mac", "%v", err)
			}
			if err := checkUnicast(mac); err != nil {
				return out, cfgErr(sp+".mac", "%s %v", s.MAC, err)
			}
			if s.VTEP != "" {
				if s.Port != "" {
					return out, cfgErr(sp, "a static MAC is behind a port or a VTEP, not both")
				}
				if !remoteOf(&b, s.VLAN, s.VTEP) {
					return out, cfgErr(sp+".vtep", "%s is not a remote VTEP of VLAN %d's VNI", s.VTEP, s.VLAN)
				}
			} else {
				c, ok := carries[s.Port]
				if !ok {
					return out, cfgErr(sp+".port", "port %q is not in bridge %q", s.Port, b.Name)
				}
				if !c(s.VLAN) {
					return out, cfgErr(sp+".vlan", "port %q does not carry VLAN %d", s.Port, s.VLAN)
				}
			}
			if bp, ok := bound[mac]; ok && carries[bp](s.VLAN) {
				return out, cfgErr(sp+".mac", "%s in VLAN %d is bound to port %q (port security)", s.MAC, s.VLAN, bp)
			}
			k := macKey(s.VLAN, mac)
			if seen[k] {
				return out, cfgErr(sp, "MAC %s in VLAN %d declared twice", s.MAC, s.VLAN)
			}
			seen[k] = true
			nb.StaticMACs = append(nb.StaticMACs, StaticMAC{MAC: formatMAC(mac), VLAN: s.VLAN, Port: s.Port, VTEP: s.VTEP})
		}
		out.Bridges = append(out.Bridges, nb)
	}
	return out, nil
}

// normalizePortSecurity checks and copies p's MACs and port security
// into np. bound maps the MACs bound so far in the bridge to their ports.
func normalizePortSecurity(np, p *Port, pp string, bound map[uint64]string) error {
	np.PortSecurity = offOnly(p.PortSecurity)
	if len(p.MACs) > MaxPortMACs {
		return cfgErr(pp+".macs", "%d MACs: at most %d", len(p.MACs), MaxPortMACs)
	}
	if p.PortSecurity != nil && *p.PortSecurity && len(p.MACs) == 0 {
		return cfgErr(pp+".port_security", "port security needs the port's MACs")
	}
	secure := np.PortSecurity == nil
	for i, s := range p.MACs {
		mac, err := parseMAC(s)
		if err != nil {
			return cfgErr(fmt.Sprintf("%s.macs[%d]", pp, i), "%v", err)
		}
		if err := checkUnicast(mac); err != nil {
			return cfgErr(fmt.Sprintf("%s.macs[%d]", pp, i), "%s %v", s, err)
		}
		if slices.Contains(np.MACs, formatMAC(mac)) {
			return cfgErr(fmt.Sprintf("%s.macs[%d]", pp, i), "%s listed twice", s)
		}
		np.MACs = append(np.MACs, formatMAC(mac))
		if !secure {
			continue
		}
		if other, dup := bound[mac]; dup {
			return cfgErr(fmt.Sprintf("%s.macs[%d]", pp, i), "%s is bound to port %q already", s, other)
		}
		bound[mac] = p.Name
	}
	return normalizeIPGuard(np, p, pp)
}

// normalizeIPGuard checks and copies p's addresses, allowed addresses and
// RA guard into np.
func normalizeIPGuard(np, p *Port, pp string) error {
	np.RAGuard = offOnly(p.RAGuard)
	if n := len(p.IPs) + len(p.AllowedIPs); n > MaxPortIPs {
		return cfgErr(pp+".allowed_ips", "%d addresses and allowed IPs: at most %d", n, MaxPortIPs)
	}
	for i, s := range p.IPs {
		a, err := parseHostAddr(s)
		if err != nil {
			return cfgErr(fmt.Sprintf("%s.ips[%d]", pp, i), "%q is not an address: %v", s, err)
		}
		np.IPs = append(np.IPs, a.String())
	}
	for i, s := range p.AllowedIPs {
		pf, err := parseAllowedIP(s)
		if err != nil {
			return cfgErr(fmt.Sprintf("%s.allowed_ips[%d]", pp, i), "%s: want an address or a prefix: %v", s, err)
		}
		np.AllowedIPs = append(np.AllowedIPs, pf.String())
	}
	return nil
}

func (p *Port) carries(v uint16) bool {
	if v == p.VLAN {
		return true
	}
	if p.Mode != Trunk {
		return false
	}
	_, found := slices.BinarySearch(p.Trunks, v)
	return found
}

func checkName(n string) error {
	if n == "" {
		return errors.New("empty name")
	}
	if len(n) > maxNameLen {
		return fmt.Errorf("name longer than %d bytes", maxNameLen)
	}
	for _, r := range n {
		if r <= ' ' || r == 0x7f || r == '/' {
			return fmt.Errorf("name %q has a space, control character or slash", n)
		}
	}
	return nil
}

// checkUnicast refuses MACs that no station has: multicast (broadcast
// included) and all-zero.
func checkUnicast(mac uint64) error {
	switch {
	case mac == 0:
		return errors.New("is the zero address")
	case mac>>40&1 != 0:
		return errors.New("is a multicast address")
	}
	return nil
}

// offOnly normalizes a fast-path switch: nil (the default, on) or false.
func offOnly(b *bool) *bool {
	if b == nil || *b {
		return nil
	}
	off := false
	return &off
}

// parseMAC parses a 48-bit MAC into the low bits of a uint64.
func parseMAC(s string) (uint64, error) {
	hw, err := net.ParseMAC(s)
	if err != nil {
		return 0, err
	}
	if len(hw) != 6 {
		return 0, fmt.Errorf("%q is not a 48-bit MAC", s)
	}
	return mac48(hw), nil
}

// mac48 reads a MAC as a big-endian 48-bit integer (two loads, two swaps).
func mac48(b []byte) uint64 {
	return uint64(binary.BigEndian.Uint32(b[0:4]))<<16 | uint64(binary.BigEndian.Uint16(b[4:6]))
}

func formatMAC(m uint64) string {
	return net.HardwareAddr{byte(m >> 40), byte(m >> 32), byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}.String()
}

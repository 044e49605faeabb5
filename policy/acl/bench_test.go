package acl

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// benchModel draws a realistic configuration: groups of rules/groups
// rules each, group i on port i (and, with allOnPort0, every group also on
// port 0), 4-20 member addresses per group. Rules: 80% ingress; 70% tcp,
// 20% udp, 10% icmp; 70% a single port (well-known or random), 30% a range
// of up to 1000; remote 60% an IPv4 /16-/32, 10% an IPv6 /32-/128, 25% a
// remote group, 5% any; 10% deny, a few with priority.
func benchModel(rng *rand.Rand, rules, groups int, allOnPort0 bool) *Model {
	m := &Model{Groups: make([]Group, groups)}
	for i := range m.Groups {
		g := &m.Groups[i]
		g.Name = fmt.Sprintf("sg%d", i)
		g.Ports = []uint16{uint16(i + 1)}
		if allOnPort0 {
			g.Ports = append(g.Ports, 0)
		}
		for range 4 + rng.IntN(17) {
			g.Addrs = append(g.Addrs, netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))}))
		}
	}
	well := []uint16{22, 25, 53, 80, 123, 443, 3306, 5432, 6379, 8080, 8443, 9090}
	for i := range rules {
		r := Rule{Name: fmt.Sprintf("r%d", i), Proto: ProtoTCP}
		if rng.IntN(5) == 0 {
			r.Direction = Egress
		}
		switch x := rng.IntN(10); {
		case x < 2:
			r.Proto = ProtoUDP
		case x < 3:
			r.Proto = ProtoICMP
		}
		if hasPorts(r.Proto) {
			if rng.IntN(10) < 7 {
				p := well[rng.IntN(len(well))]
				if rng.IntN(2) == 0 {
					p = uint16(1024 + rng.IntN(64000))
				}
				r.Ports = Port(p)
			} else {
				lo := uint16(1024 + rng.IntN(60000))
				r.Ports = PortRange{lo, lo + uint16(rng.IntN(1000))}
			}
		}
		switch x := rng.IntN(20); {
		case x < 12 || r.Proto == ProtoICMP && x < 14:
			a := netip.AddrFrom4([4]byte{byte(10 + rng.IntN(3)*80), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			r.Remote = netip.PrefixFrom(a, 16+rng.IntN(17)).Masked()
		case x < 14:
			var b [16]byte
			b[0], b[1], b[2], b[3], b[4], b[15] = 0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(256)), byte(rng.IntN(256))
			r.Remote = netip.PrefixFrom(netip.AddrFrom16(b), 32+rng.IntN(97)).Masked()
		case x < 19:
			r.RemoteGroup = m.Groups[rng.IntN(groups)].Name
		}
		if rng.IntN(10) == 0 {
			r.Action = Deny
		}
		if rng.IntN(20) == 0 {
			r.Priority = int32(1 + rng.IntN(3))
		}
		g := &m.Groups[i*groups/rules]
		g.Rules = append(g.Rules, r)
	}
	return m
}

// benchPackets draws n packets for the given ports: half built to match a
// random rule of the port's group (an address inside its remote, a port
// inside its range), half random within the same address space.
func benchPackets(rng *rand.Rand, m *Model, ports []uint16, n int) ([]Key, []uint16, []Direction) {
	keys, ps, dirs := make([]Key, n), make([]uint16, n), make([]Direction, n)
	for i := range keys {
		p := ports[rng.IntN(len(ports))]
		g := &m.Groups[max(int(p), 1)-1]
		if p == 0 {
			g = &m.Groups[rng.IntN(len(m.Groups))]
		}
		k := Key{Proto: ProtoTCP, SrcPort: uint16(1024 + rng.IntN(64000)), DstPort: uint16(rng.IntN(65536))}
		remote := netip.AddrFrom4([4]byte{byte(10 + rng.IntN(3)*80), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		local := g.Addrs[0]
		dir := Ingress
		if rng.IntN(2) == 0 && len(g.Rules) > 0 {
			r := &g.Rules[rng.IntN(len(g.Rules))]
			dir, k.Proto = r.Direction, r.Proto
			lo, hi := r.Ports.span()
			k.DstPort = lo + uint16(rng.IntN(int(hi-lo)+1))
			switch {
			case r.Remote.IsValid():
				remote = lastAddr(r.Remote)
				if rng.IntN(2) == 0 {
					remote = r.Remote.Addr()
				}
				if remote.Is6() {
					local = netip.MustParseAddr("2001:db8::1")
				}
			case r.RemoteGroup != "":
				for j := range m.Groups {
					if m.Groups[j].Name == r.RemoteGroup {
						remote = m.Groups[j].Addrs[rng.IntN(len(m.Groups[j].Addrs))]
					}
				}
			}
		}
		if dir == Ingress {
			k.SetAddrs(remote, local)
		} else {
			k.SetAddrs(local, remote)
		}
		keys[i], ps[i], dirs[i] = k, p, dir
	}
	return keys, ps, dirs
}

const (
	benchKeys = 1 << 14
	vector    = 256
)

type benchCase struct {
	name          string
	rules, groups int
	allOnPort0    bool
	hotPort       bool // every packet on port 1
}

var lookupCases = []benchCase{
	{"rules=10/groups=1", 10, 1, false, false},
	{"rules=1000/groups=100", 1000, 100, false, false},
	{"rules=10000/groups=1000", 10000, 1000, false, false},
	// Control: the 1,000-rule model, but every packet on one port (one
	// group of 10 rules), so the tables in use stay in the L1 cache as in
	// the 10-rule case.
	{"rules=1000/groups=100/hot-port", 1000, 100, false, true},
	// Worst case: one port in every group, all rules apply to it.
	{"rules=1000/groups=100/port-in-all", 1000, 100, true, false},
	{"rules=10000/groups=1000/port-in-all", 10000, 1000, true, false},
}

func (bc benchCase) setup(b *testing.B) (*Model, []Key, []uint16, []Direction) {
	rng := rand.New(rand.NewPCG(uint64(bc.rules), 20))
	m := benchModel(rng, bc.rules, bc.groups, bc.allOnPort0)
	var ports []uint16
	switch {
	case bc.allOnPort0:
		ports = []uint16{0}
	case bc.hotPort:
		ports = []uint16{1}
	default:
		for i := range bc.groups {
			ports = append(ports, uint16(i+1))
		}
	}
	keys, ps, dirs := benchPackets(rng, m, ports, benchKeys)
	return m, keys, ps, dirs
}

// BenchmarkLookup classifies 256 packets per iteration, each on its own
// port and direction, and counts them, as a policy node does per vector.
// verdicts/op reports the share of packets a rule (not the default deny)
// decided, to show the packets exercise the rules.
func BenchmarkLookup(b *testing.B) {
	for _, bc := range lookupCases {
		b.Run(bc.name, func(b *testing.B) {
			m, keys, ports, dirs := bc.setup(b)
			c, err := Compile(m)
			if err != nil {
				b.Fatal(err)
			}
			ctr := c.NewCounters(nil)
			ruled := 0
			for i := range keys {
				if _, idx := c.Lookup(dirs[i], ports[i], &keys[i]); idx < int32(c.ModelRules()) {
					ruled++
				}
			}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				for j := i; j < i+vector; j++ {
					_, idx := c.Lookup(dirs[j], ports[j], &keys[j])
					ctr.Count(idx, 64)
				}
				i = (i + vector) % benchKeys
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*vector), "ns/lookup")
			b.ReportMetric(float64(ruled)/benchKeys, "ruled")
			b.ReportMetric(float64(c.MemoryBytes())/(1<<20), "MiB")
		})
	}
}

// BenchmarkLinear is the baseline the classifier replaces: the same
// packets matched by scanning the port's rules, already reduced to
// ranges and sorted by precedence, until the first match (the reference
// model's loop, without its netip overhead).
func BenchmarkLinear(b *testing.B) {
	for _, bc := range lookupCases {
		b.Run(bc.name, func(b *testing.B) {
			m, keys, ports, dirs := bc.setup(b)
			lin := newLinear(m)
			i := 0
			var sum int
			for b.Loop() {
				for j := i; j < i+vector; j++ {
					sum += lin.lookup(dirs[j], ports[j], &keys[j])
				}
				i = (i + vector) % benchKeys
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*vector), "ns/lookup")
			if sum == 1 {
				b.Log(sum)
			}
		})
	}
}

// linear holds, per port and direction, the port's rules in precedence
// order.
type linear struct {
	rules map[uint16]*[2][]*crule
}

func newLinear(m *Model) *linear {
	groups, err := m.index()
	if err != nil {
		panic(err)
	}
	mem4 := make([][][2]uint32, len(m.Groups))
	mem6 := make([][][2]u128, len(m.Groups))
	for gi := range m.Groups {
		for _, a := range m.Groups[gi].Addrs {
			if a.Is4() {
				lo, hi := prefix4(a.As4(), 32)
				mem4[gi] = append(mem4[gi], [2]uint32{lo, hi})
			} else {
				lo, hi := prefix6(a.As16(), 128)
				mem6[gi] = append(mem6[gi], [2]u128{lo, hi})
			}
		}
	}
	l := &linear{rules: make(map[uint16]*[2][]*crule)}
	idx := int32(0)
	for gi := range m.Groups {
		for ri := range m.Groups[gi].Rules {
			r := compileRule(&m.Groups[gi].Rules[ri], idx, groups, mem4, mem6)
			idx++
			for _, p := range m.Groups[gi].Ports {
				if l.rules[p] == nil {
					l.rules[p] = new([2][]*crule)
				}
				l.rules[p][r.dir] = append(l.rules[p][r.dir], r)
			}
		}
	}
	for _, rs := range l.rules {
		for d := range rs {
			sortRules(rs[d])
		}
	}
	return l
}

func (l *linear) lookup(dir Direction, port uint16, k *Key) int {
	rs := l.rules[port]
	if rs == nil {
		return -1
	}
	remote := &k.Src
	if dir == Egress {
		remote = &k.Dst
	}
	a4 := v4(remote)
	hi, lo := v6(remote)
	a6 := u128{hi, lo}
	for _, r := range rs[dir] {
		if r.proto != ProtoAny && r.proto != k.Proto || k.DstPort < r.a[0] || k.DstPort > r.a[1] ||
			k.SrcPort < r.b[0] || k.SrcPort > r.b[1] {
			continue
		}
		if k.IPv6 {
			for _, s := range r.v6 {
				if !a6.less(s[0]) && !s[1].less(a6) {
					return int(r.idx)
				}
			}
		} else {
			for _, s := range r.v4 {
				if s[0] <= a4 && a4 <= s[1] {
					return int(r.idx)
				}
			}
		}
	}
	return -2
}

// BenchmarkCompile compiles configurations of 1,000 and 10,000 rules, with
// each group on its own port and with one port in every group (one
// table of every rule per direction: the memory worst case).
func BenchmarkCompile(b *testing.B) {
	for _, bc := range []benchCase{
		{"rules=1000/groups=100", 1000, 100, false, false},
		{"rules=10000/groups=1000", 10000, 1000, false, false},
		{"rules=1000/groups=100/port-in-all", 1000, 100, true, false},
		{"rules=10000/groups=1000/port-in-all", 10000, 1000, true, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := benchModel(rand.New(rand.NewPCG(uint64(bc.rules), 20)), bc.rules, bc.groups, bc.allOnPort0)
			var mib float64
			b.ReportAllocs()
			for b.Loop() {
				c, err := Compile(m)
				if err != nil {
					b.Fatal(err)
				}
				mib = float64(c.MemoryBytes()) / (1 << 20)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/compile")
			b.ReportMetric(mib, "MiB")
		})
	}
}

package acl

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// MaxTableBytes bounds the bitmap arena of one table (the rules of one
// set of groups, one direction). Compile refuses a model that needs more
// with ErrTooLarge. 10,000 rules in one port's groups take 19 MiB
// (BenchmarkCompile).
const MaxTableBytes = 512 << 20

// crule is a validated rule reduced to the ranges it matches.
type crule struct {
	idx   int32 // counter index: position in the model
	dir   Direction
	deny  bool
	prio  int32
	proto uint8
	// a is the destination port range (or ICMP type), b the source port
	// range (or ICMP code).
	a, b [2]uint16
	v4   [][2]uint32
	v6   [][2]u128
}

var (
	all4 = [][2]uint32{{0, ^uint32(0)}}
	all6 = [][2]u128{{{}, {^uint64(0), ^uint64(0)}}}
)

// Compile validates the model and compiles it into a Classifier. It runs
// on the control plane; the result is immutable, so the caller publishes
// it to the workers with an atomic.Pointer and may drop the model.
func Compile(m *Model) (*Classifier, error) {
	groups, err := m.index()
	if err != nil {
		return nil, err
	}
	// Member addresses of each group as remote ranges, sorted, deduplicated.
	mem4 := make([][][2]uint32, len(m.Groups))
	mem6 := make([][][2]u128, len(m.Groups))
	for gi := range m.Groups {
		for _, a := range m.Groups[gi].Addrs {
			if a.Is4() {
				x := binary.BigEndian.Uint32(a.AsSlice())
				mem4[gi] = append(mem4[gi], [2]uint32{x, x})
			} else {
				lo, hi := prefix6(a.As16(), 128)
				mem6[gi] = append(mem6[gi], [2]u128{lo, hi})
			}
		}
		slices.SortFunc(mem4[gi], func(x, y [2]uint32) int { return cmp.Compare(x[0], y[0]) })
		mem4[gi] = slices.Compact(mem4[gi])
		slices.SortFunc(mem6[gi], func(x, y [2]u128) int { return cmpU128(x[0], y[0]) })
		mem6[gi] = slices.Compact(mem6[gi])
	}

	c := &Classifier{}
	rules := make([][]*crule, len(m.Groups)) // per group, model order
	for gi := range m.Groups {
		g := &m.Groups[gi]
		for ri := range g.Rules {
			r := &g.Rules[ri]
			cr := compileRule(r, int32(len(c.info)), groups, mem4, mem6)
			rules[gi] = append(rules[gi], cr)
			c.info = append(c.info, RuleInfo{Group: g.Name, Rule: r.Name, Direction: r.Direction,
				Action: r.Action, Priority: r.Priority})
		}
	}
	c.rules = len(c.info)

	// The groups of each port, in model order; ports with the same groups
	// share one set of tables.
	byPort := make(map[uint16][]int)
	maxPort := -1
	for gi := range m.Groups {
		for _, p := range m.Groups[gi].Ports {
			if gs := byPort[p]; len(gs) == 0 || gs[len(gs)-1] != gi {
				byPort[p] = append(gs, gi)
			}
			maxPort = max(maxPort, int(p))
		}
	}
	c.port = make([]uint32, maxPort+1)
	sets := make(map[string]uint32)
	var setGroups [][]int
	var setPorts [][]uint16
	for p := range maxPort + 1 {
		gs := byPort[uint16(p)]
		if len(gs) == 0 {
			continue
		}
		key := fmt.Sprint(gs)
		s, ok := sets[key]
		if !ok {
			s = uint32(len(setGroups))
			sets[key] = s
			setGroups = append(setGroups, gs)
			setPorts = append(setPorts, nil)
		}
		setPorts[s] = append(setPorts[s], uint16(p))
		c.port[p] = s + 1
	}

	c.tables = make([]table, 2*len(setGroups))
	for s, gs := range setGroups {
		names := make([]string, len(gs))
		for i, gi := range gs {
			names[i] = m.Groups[gi].Name
		}
		for dir := Ingress; dir <= Egress; dir++ {
			var rs []*crule
			for _, gi := range gs {
				for _, r := range rules[gi] {
					if r.dir == dir {
						rs = append(rs, r)
					}
				}
			}
			t := &c.tables[2*s+int(dir)]
			if err := t.build(rs, MaxTableBytes); err != nil {
				return nil, fmt.Errorf("groups %s, %v: %w", strings.Join(names, ","), dir, err)
			}
			t.def = int32(len(c.info))
			c.info = append(c.info, RuleInfo{Group: strings.Join(names, ","), Rule: DefaultDenyName,
				Direction: dir, Action: Deny, Default: true, Ports: setPorts[s]})
			c.bytes += t.memoryBytes()
		}
	}
	c.bytes += 4 * len(c.port)
	return c, nil
}

func cmpU128(a, b u128) int {
	if a.less(b) {
		return -1
	}
	if b.less(a) {
		return 1
	}
	return 0
}

// compileRule reduces a validated rule to ranges.
func compileRule(r *Rule, idx int32, groups map[string]int, mem4 [][][2]uint32, mem6 [][][2]u128) *crule {
	fam, _ := r.family() // validated
	cr := &crule{idx: idx, dir: r.Direction, deny: r.Action == Deny, prio: r.Priority, proto: r.Proto,
		a: [2]uint16{0, 0xffff}, b: [2]uint16{0, 0xffff}}
	switch {
	case hasPorts(r.Proto):
		cr.a[0], cr.a[1] = r.Ports.span()
		cr.b[0], cr.b[1] = r.SrcPorts.span()
	case isICMP(r.Proto) && r.ICMP != nil:
		cr.a = [2]uint16{uint16(r.ICMP.Type), uint16(r.ICMP.Type)}
		if !r.ICMP.AnyCode {
			cr.b = [2]uint16{uint16(r.ICMP.Code), uint16(r.ICMP.Code)}
		}
	}
	switch {
	case r.Remote.IsValid():
		if r.Remote.Addr().Is4() {
			lo, hi := prefix4(r.Remote.Addr().As4(), r.Remote.Bits())
			cr.v4 = [][2]uint32{{lo, hi}}
		} else {
			lo, hi := prefix6(r.Remote.Addr().As16(), r.Remote.Bits())
			cr.v6 = [][2]u128{{lo, hi}}
		}
	case r.RemoteGroup != "":
		gi := groups[r.RemoteGroup]
		if fam != 6 {
			cr.v4 = mem4[gi]
		}
		if fam != 4 {
			cr.v6 = mem6[gi]
		}
	default:
		if fam != 6 {
			cr.v4 = all4
		}
		if fam != 4 {
			cr.v6 = all6
		}
	}
	return cr
}

// ruleOrder sorts rules by precedence: larger priority first, then deny
// before allow, then model order.
func ruleOrder(x, y *crule) int {
	if x.prio != y.prio {
		return cmp.Compare(y.prio, x.prio)
	}
	if x.deny != y.deny {
		if x.deny {
			return -1
		}
		return 1
	}
	return cmp.Compare(x.idx, y.idx)
}

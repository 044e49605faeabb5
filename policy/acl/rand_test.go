package acl

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// The randomized test compares Compile+Lookup with the reference model
// over random models built to overlap a lot (few protocols, ports from a
// small pool, prefixes inside one region, shared member addresses), and
// random packets drawn mostly from the models' own values and their
// neighbours, as wireguard-go's allowedips_rand_test does for its trie.

var (
	randProtos = []uint8{ProtoAny, ProtoTCP, ProtoTCP, ProtoUDP, ProtoICMP, ProtoICMPv6, 47, ProtoSCTP}
	randPorts  = []uint16{1, 22, 53, 80, 443, 1000, 1024, 8080, 65535}
)

type randGen struct {
	rng   *rand.Rand
	addr4 []netip.Addr // addresses models and packets draw from
	addr6 []netip.Addr
}

func newRandGen(seed uint64) *randGen {
	g := &randGen{rng: rand.New(rand.NewPCG(seed, 0xac1))}
	for range 24 {
		g.addr4 = append(g.addr4, g.addr4In())
		g.addr6 = append(g.addr6, g.addr6In())
	}
	return g
}

func (g *randGen) addr4In() netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(g.rng.IntN(3)), byte(g.rng.IntN(4)), byte(g.rng.IntN(256))})
}

func (g *randGen) addr6In() netip.Addr {
	var b [16]byte
	copy(b[:], []byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(g.rng.IntN(3))})
	b[15] = byte(g.rng.IntN(256))
	if g.rng.IntN(4) == 0 {
		b[9] = byte(g.rng.IntN(256))
	}
	return netip.AddrFrom16(b)
}

func (g *randGen) port() uint16 {
	p := randPorts[g.rng.IntN(len(randPorts))]
	switch g.rng.IntN(6) {
	case 0:
		return p - 1
	case 1:
		return p + 1
	case 2:
		return uint16(g.rng.IntN(65536))
	}
	return p
}

func (g *randGen) portRange() PortRange {
	switch g.rng.IntN(4) {
	case 0:
		return PortRange{}
	case 1:
		return Port(g.port())
	}
	a, b := g.port(), g.port()
	return PortRange{min(a, b), max(a, b)}
}

func (g *randGen) prefix() netip.Prefix {
	if g.rng.IntN(2) == 0 {
		a := g.addr4[g.rng.IntN(len(g.addr4))]
		return netip.PrefixFrom(a, 8+g.rng.IntN(25)).Masked()
	}
	a := g.addr6[g.rng.IntN(len(g.addr6))]
	bits := []int{0, 32, 40, 48, 64, 100, 120, 127, 128}[g.rng.IntN(9)]
	return netip.PrefixFrom(a, bits).Masked()
}

// rule draws a valid rule; groups are the names it may refer to.
func (g *randGen) rule(name string, groups []string) Rule {
	for {
		r := Rule{Name: name, Direction: Direction(g.rng.IntN(2)), Action: Action(g.rng.IntN(2)),
			Priority: int32(g.rng.IntN(4)), Proto: randProtos[g.rng.IntN(len(randProtos))]}
		if g.rng.IntN(8) == 0 {
			r.Family = []uint8{4, 6}[g.rng.IntN(2)]
		}
		switch {
		case hasPorts(r.Proto):
			r.Ports = g.portRange()
			if g.rng.IntN(5) == 0 {
				r.SrcPorts = g.portRange()
			}
		case isICMP(r.Proto) && g.rng.IntN(2) == 0:
			r.ICMP = &ICMPMatch{Type: []uint8{0, 3, 8, 128, 129}[g.rng.IntN(5)], Code: uint8(g.rng.IntN(2)), AnyCode: g.rng.IntN(2) == 0}
		}
		switch g.rng.IntN(3) {
		case 0:
			r.Remote = g.prefix()
		case 1:
			r.RemoteGroup = groups[g.rng.IntN(len(groups))]
		}
		if _, err := r.family(); err == nil {
			return r
		}
	}
}

// model draws up to 8 groups of up to 24 rules on ports 0-15.
func (g *randGen) model() *Model { return g.modelN(1+g.rng.IntN(8), 25) }

// modelN draws n groups of fewer than rules rules each.
func (g *randGen) modelN(n, rules int) *Model {
	m := &Model{}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("g%d", i)
	}
	for i := range n {
		gr := Group{Name: names[i]}
		for range g.rng.IntN(4) {
			gr.Ports = append(gr.Ports, uint16(g.rng.IntN(16)))
		}
		for range g.rng.IntN(6) {
			if g.rng.IntN(2) == 0 {
				gr.Addrs = append(gr.Addrs, g.addr4[g.rng.IntN(len(g.addr4))])
			} else {
				gr.Addrs = append(gr.Addrs, g.addr6[g.rng.IntN(len(g.addr6))])
			}
		}
		for j := range g.rng.IntN(rules) {
			gr.Rules = append(gr.Rules, g.rule(fmt.Sprintf("r%d", j), names))
		}
		m.Groups = append(m.Groups, gr)
	}
	return m
}

// addr draws a packet address: a known one, a neighbour of one, a prefix
// boundary of one of the model's rules, or a fresh one.
func (g *randGen) addr(m *Model, is6 bool) [16]byte {
	var a netip.Addr
	pool := g.addr4
	if is6 {
		pool = g.addr6
	}
	switch g.rng.IntN(6) {
	case 0, 1:
		a = pool[g.rng.IntN(len(pool))]
	case 2:
		a = pool[g.rng.IntN(len(pool))].Next()
	case 3:
		a = pool[g.rng.IntN(len(pool))].Prev()
	case 4:
		gr := &m.Groups[g.rng.IntN(len(m.Groups))]
		if len(gr.Rules) > 0 {
			if p := gr.Rules[g.rng.IntN(len(gr.Rules))].Remote; p.IsValid() && p.Addr().Is6() == is6 {
				a = lastAddr(p)
				if g.rng.IntN(2) == 0 {
					a = p.Addr()
				}
				if g.rng.IntN(3) == 0 {
					a = a.Next()
				}
			}
		}
	}
	if !a.IsValid() {
		if is6 {
			a = g.addr6In()
		} else {
			a = g.addr4In()
		}
	}
	var k Key
	k.SetAddrs(a, a)
	return k.Src
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func (g *randGen) key(m *Model) Key {
	k := Key{IPv6: g.rng.IntN(2) == 0}
	k.Src, k.Dst = g.addr(m, k.IPv6), g.addr(m, k.IPv6)
	k.Proto = randProtos[g.rng.IntN(len(randProtos))]
	if g.rng.IntN(8) == 0 {
		k.Proto = uint8(g.rng.IntN(256))
	}
	k.SrcPort, k.DstPort = g.port(), g.port()
	if isICMP(k.Proto) && g.rng.IntN(2) == 0 {
		k.SetICMP([]uint8{0, 3, 8, 128, 129}[g.rng.IntN(5)], uint8(g.rng.IntN(3)))
	}
	return k
}

func TestLookupRandom(t *testing.T) {
	models, packets := 400, 2000
	if testing.Short() {
		models = 50
	}
	var seen [4]int
	for seed := range uint64(models) {
		g := newRandGen(seed)
		m := g.model()
		c, err := Compile(m)
		if err != nil {
			t.Fatalf("seed %d: Compile: %v", seed, err)
		}
		f := ref{m}
		for i := range packets {
			k := g.key(m)
			dir, port := Direction(g.rng.IntN(2)), uint16(g.rng.IntN(18))
			if gr := &m.Groups[g.rng.IntN(len(m.Groups))]; len(gr.Ports) > 0 && g.rng.IntN(5) > 0 {
				port = gr.Ports[g.rng.IntN(len(gr.Ports))]
			}
			want := f.lookup(dir, port, &k)
			got, bad := classify(c, dir, port, &k)
			if bad != "" || got != want {
				t.Fatalf("seed %d packet %d: %v port %d %+v: got %+v (%s), want %+v\nmodel: %+v",
					seed, i, dir, port, k, got, bad, want, m)
			}
			seen[got.v]++
		}
	}
	// The draws must exercise every outcome, rule verdicts most.
	t.Logf("unfiltered %d, allow %d, deny %d, default deny %d", seen[0], seen[1], seen[2], seen[3])
	for v, n := range seen {
		if n < models*packets/20 {
			t.Errorf("only %d of %d lookups answered %v", n, models*packets, Verdict(v))
		}
	}
}

// TestLookupRandomLarge checks a port whose groups hold more than 4096
// rules per direction, so that its bitmaps have more than one summary
// word: 5000 narrow rules (one remote address and one port each) take the
// first ranks, a random model the ones after.
func TestLookupRandomLarge(t *testing.T) {
	g := newRandGen(1 << 40)
	m := g.modelN(8, 100)
	narrow := Group{Name: "narrow"}
	for i := range 10000 {
		narrow.Rules = append(narrow.Rules, Rule{Name: fmt.Sprint(i), Direction: Direction(i & 1),
			Remote: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(i >> 8), byte(i)}), 32),
			Proto:  ProtoTCP, Ports: Port(uint16(1000 + i%7)), Action: Action(g.rng.IntN(2))})
	}
	m.Groups = append(m.Groups, narrow)
	for i := range m.Groups {
		m.Groups[i].Ports = []uint16{0}
		for j := range m.Groups[i].Rules {
			if m.Groups[i].Name != "narrow" {
				m.Groups[i].Rules[j].Priority -= 10
			}
		}
	}
	c, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	if tb := &c.tables[0]; tb.sum < 2 {
		t.Fatalf("%d summary words: the test needs more rules", tb.sum)
	}
	f := ref{m}
	var deep int
	for i := range 4000 {
		k := g.key(m)
		if i%4 == 0 {
			k = tcp("10.200.0.0", "10.200.0.0", 1, uint16(1000+g.rng.IntN(8)))
			k.Src[2], k.Src[3] = byte(g.rng.IntN(40)), byte(g.rng.IntN(256))
			k.Dst = k.Src
		}
		dir := Direction(g.rng.IntN(2))
		want := f.lookup(dir, 0, &k)
		got, bad := classify(c, dir, 0, &k)
		if bad != "" || got != want {
			t.Fatalf("packet %d: %v %+v: got %+v (%s), want %+v", i, dir, k, got, bad, want)
		}
		remote := &k.Src
		if dir == Egress {
			remote = &k.Dst
		}
		if c.tables[int(dir)].match(remote, &k) >= 4096 {
			deep++
		}
	}
	t.Logf("%d lookups won by a rule of rank 4096 or more", deep)
	if deep < 100 {
		t.Errorf("only %d lookups reached the second summary word", deep)
	}
}

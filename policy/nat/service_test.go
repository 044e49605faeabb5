package nat

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/policy/conntrack"
	"github.com/vecswitch/vecswitch/policy/lb"
)

const vip = "203.0.113.10"

func bk(a string, port uint16, w uint32) Backend {
	return Backend{Addr: addr(a), Port: port, Weight: w}
}

func webService(ws ...uint32) Service {
	s := Service{Proto: protoTCP, VIP: addr(vip), Port: 80}
	for i, w := range ws {
		s.Backends = append(s.Backends, bk(fmt.Sprintf("10.0.0.%d", 5+i), 8080, w))
	}
	return s
}

func TestServiceValidation(t *testing.T) {
	tab, err := NewTable(Config{})
	require.NoError(t, err)
	require.NoError(t, tab.SetUplinks([]netip.Addr{addr("203.0.113.1")}))
	m := Map{Proto: protoTCP, Host: addr("203.0.113.1"), HostPort: 8080, Target: addr("10.0.0.5"), TargetPort: 80}
	require.NoError(t, tab.AddMap(m))
	base := webService(1, 2)
	require.NoError(t, tab.SetService(base))
	with := func(f func(*Service)) Service {
		s := base
		s.Backends = append([]Backend(nil), base.Backends...)
		f(&s)
		return s
	}
	many := make([]Backend, 65537)
	for i := range many {
		many[i] = Backend{Addr: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), Port: 80, Weight: 1}
	}
	for _, tc := range []struct {
		name string
		s    Service
		err  error
	}{
		{"proto", with(func(s *Service) { s.Proto = protoSCTP }), ErrProto},
		{"port-0", with(func(s *Service) { s.Port = 0 }), ErrPort},
		{"backend-port-0", with(func(s *Service) { s.Backends[1].Port = 0 }), ErrPort},
		{"vip-invalid", with(func(s *Service) { s.VIP = netip.Addr{} }), ErrAddr},
		{"vip-multicast", with(func(s *Service) { s.VIP = addr("224.0.0.1") }), ErrAddr},
		{"vip-mapped", with(func(s *Service) { s.VIP = addr("::ffff:203.0.113.10") }), ErrAddr},
		{"backend-any", with(func(s *Service) { s.Backends[0].Addr = netip.IPv4Unspecified() }), ErrAddr},
		{"backend-loopback", with(func(s *Service) { s.Backends[0].Addr = addr("127.0.0.1") }), ErrAddr},
		{"backend-family", with(func(s *Service) { s.Backends[0].Addr = addr("fd00::5") }), ErrFamily},
		{"duplicate", with(func(s *Service) { s.Backends[1] = s.Backends[0]; s.Backends[1].Weight = 7 }), ErrDuplicate},
		{"too-many", with(func(s *Service) { s.Backends = many }), ErrTooMany},
		{"over-map", with(func(s *Service) { s.VIP, s.Port = addr("203.0.113.1"), 8080 }), ErrOverlap},
		{"any-over-map", with(func(s *Service) { s.VIP, s.Port = netip.IPv4Unspecified(), 8080 }), ErrOverlap},
		{"any-over-service", with(func(s *Service) { s.VIP = netip.IPv4Unspecified() }), ErrOverlap},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tab.Rules()
			err := tab.SetService(tc.s)
			require.ErrorIs(t, err, tc.err)
			var se *ServiceError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.s.Port, se.Service.Port)
			require.Equal(t, []Service{base}, tab.Services(), "nothing changed")
			require.Same(t, r, tab.Rules(), "nothing published")
		})
	}
	// A map over the service: refused the other way round too.
	err = tab.AddMap(Map{Proto: protoTCP, Host: addr(vip), HostPort: 80, Target: addr("10.0.0.9"), TargetPort: 80})
	require.ErrorIs(t, err, ErrOverlap)
	var me *MapError
	require.ErrorAs(t, err, &me)
	require.NotNil(t, me.WithService)
	require.Contains(t, err.Error(), "service 203.0.113.10:80/tcp")
	require.ErrorIs(t, tab.AddMap(Map{Proto: protoTCP, Host: netip.IPv4Unspecified(), HostPort: 80, Target: addr("10.0.0.9"), TargetPort: 80}), ErrOverlap)
	// Not overlapping: UDP, another port, IPv6 any.
	require.NoError(t, tab.SetService(with(func(s *Service) { s.Proto = protoUDP })))
	require.NoError(t, tab.SetService(with(func(s *Service) { s.Port = 81 })))
	require.NoError(t, tab.SetService(Service{Proto: protoTCP, VIP: netip.IPv6Unspecified(), Port: 80, Backends: []Backend{bk("fd00::5", 80, 1)}}))
	require.Len(t, tab.Services(), 4)
	// Replacing by name; deleting by name, idempotent.
	repl := with(func(s *Service) { s.Backends = s.Backends[:1] })
	require.NoError(t, tab.SetService(repl))
	require.Equal(t, repl, tab.Services()[0])
	require.True(t, tab.DeleteService(Service{Proto: protoTCP, VIP: addr(vip), Port: 80}))
	require.False(t, tab.DeleteService(Service{Proto: protoTCP, VIP: addr(vip), Port: 80}))
	require.Len(t, tab.Services(), 3)
	// A service with no backend is allowed (it refuses flows).
	require.NoError(t, tab.SetService(Service{Proto: protoTCP, VIP: addr(vip), Port: 80}))

	_, err = NewTable(Config{ServiceTableSize: 1000})
	require.ErrorIs(t, err, ErrConfig)
	_, err = NewTable(Config{ServiceTableSize: 251})
	require.NoError(t, err)
}

// newSvcRig is a rig with room for many flows.
func newSvcRig(t *testing.T, loose bool) *rig {
	r := newRig(t, Config{})
	ct, err := conntrack.New(conntrack.Config{Capacity: 1 << 16, TCPLoose: loose})
	require.NoError(t, err)
	r.ct, r.cw, r.w = ct, ct.NewWorker(), r.nt.NewWorker(ct)
	return r
}

// client is synthetic client flow i: from 198.51.x.y, a port of its own.
func client(i int) (string, uint16) {
	return fmt.Sprintf("198.51.%d.%d", 100+i/50000, i/200%250+1), uint16(1024 + i%50000)
}

// pick sends client flow i's SYN to the VIP and returns the backend
// address its destination became.
func (r *rig) pick(i int) netip.Addr {
	r.t.Helper()
	src, sp := client(i)
	pkt := tcp(src, vip, sp, 80, fSYN).build()
	_, act, reason := r.send(pkt)
	require.Equal(r.t, ReasonNone, reason, reason.String())
	require.Equal(r.t, ActLB|ActDNAT, act)
	require.Equal(r.t, uint16(8080), binary.BigEndian.Uint16(pkt[22:]))
	return netip.AddrFrom4([4]byte(pkt[16:20]))
}

func TestServiceSpread(t *testing.T) {
	const flows = 12000
	r := newSvcRig(t, false)
	s := webService(1, 2, 3)
	require.NoError(t, r.nt.SetService(s))
	got := map[netip.Addr]int{}
	for i := range flows {
		got[r.pick(i)]++
	}
	sc := r.nt.ServiceCounters()
	require.Len(t, sc, 1)
	require.Equal(t, uint64(flows), sc[0].NewFlows)
	for i, b := range s.Backends {
		want := float64(flows) * float64(b.Weight) / 6
		require.InDelta(t, want, float64(got[b.Addr]), want/10, "backend %v: %d of %d flows", b.Addr, got[b.Addr], flows)
		require.Equal(t, uint64(got[b.Addr]), sc[0].Backends[i])
		t.Logf("weight %d: %d flows (%.1f%%, ideal %.1f%%), %d of %d slots", b.Weight, got[b.Addr],
			100*float64(got[b.Addr])/flows, 100*float64(b.Weight)/6, sc[0].Slots[i], sc[0].Size)
	}
	require.Equal(t, uint64(flows), r.counters().LB)
}

// TestFlowHashSpread: one client's connections, whose source ports Linux
// hands out a few apart, spread over the backends as a random pick would,
// wherever in the port range they fall. For each of 256 clients, blocks
// of 1,024 consecutive even source ports (13 of them: 32768-59391) to a
// VIP with backends weighted 1:1:2: the variance of each backend's count
// per block, over the binomial variance, averaged over the 39
// (block, backend) pairs. A random hash gives about 1 (a chi-square with
// 39 degrees of freedom over 39: above 2.5 with probability 1e-7). The
// hash that fed the ports to its last multiply alone gave a median of
// 0.73 but 2.7 at the 250th client and 10.5 at the worst (a block
// taking a third more of a backend's flows than its share), 2.2 for
// 10.95.2.2, a client of vswitch's TestServiceKernelSpread.
func TestFlowHashSpread(t *testing.T) {
	tab, err := lb.New([]lb.Backend{{Key: "10.95.1.2:80", Weight: 1}, {Key: "10.95.1.3:80", Weight: 1}, {Key: "10.95.1.4:80", Weight: 2}}, 0)
	require.NoError(t, err)
	share := []float64{0.25, 0.25, 0.5}
	const block = 1024
	worst, worstAt, sum := 0.0, "", 0.0
	for c := range 256 {
		src := netip.AddrFrom4([4]byte{10, 95, byte(2 + c/250), byte(2 + c%250)})
		k := conntrack.Key{Src: conntrack.AddrFrom(src), Dst: conntrack.AddrFrom(netip.MustParseAddr("10.95.9.9")), DstPort: 80, Proto: protoTCP}
		v, n := 0.0, 0
		for start := 32768; start+2*block <= 61000; start += 2 * block {
			var cnt [3]int
			for i := range block {
				k.SrcPort = uint16(start + 2*i)
				cnt[tab.Lookup(flowHash(&k, 0))]++
			}
			for b, p := range share {
				d := float64(cnt[b]) - p*block
				v += d * d / (block * p * (1 - p))
				n++
			}
		}
		v /= float64(n)
		sum += v
		if v > worst {
			worst, worstAt = v, src.String()
		}
	}
	t.Logf("per-block variance over the binomial's: mean %.2f over 256 clients, worst %.2f (%s)", sum/256, worst, worstAt)
	require.InDelta(t, 1, sum/256, 0.15, "the mean over clients")
	require.Less(t, worst, 2.5, "client %s: its port blocks favour some backends", worstAt)
}

// TestServiceRemoveBackend: new flows' picks before and after a backend
// is removed (or drained): every flow it had moves, and few others do.
func TestServiceRemoveBackend(t *testing.T) {
	const flows = 6000
	before := newSvcRig(t, false)
	s := webService(1, 1, 1, 1, 1)
	require.NoError(t, before.nt.SetService(s))
	picks := make([]netip.Addr, flows)
	for i := range picks {
		picks[i] = before.pick(i)
	}
	gone := s.Backends[2].Addr
	for _, how := range []string{"removed", "drained", "weight-0"} {
		t.Run(how, func(t *testing.T) {
			after := newSvcRig(t, false)
			s2 := webService(1, 1, 1, 1, 1)
			switch how {
			case "removed":
				s2.Backends = append(s2.Backends[:2], s2.Backends[3:]...)
			case "drained":
				s2.Backends[2].Drained = true
			default:
				s2.Backends[2].Weight = 0
			}
			require.NoError(t, after.nt.SetService(s2))
			onGone, others, moved := 0, 0, 0
			for i := range picks {
				p := after.pick(i)
				require.NotEqual(t, gone, p)
				if picks[i] == gone {
					onGone++
				} else if others++; p != picks[i] {
					moved++
				}
			}
			t.Logf("%s: %d flows moved off it, %d of the other %d (%.2f%%) moved", how, onGone, moved, others, 100*float64(moved)/float64(others))
			require.Greater(t, onGone, flows/10)
			require.Less(t, float64(moved)/float64(others), 0.05)
		})
	}
}

// TestServiceEstablished: a committed flow keeps its backend when the
// backend set changes, drained or removed, until flushed.
func TestServiceEstablished(t *testing.T) {
	for _, loose := range []bool{false, true} {
		t.Run(fmt.Sprintf("loose=%v", loose), func(t *testing.T) {
			r := newSvcRig(t, loose)
			s := webService(1, 1, 1)
			require.NoError(t, r.nt.SetService(s))
			b := r.pick(0).String()
			src, sp := client(0)
			r.expect(tcp(b, src, 8080, sp, fSYN|fACK), tcp(vip, src, 80, sp, fSYN|fACK))
			r.expect(tcp(src, vip, sp, 80, fACK), tcp(src, b, sp, 8080, fACK))
			// Drain it: the flow goes on.
			i := 0
			for s.Backends[i].Addr.String() != b {
				i++
			}
			s.Backends[i].Drained = true
			require.NoError(t, r.nt.SetService(s))
			r.expect(tcp(src, vip, sp, 80, fACK), tcp(src, b, sp, 8080, fACK))
			// Remove it and add two: still the same backend.
			s.Backends = append(s.Backends[:i:i], s.Backends[i+1:]...)
			s.Backends = append(s.Backends, bk("10.0.0.50", 8080, 5), bk("10.0.0.51", 8080, 5))
			require.NoError(t, r.nt.SetService(s))
			r.expect(tcp(src, vip, sp, 80, fACK), tcp(src, b, sp, 8080, fACK))
			r.expect(tcp(b, src, 8080, sp, fACK), tcp(vip, src, 80, sp, fACK))
			// Flush: the flow is gone.
			require.Equal(t, 1, r.ct.Flush(ServiceFlows(s, bk(b, 8080, 0))))
			require.Equal(t, 0, r.ct.Flush(ServiceFlows(s, bk(b, 8080, 0))))
			pkt := tcp(src, vip, sp, 80, fACK).build()
			res, act, reason := r.send(pkt)
			if !loose {
				// An ACK without a flow is invalid: the switch drops it
				// (and should answer with a RST: see the package doc).
				require.Equal(t, conntrack.StateInvalid, res.State)
				require.Equal(t, tcp(src, vip, sp, 80, fACK).build(), pkt, "untouched")
				return
			}
			// Picked up mid-stream: Maglev sends it to a live backend,
			// whose stack will answer it with a RST (from the VIP).
			require.Equal(t, ReasonNone, reason)
			require.Equal(t, ActLB|ActDNAT, act)
			nb := netip.AddrFrom4([4]byte(pkt[16:20])).String()
			require.NotEqual(t, b, nb)
			r.expect(tcp(nb, src, 8080, sp, 0x04|fACK), tcp(vip, src, 80, sp, 0x04|fACK))
		})
	}
}

func TestServiceTranslate(t *testing.T) {
	r := newSvcRig(t, false)
	require.NoError(t, r.nt.SetService(webService(1)))
	require.NoError(t, r.nt.SetService(Service{Proto: protoUDP, VIP: netip.IPv4Unspecified(), Port: 53, Backends: []Backend{bk("10.0.0.6", 5353, 1)}}))
	require.NoError(t, r.nt.SetService(Service{Proto: protoTCP, VIP: addr("2001:db8:5::1"), Port: 443, Backends: []Backend{bk("fd00::5", 8443, 1)}}))
	udp := func(src, dst string, sp, dp uint16) *spec {
		s := tcp(src, dst, sp, dp, 0)
		s.proto = protoUDP
		return s
	}
	// TCP/IPv4: both directions; an ICMP error from the backend.
	r.expect(tcp("198.51.100.7", vip, 4000, 80, fSYN), tcp("198.51.100.7", "10.0.0.5", 4000, 8080, fSYN))
	r.expect(tcp("10.0.0.5", "198.51.100.7", 8080, 4000, fSYN|fACK), tcp(vip, "198.51.100.7", 80, 4000, fSYN|fACK))
	r.expect(tcp("198.51.100.7", vip, 4000, 80, fACK), tcp("198.51.100.7", "10.0.0.5", 4000, 8080, fACK))
	// UDP on any uplink address (NodePort-like), and a port unreachable.
	r.expect(udp("198.51.100.7", "203.0.113.2", 999, 53), udp("198.51.100.7", "10.0.0.6", 999, 5353))
	r.expect(udp("10.0.0.6", "198.51.100.7", 5353, 999), udp("203.0.113.2", "198.51.100.7", 53, 999))
	r.expect(errAbout("10.0.0.6", "198.51.100.7", udp("198.51.100.7", "10.0.0.6", 999, 5353)),
		errAbout("203.0.113.2", "198.51.100.7", udp("198.51.100.7", "203.0.113.2", 999, 53)))
	r.expect(udp("198.51.100.7", "203.0.113.9", 999, 53), udp("198.51.100.7", "203.0.113.9", 999, 53)) // not an uplink
	// IPv6.
	r.expect(tcp("2001:db8:1::7", "2001:db8:5::1", 4000, 443, fSYN), tcp("2001:db8:1::7", "fd00::5", 4000, 8443, fSYN))
	r.expect(tcp("fd00::5", "2001:db8:1::7", 8443, 4000, fSYN|fACK), tcp("2001:db8:5::1", "2001:db8:1::7", 443, 4000, fSYN|fACK))
	// Hairpin: a container of the backend's network reaches the VIP.
	pkt := tcp("10.0.0.9", vip, 4000, 80, fSYN).build()
	_, act, reason := r.send(pkt)
	require.Equal(t, ReasonNone, reason)
	require.Equal(t, ActLB|ActDNAT|ActSNAT|ActHairpin, act)
	require.Equal(t, tcp("10.0.0.1", "10.0.0.5", 4000, 8080, fSYN).build(), pkt)
	r.expect(tcp("10.0.0.5", "10.0.0.1", 8080, 4000, fSYN|fACK), tcp(vip, "10.0.0.9", 80, 4000, fSYN|fACK))
	// A masqueraded flow never takes the VIP's port on an uplink
	// address (the "any" UDP service claims 53 there).
	pkt = udp("10.0.0.9", "198.51.100.7", 53, 53).build()
	_, act, reason = r.send(pkt)
	require.Equal(t, ReasonNone, reason)
	require.Equal(t, ActSNAT, act)
	require.NotEqual(t, uint16(53), binary.BigEndian.Uint16(pkt[20:]))
	c := r.counters()
	require.Equal(t, uint64(4), c.LB)
	require.Zero(t, c.DNAT)
	require.Zero(t, c.Hairpin)
	// Wants: a packet to a VIP is one NAT must see.
	var p conntrack.Packet
	conntrack.Parse(&p, tcp("198.51.100.8", vip, 1, 80, fACK).build(), 0)
	require.True(t, r.w.Wants(&p))
}

func TestServiceNoBackend(t *testing.T) {
	r := newSvcRig(t, false)
	s := webService(1, 0)
	s.Backends[0].Drained = true
	require.NoError(t, r.nt.SetService(s))
	pkt := tcp("198.51.100.7", vip, 4000, 80, fSYN).build()
	res, act, reason := r.send(pkt)
	require.Equal(t, ReasonNoBackend, reason)
	require.Equal(t, ActLB|ActDNAT, act)
	require.Zero(t, res.Conn)
	require.Zero(t, r.ct.Len())
	require.Equal(t, uint64(1), r.counters().Reasons[ReasonNoBackend])
	require.Equal(t, uint64(1), r.nt.ServiceCounters()[0].NoBackend)
	// Undrained: flows again, the counters kept.
	s.Backends[0].Drained = false
	require.NoError(t, r.nt.SetService(s))
	r.pick(1)
	sc := r.nt.ServiceCounters()[0]
	require.Equal(t, []uint64{1, 0}, sc.Backends)
	require.Equal(t, uint64(1), sc.NoBackend)
	// A removed backend's flows stay in the service's total.
	s.Backends = s.Backends[1:]
	s.Backends[0].Weight = 1
	require.NoError(t, r.nt.SetService(s))
	r.pick(2)
	sc = r.nt.ServiceCounters()[0]
	require.Equal(t, []uint64{1}, sc.Backends)
	require.Equal(t, uint64(2), sc.NewFlows)
}

func TestServiceAllocations(t *testing.T) {
	r := newSvcRig(t, false)
	require.NoError(t, r.nt.SetService(webService(1, 2, 3)))
	syn := tcp("198.51.100.7", vip, 1, 80, fSYN).build()
	// An established flow's packets, both ways.
	r.pick(0)
	src, sp := client(0)
	out := tcp(src, vip, sp, 80, fACK).build()
	res := r.cw.Track(&r.p, out, 0, r.now)
	po := r.p
	require.NotZero(t, res.Conn)
	f, _ := r.ct.Get(res.Conn)
	back := tcp(f.Reply.Src.Netip(true).String(), src, 8080, sp, fSYN|fACK).build()
	resb := r.cw.Track(&r.p, back, 0, r.now)
	pb := r.p
	buf := make([]byte, len(out))
	n := testing.AllocsPerRun(1000, func() {
		copy(buf, out)
		if _, reason := r.w.Translate(buf, &po, res, false); reason != ReasonNone {
			t.Fatal(reason)
		}
		copy(buf, back)
		if _, reason := r.w.Translate(buf, &pb, resb, false); reason != ReasonNone {
			t.Fatal(reason)
		}
	})
	require.Zero(t, n, "established")
	i := uint32(0)
	pkt := make([]byte, len(syn))
	n = testing.AllocsPerRun(1000, func() {
		i++
		binary.BigEndian.PutUint32(syn[12:], 0xc6330000|i) // a new client each time
		copy(pkt, syn)
		syn := pkt
		r.cw.Track(&r.p, syn, 0, r.now)
		res, _, reason := r.w.Commit(r.cw, &r.p, r.now, 0)
		if reason != ReasonNone {
			t.Fatal(reason)
		}
		if _, reason := r.w.Translate(syn, &r.p, res, false); reason != ReasonNone {
			t.Fatal(reason)
		}
	})
	require.Zero(t, n, "new flows")
}

// TestServiceConcurrent: workers commit service flows while the control
// plane changes the backend set (run with -race).
func TestServiceConcurrent(t *testing.T) {
	r := newSvcRig(t, false)
	require.NoError(t, r.nt.SetService(webService(1, 1, 1)))
	var wg, ctl sync.WaitGroup
	stop := make(chan struct{})
	ctl.Add(1)
	go func() {
		defer ctl.Done()
		rng := rand.New(rand.NewPCG(1, 1))
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := webService(1+rng.Uint32N(3), rng.Uint32N(2), 1+rng.Uint32N(3), 1)
			s.Backends[rng.IntN(4)].Drained = true
			if err := r.nt.SetService(s); err != nil {
				panic(err)
			}
			r.nt.ServiceCounters()
		}
	}()
	const workers, per = 2, 2000
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cw, w := r.ct.NewWorker(), r.nt.NewWorker(r.ct)
			var p conntrack.Packet
			for i := range per {
				src, sp := client(g*per + i)
				pkt := tcp(src, vip, sp, 80, fSYN).build()
				cw.Track(&p, pkt, 0, r.now)
				res, _, reason := w.Commit(cw, &p, r.now, 0)
				if reason != ReasonNone {
					panic(reason)
				}
				if _, reason := w.Translate(pkt, &p, res, false); reason != ReasonNone {
					panic(reason)
				}
			}
			w.Publish()
			cw.Publish()
		}()
	}
	wg.Wait()
	close(stop)
	ctl.Wait()
	require.Equal(t, uint64(workers*per), r.nt.Counters().LB)
	total := uint64(0)
	for _, sc := range r.nt.ServiceCounters() {
		total += sc.NewFlows
	}
	require.LessOrEqual(t, total, uint64(workers*per))
	require.Equal(t, workers*per, r.ct.Len())
}

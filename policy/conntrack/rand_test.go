package conntrack

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// refFlow is the reference model's flow.
type refFlow struct {
	keys    [2]Key
	class   int
	tcp     TCPState
	fin     Dir
	replied bool
	last    uint32
	conn    uint32 // the table's entry, to check identity
}

// refTable is a map-based model of the table with no capacity limit:
// every key of a flow maps to it.
type refTable struct {
	m  map[Key]*refFlow
	to Timeouts
}

func (r *refTable) timeout(f *refFlow) uint32 {
	switch f.class {
	case classTCP:
		return [...]uint32{r.to.TCPSynSent, r.to.TCPSynSent, r.to.TCPSynRecv, r.to.TCPEstablished, r.to.TCPFinWait,
			r.to.TCPCloseWait, r.to.TCPLastAck, r.to.TCPTimeWait, r.to.TCPClose}[f.tcp]
	case classUDP:
		if f.replied {
			return r.to.UDPReplied
		}
		return r.to.UDPUnreplied
	}
	return r.to.ICMP
}

func (r *refTable) drop(f *refFlow) { delete(r.m, f.keys[0]); delete(r.m, f.keys[1]) }

// track is the model of Track: it returns the expected result, with
// Conn standing for "some entry" (1) or none (0).
func (r *refTable) track(p *Packet, now uint32) (Result, *refFlow) {
	f := r.m[p.Key]
	if f != nil && now-f.last > r.timeout(f) {
		r.drop(f)
		f = nil
	}
	if f == nil {
		if p.Kind == KindTCP {
			if _, ok := tcpFirst(tcpClass(p.TCPFlags), false); !ok {
				return Result{State: StateInvalid, Reason: ReasonTCPNoSYN}, nil
			}
		}
		if p.Kind == KindICMPReply || p.Kind == KindICMPError {
			return Result{State: StateInvalid, Reason: ReasonNoFlow}, nil
		}
		return Result{State: StateNew}, nil
	}
	d := Original
	if f.keys[0] != p.Key { // a key equal to its reverse (a host talking to itself) is original
		d = Reply
	}
	res := Result{Conn: 1, Dir: d, TCP: f.tcp}
	if p.Kind == KindICMPError {
		res.State = StateRelated
		return res, f
	}
	if p.Kind == KindTCP {
		ns, nf, ok, reopen := tcpNext(f.tcp, f.fin, d, tcpClass(p.TCPFlags))
		if reopen {
			r.drop(f)
			return Result{State: StateNew}, nil
		}
		if !ok {
			return Result{Conn: 1, Dir: d, TCP: f.tcp, State: StateInvalid, Reason: ReasonTCPTransition}, f
		}
		f.tcp, f.fin, res.TCP = ns, nf, ns
	}
	if d == Reply {
		f.replied = true
	}
	f.last = now
	res.State = StateNew
	if f.replied {
		res.State = StateEstablished
	}
	return res, f
}

func (r *refTable) commit(p *Packet, now uint32) *refFlow {
	f := &refFlow{keys: [2]Key{p.Key, p.Key.Reverse()}, last: now}
	switch p.Kind {
	case KindTCP:
		f.class, f.tcp = classTCP, TCPSynSent
	case KindUDP:
		f.class = classUDP
	default:
		f.class = classICMP
	}
	r.m[f.keys[0]], r.m[f.keys[1]] = f, f
	return f
}

// TestRandomAgainstModel drives the table and the model with the same
// random packets (TCP with random flags, UDP, ICMP echo and errors,
// between few hosts and ports so flows meet again), time steps,
// flushes and expiry sweeps, and compares every answer.
func TestRandomAgainstModel(t *testing.T) {
	to := Timeouts{TCPSynSent: 20, TCPSynRecv: 20, TCPEstablished: 300, TCPFinWait: 30, TCPCloseWait: 25,
		TCPLastAck: 15, TCPTimeWait: 40, TCPClose: 10, UDPUnreplied: 20, UDPReplied: 60, ICMP: 15}
	rng := rand.New(rand.NewPCG(1, 2))
	tab := newTable(t, Config{Capacity: 4096, Timeouts: to})
	w := tab.NewWorker()
	ref := &refTable{m: map[Key]*refFlow{}, to: to}
	hosts := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}
	hosts6 := []string{"2001:db8::1", "2001:db8::2"}
	flags := []uint8{fSYN, fSYN | fACK, fACK, fACK | fPSH, fFIN | fACK, fRST, fRST | fACK}
	now := uint32(100)
	var p Packet
	steps := 20000
	if testing.Short() {
		steps = 3000
	}
	for i := range steps {
		hs := hosts
		if rng.IntN(3) == 0 {
			hs = hosts6
		}
		a, b := hs[rng.IntN(len(hs))], hs[rng.IntN(len(hs))]
		sp, dp := uint16(1+rng.IntN(3)), uint16(1+rng.IntN(3))
		var pkt []byte
		switch rng.IntN(10) {
		case 0, 1, 2, 3, 4:
			pkt = tcpPkt(t, a, b, sp, dp, flags[rng.IntN(len(flags))])
		case 5, 6:
			pkt = udpPkt(t, a, b, sp, dp)
		case 7:
			pkt = echoPkt(t, a, b, sp, rng.IntN(2) == 0)
		case 8:
			pkt = icmpErr(t, hs[0], a, udpPkt(t, a, b, sp, dp))
		case 9:
			pkt = icmpErr(t, hs[0], a, tcpPkt(t, a, b, sp, dp, fACK))
		}
		got := w.Track(&p, pkt, uint16(rng.IntN(2)), now)
		want, f := ref.track(&p, now)
		if f != nil {
			require.Equal(t, f.conn, got.Conn, "step %d", i)
			want.Conn = f.conn
		}
		require.Equal(t, want, got, "step %d: %v %v", i, p.Key, tcpClass(p.TCPFlags))
		if got.State == StateNew && got.Conn == 0 && rng.IntN(4) != 0 {
			c := w.Commit(&p, nil, now, 0)
			require.NotZero(t, c.Conn)
			ref.commit(&p, now).conn = c.Conn
		}
		switch rng.IntN(200) {
		case 0:
			now += uint32(rng.IntN(100))
		case 1: // the ager
			// From a random place, in pieces, wrapping round once.
			for next, done := uint32(rng.IntN(100)), 0; done < 4200; done += 700 {
				next, _ = tab.Expire(now, next, 700)
			}
			for _, f := range ref.m {
				if now-f.last > ref.timeout(f) {
					ref.drop(f)
				}
			}
		case 2: // a rule went away
			port := uint16(1 + rng.IntN(3))
			n := tab.Flush(func(f *Flow) bool { return f.Orig.DstPort == port })
			m := 0
			for k, f := range ref.m {
				if k == f.keys[0] && k.DstPort == port {
					ref.drop(f)
					m++
				}
			}
			require.Equal(t, m, n)
		}
		if i%10 == 0 {
			now++
		}
		if i%100 == 0 {
			n := 0
			for k, f := range ref.m {
				if k == f.keys[0] {
					n++
				}
			}
			w.Publish()
			require.Equal(t, n, tab.Len(), "step %d", i)
		}
	}
	w.Publish()
	c := tab.Counters()
	t.Logf("%+v", c)
	require.Zero(t, c.Evicted)
	require.NotZero(t, c.Related)
	require.NotZero(t, c.Expired)
}

package vswitch

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/memport"
)

// TestReconfigureUnderTraffic runs the switch on its own workers while two
// ports exchange numbered frames, and meanwhile adds and removes a third
// port and changes VLAN settings over and over. Every frame between the two
// stable ports must arrive exactly once: reconfiguration may flush MACs
// (frames flood instead) but must lose nothing not addressed to the port
// being removed.
func TestReconfigureUnderTraffic(t *testing.T) {
	const frames = 20000
	s, err := New(Options{Workers: 2, PoolFrames: 4096, Idle: pipeline.IdleSleep})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	mk := func(name string, ring int) *memport.Port {
		p, err := memport.New(memport.Config{Name: name, RxQueues: 2, TxQueues: 2, RingSize: ring})
		require.NoError(t, err)
		return p
	}
	a, b := mk("a", 8192), mk("b", 8192)
	require.NoError(t, s.AddPort(a))
	require.NoError(t, s.AddPort(b))
	cfg := func(withC bool, variant int) Config {
		br := Bridge{Name: "br0", Ports: []Port{
			{Name: "a", Mode: Trunk, Trunks: []uint16{uint16(100 + variant%3)}},
			{Name: "b", Mode: Trunk, Trunks: []uint16{uint16(200 + variant%2)}},
		}}
		if withC {
			br.Ports = append(br.Ports, Port{Name: "c", VLAN: uint16(variant % 2 * 100)})
		}
		return Config{Bridges: []Bridge{br, {Name: "other", Ports: []Port{{Name: fmt.Sprint("x", variant%4)}}}}}
	}
	require.NoError(t, s.Reconfigure(cfg(false, 0)))
	require.NoError(t, s.Start())

	base := frame(macN(2), macN(1), -1) // a -> b, untagged (native VLAN 0)
	back := frame(macN(1), macN(2), -1) // b -> a
	// Teach the switch both MACs first so most frames are known unicast.
	require.Equal(t, 1, b.Inject(0, back))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var rounds atomic.Int64
	wg.Add(1)
	go func() { // reconfigure until the traffic is through
		defer wg.Done()
		for i := 0; ; i++ {
			rounds.Store(int64(i))
			select {
			case <-stop:
				return
			default:
			}
			c := mk("c", 64)
			if err := s.AddPort(c); err != nil {
				t.Error(err)
				return
			}
			if err := s.Reconfigure(cfg(true, i)); err != nil {
				t.Error(err)
				return
			}
			c.Inject(i%2, frame(macN(3), macN(4+i%8), -1))
			time.Sleep(200 * time.Microsecond)
			if err := s.RemovePort("c"); err != nil {
				t.Error(err)
				return
			}
			if err := s.Reconfigure(cfg(false, i+1)); err != nil {
				t.Error(err)
				return
			}
		}
	}()

	// Send from a on both queues (both workers), paced so no ring fills.
	got := make([]int, frames)
	received := 0
	collect := func() {
		for _, f := range b.CollectAll() {
			if len(f) == len(base) && string(f[:12]) == string(base[:12]) {
				got[binary.BigEndian.Uint32(f[len(f)-4:])]++
				received++
			}
		}
		a.CollectAll()
	}
	deadline := time.Now().Add(60 * time.Second)
	for seq := 0; seq < frames; {
		f := append([]byte(nil), base...)
		binary.BigEndian.PutUint32(f[len(f)-4:], uint32(seq))
		if a.Inject(seq%2, f) == 1 {
			seq++
		}
		if seq%1000 == 0 { // let at least one reconfiguration overlap each 1000 frames
			r := rounds.Load()
			for rounds.Load() == r && time.Now().Before(deadline) {
				collect()
				time.Sleep(100 * time.Microsecond)
			}
		}
		if seq%256 == 0 {
			for a.Pending() > 2048 {
				collect()
				time.Sleep(50 * time.Microsecond)
			}
		}
		require.True(t, time.Now().Before(deadline), "traffic stalled")
	}
	for received < frames && time.Now().Before(deadline) {
		collect()
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	collect()
	for seq, n := range got {
		require.Equal(t, 1, n, "frame %d arrived %d times", seq, n)
	}
	require.GreaterOrEqual(t, rounds.Load(), int64(frames/1000), "too few reconfigurations overlapped the traffic")
	for _, w := range s.Workers() {
		require.NotZero(t, w.PortCounters(0).RxPackets+w.PortCounters(1).RxPackets+w.PortCounters(2).RxPackets,
			"worker %d received nothing", w.ID())
	}
	require.Zero(t, b.Dropped(), "b's tx ring overflowed: the test, not the switch, lost frames")
	s.Stop()
	for _, p := range s.pools {
		require.Equal(t, p.Size(), p.Available(), "buffers leaked")
	}
}

package perf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// lbBlock is what a bulk stream writes at a time (iperf3's TCP default).
const lbBlock = 128 << 10

// lbServer is one backend's servers: connThreads SO_REUSEPORT
// listeners on LBConnPort serving the short-connection exchange (as
// startConnServer's) and, if bulk, one listener on LBBulkPort whose thread
// starts a reader per stream (reading and discarding), every thread
// locked and pinned to one CPU. It counts what it accepted and read.
type lbServer struct {
	listeners
	conns, bulks, bytes atomic.Uint64
}

// startLBServer listens in namespace ns on addr.
func startLBServer(ns netns.NsHandle, addr netip.Addr, connThreads int, bulk bool, cpu int) (*lbServer, error) {
	s := &lbServer{}
	ports := slices.Repeat([]int{LBConnPort}, connThreads)
	if bulk {
		ports = append(ports, LBBulkPort)
	}
	err := s.start(ns, addr, ports, cpu, func(port int) func(fd int) {
		if port == LBBulkPort {
			return func(fd int) {
				s.bulks.Add(1)
				s.wg.Add(1)
				go s.sink(fd, cpu)
			}
		}
		reply := exchange("vecswitch-lbresp")
		return func(fd int) {
			s.conns.Add(1)
			reply(fd)
		}
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// sink reads fd until EOF, an error, or the server stops, then closes
// it.
func (s *lbServer) sink(fd, cpu int) {
	defer s.wg.Done()
	defer unix.Close(fd)
	release, err := lockPinned(cpu, -1)
	if err != nil {
		s.fail(err)
		return
	}
	defer release()
	buf := make([]byte, lbBlock)
	for !s.quit.Load() {
		n, err := unix.Read(fd, buf)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			if werr := waitFD(fd, unix.POLLIN, time.Now().Add(100*time.Millisecond)); werr != nil && werr != errConnTimeout {
				return
			}
		case err != nil || n == 0:
			return
		default:
			s.bytes.Add(uint64(n))
		}
	}
}

// bulkStreams is a bulk run's senders: one thread per stream in the
// client's namespace, pinned, each connected to the VIP's LBBulkPort and
// writing lbBlock bytes at a time until stopped.
type bulkStreams struct {
	stopping atomic.Bool
	wg       sync.WaitGroup
	retrans  atomic.Uint64
	mu       sync.Mutex
	err      error
}

// startBulk connects n streams to sa (each its own copy: Connect
// writes into it) from namespace ns (all connected
// when it returns) and starts them writing.
func startBulk(ns netns.NsHandle, sa unix.SockaddrInet4, n, cpu int) (*bulkStreams, error) {
	b := &bulkStreams{}
	ready := make(chan error, n)
	for range n {
		b.wg.Add(1)
		go b.stream(ns, sa, cpu, ready)
	}
	var err error
	for range n {
		err = errors.Join(err, <-ready)
	}
	if err != nil {
		return nil, errors.Join(err, b.stop())
	}
	return b, nil
}

func (b *bulkStreams) stream(ns netns.NsHandle, sa unix.SockaddrInet4, cpu int, ready chan<- error) {
	defer b.wg.Done()
	release, err := lockPinned(cpu, ns)
	if err != nil {
		ready <- err
		return
	}
	defer release()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		ready <- fmt.Errorf("perf: socket: %w", err)
		return
	}
	defer unix.Close(fd)
	// Blocking writes that give up after 200 ms, so a stop is seen.
	tv := unix.Timeval{Usec: 200000}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		ready <- fmt.Errorf("perf: SO_SNDTIMEO: %w", err)
		return
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		ready <- fmt.Errorf("perf: SO_RCVTIMEO: %w", err)
		return
	}
	if err := unix.Connect(fd, &sa); err != nil {
		ready <- fmt.Errorf("perf: bulk connect to %d.%d.%d.%d:%d: %w", sa.Addr[0], sa.Addr[1], sa.Addr[2], sa.Addr[3], sa.Port, err)
		return
	}
	ready <- nil
	buf := make([]byte, lbBlock)
	for !b.stopping.Load() {
		if _, err := unix.Write(fd, buf); err != nil && err != unix.EAGAIN && err != unix.EINTR {
			b.mu.Lock()
			b.err = errors.Join(b.err, fmt.Errorf("perf: bulk write: %w", err))
			b.mu.Unlock()
			break
		}
	}
	if ti, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
		b.retrans.Add(uint64(ti.Total_retrans))
	}
}

// stop ends the streams; the error is any write's.
func (b *bulkStreams) stop() error {
	b.stopping.Store(true)
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// sumBytes is what the backends have read so far.
func sumBytes(srv []*lbServer) uint64 {
	var n uint64
	for _, s := range srv {
		n += s.bytes.Load()
	}
	return n
}

// runBulk runs n streams from namespace ns to sa: warmup, then window
// measured (bytes the backends read, host CPU), then stops them.
func runBulk(ctx context.Context, ns netns.NsHandle, sa unix.SockaddrInet4, srv []*lbServer, n, cpu int, warmup, window time.Duration) (r LBBulkResult, err error) {
	r.Streams = n
	before := make([]uint64, len(srv))
	for i, s := range srv {
		before[i] = s.bulks.Load()
	}
	b, err := startBulk(ns, sa, n, cpu)
	if err != nil {
		return r, err
	}
	defer func() {
		err = errors.Join(err, b.stop())
		r.Retransmits = b.retrans.Load()
	}()
	if err := sleepCtx(ctx, warmup); err != nil {
		return r, err
	}
	st0, err := readProcStat()
	if err != nil {
		return r, err
	}
	b0, t0 := sumBytes(srv), time.Now()
	if err := sleepCtx(ctx, window); err != nil {
		return r, err
	}
	b1, t1 := sumBytes(srv), time.Now()
	st1, err := readProcStat()
	if err != nil {
		return r, err
	}
	r.Seconds = t1.Sub(t0).Seconds()
	r.Gbps = float64(b1-b0) * 8 / r.Seconds / 1e9
	r.HostCPU = hostCPUBusy(st0, st1)
	if r.Gbps > 0 {
		r.CPUPerGbps = r.HostCPU / r.Gbps
	}
	for i, s := range srv {
		r.Spread = append(r.Spread, s.bulks.Load()-before[i])
	}
	return r, nil
}

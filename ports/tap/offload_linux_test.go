package tap_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/netdev/netdevtest"
	"github.com/vecswitch/vecswitch/ports/tap"
)

// wire joins two offload tap ports, opened on one pool, by a goroutine
// that moves every frame from one to the other as it comes, the way a
// switch with two ports would, and notes what it saw.
type wire struct {
	pool               *pipeline.Pool
	rx                 [2]pipeline.RxQueue
	tx                 [2]pipeline.TxQueue
	gso, partial, maxK atomic.Int64
	stop, done         chan struct{}
}

func openOffloadPort(t *testing.T, name, ns string, addr netip.Prefix) *tap.Port {
	p, err := tap.New(tap.Config{Name: name, Netns: ns, Offload: true, Addrs: []netip.Prefix{addr}})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := p.Close(); err != nil && !errors.Is(err, ports.ErrClosed) {
			t.Errorf("close port: %v", err)
		}
	})
	require.True(t, p.Info().Offload)
	return p
}

func newWire(t *testing.T, a, b *tap.Port) *wire {
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 4096})
	require.NoError(t, err)
	w := &wire{pool: pool, stop: make(chan struct{}), done: make(chan struct{})}
	for i, p := range []*tap.Port{a, b} {
		w.rx[i], err = p.OpenRx(0, pool)
		require.NoError(t, err)
		w.tx[i], err = p.OpenTx(0, pool)
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		close(w.stop)
		<-w.done
		for i := range 2 {
			w.rx[i].Close()
			w.tx[i].Close()
		}
		pool.Reclaim()
		require.Equal(t, pool.Size(), pool.Available(), "buffers leaked")
		pool.Close()
	})
	go w.run()
	return w
}

func (w *wire) run() {
	defer close(w.done)
	bufs := make([]pipeline.BufID, pipeline.VectorSize)
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		moved := 0
		for i := range 2 {
			n, _ := w.rx[i].Rx(bufs)
			for _, id := range bufs[:n] {
				m := w.pool.Meta(id)
				if m.GSOType != 0 {
					w.gso.Add(1)
				}
				if m.Offload&pipeline.OffloadCsumPartial != 0 {
					w.partial.Add(1)
				}
				k := int64(0)
				for b, more := id, true; more; b, more = w.pool.NextBuf(b) {
					k++
				}
				if k > w.maxK.Load() {
					w.maxK.Store(k)
				}
			}
			w.tx[1-i].Tx(bufs[:n])
			moved += n
		}
		if moved == 0 {
			time.Sleep(50 * time.Microsecond)
		}
	}
}

// tcpPair listens in nsB and connects from nsA, returning both ends.
func tcpPair(t *testing.T, nsA, nsB string, to netip.Addr) (net.Conn, net.Conn) {
	lfd, lclose := netdevtest.Socket(t, nsB, unix.AF_INET, unix.SOCK_STREAM, 0)
	require.NoError(t, unix.Bind(lfd, &unix.SockaddrInet4{Port: 5201, Addr: to.As4()}))
	require.NoError(t, unix.Listen(lfd, 1))
	lf := dupFile(t, lfd)
	ln, err := net.FileListener(lf)
	lf.Close()
	lclose()
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	cfd, cclose := netdevtest.Socket(t, nsA, unix.AF_INET, unix.SOCK_STREAM, 0)
	require.NoError(t, unix.Connect(cfd, &unix.SockaddrInet4{Port: 5201, Addr: to.As4()}))
	cf := dupFile(t, cfd)
	c, err := net.FileConn(cf)
	cf.Close()
	cclose()
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return c, s
}

// dupFile wraps a duplicate of fd (a socket netdevtest.Socket owns and
// closes) in an os.File for net.FileConn or net.FileListener, which take
// a duplicate of their own: the caller closes the file at once, so that
// closing the net.Conn closes the socket's last descriptor.
func dupFile(t *testing.T, fd int) *os.File {
	d, err := unix.Dup(fd)
	require.NoError(t, err)
	return os.NewFile(uintptr(d), "socket")
}

// TestTapOffloadTCP: two namespaces whose eth0 are offload taps, joined
// by a wire of Rx and Tx calls, move 48 MiB of TCP intact, and the frames
// the kernel handed over were large (chains of several buffers, with a GSO
// type) with partial checksums, written back as they came.
func TestTapOffloadTCP(t *testing.T) {
	netdevtest.RequireRoot(t)
	nsA, nsB := netdevtest.NewNetns(t), netdevtest.NewNetns(t)
	a := openOffloadPort(t, "a", nsA, netip.MustParsePrefix("10.124.0.1/24"))
	b := openOffloadPort(t, "b", nsB, netip.MustParsePrefix("10.124.0.2/24"))
	w := newWire(t, a, b)
	c, s := tcpPair(t, nsA, nsB, netip.MustParseAddr("10.124.0.2"))

	data := make([]byte, 48<<20)
	rng := rand.NewChaCha8([32]byte{18})
	rng.Read(data)
	want := sha256.Sum256(data)
	errc := make(chan error, 1)
	go func() {
		_, err := io.Copy(c, bytes.NewReader(data))
		c.Close()
		errc <- err
	}()
	h := sha256.New()
	require.NoError(t, s.SetReadDeadline(time.Now().Add(60*time.Second)))
	n, err := io.Copy(h, s)
	require.NoError(t, err)
	require.NoError(t, <-errc)
	require.Equal(t, int64(len(data)), n)
	require.Equal(t, want[:], h.Sum(nil), "the data arrived changed")
	t.Logf("GSO frames %d, partial checksums %d, longest chain %d buffers", w.gso.Load(), w.partial.Load(), w.maxK.Load())
	require.Positive(t, w.gso.Load(), "the kernel handed over no GSO frame")
	require.Positive(t, w.partial.Load(), "no partial checksum")
	require.Greater(t, w.maxK.Load(), int64(1), "no frame larger than one buffer")
}

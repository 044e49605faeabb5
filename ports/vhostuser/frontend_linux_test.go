package vhostuser

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
)

// Guest-physical and front-end virtual bases of a test front-end's memory
// (the front-end's virtual addresses need not be real: the backend only
// translates them).
const (
	feGPA     = 0x40000000
	feUVA     = 0x7f5500000000
	feMemSize = 4 << 20
	feRing    = 256
)

// frontend is a vhost-user front-end played by the test: it connects to
// the port's socket, shares a memfd as guest memory, and drives pair 0's
// rings as a virtio-net driver would.
type frontend struct {
	t        testing.TB
	conn     *net.UnixConn
	memfd    int
	mem      []byte
	tx, rx   *drvRing // vq 1 and vq 0
	kick     [2]int
	call     [2]int
	features uint64
	hdr      []byte
}

// dial connects a front-end with a fresh memfd (sealable if sealable).
func dial(t testing.TB, sock string) *frontend {
	t.Helper()
	f := &frontend{t: t, kick: [2]int{-1, -1}, call: [2]int{-1, -1}}
	var err error
	f.memfd, err = unix.MemfdCreate("vhu-test", unix.MFD_CLOEXEC)
	require.NoError(t, err)
	require.NoError(t, unix.Ftruncate(f.memfd, feMemSize))
	f.mem, err = unix.Mmap(f.memfd, 0, feMemSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	var off int
	f.tx, off = newDrvRing(f.mem, feGPA, 0, feRing, 2048+64)
	f.rx, _ = newDrvRing(f.mem, feGPA, off, feRing, 2048)
	for i := range 2 {
		f.kick[i] = eventfdNoCleanup(t)
		f.call[i] = eventfdNoCleanup(t)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.conn, err = net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, err)
	t.Cleanup(f.close)
	return f
}

func eventfdNoCleanup(t testing.TB) int {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	require.NoError(t, err)
	return fd
}

// close disconnects and releases the front-end's memory and descriptors.
func (f *frontend) close() {
	if f.conn != nil {
		f.conn.Close()
		f.conn = nil
	}
	if f.mem != nil {
		unix.Munmap(f.mem)
		f.mem = nil
		unix.Close(f.memfd)
		for i := range 2 {
			unix.Close(f.kick[i])
			unix.Close(f.call[i])
		}
	}
}

// send writes one request with descriptors.
func (f *frontend) send(req, flags uint32, payload []byte, fds ...int) error {
	b := le.AppendUint32(nil, req)
	b = le.AppendUint32(b, flagVersion|flags)
	b = le.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	_, _, err := f.conn.WriteMsgUnix(b, oob, nil)
	return err
}

// reply reads the reply to req and returns its payload.
func (f *frontend) reply(req uint32) []byte {
	f.t.Helper()
	var h [headerSize]byte
	f.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadFull(f.conn, h[:])
	require.NoError(f.t, err, "reply to %s", reqName(req))
	require.Equal(f.t, req, le.Uint32(h[:]))
	require.Equal(f.t, uint32(flagVersion|flagReply), le.Uint32(h[4:]))
	p := make([]byte, le.Uint32(h[8:]))
	_, err = io.ReadFull(f.conn, p)
	require.NoError(f.t, err)
	return p
}

// do sends a request that needs no reply, asking for an ack when
// REPLY_ACK was negotiated, and checks it.
func (f *frontend) do(req uint32, payload []byte, fds ...int) {
	f.t.Helper()
	acked := f.features&bit(featProtocolFeatures) != 0 // the test front-end always acks REPLY_ACK then
	flags := uint32(0)
	if acked {
		flags = flagNeedReply
	}
	require.NoError(f.t, f.send(req, flags, payload, fds...))
	if acked {
		require.Equal(f.t, uint64(0), le.Uint64(f.reply(req)), "ack of %s", reqName(req))
	}
}

// get sends a request that has a reply.
func (f *frontend) get(req uint32, payload []byte) []byte {
	f.t.Helper()
	require.NoError(f.t, f.send(req, 0, payload))
	return f.reply(req)
}

// memTable is SET_MEM_TABLE's payload for the front-end's one region.
func (f *frontend) memTable() []byte {
	p := le.AppendUint32(nil, 1)
	p = le.AppendUint32(p, 0)
	p = le.AppendUint64(p, feGPA)
	p = le.AppendUint64(p, feMemSize)
	p = le.AppendUint64(p, feUVA)
	return le.AppendUint64(p, 0)
}

// handshake negotiates want (masked by what the backend offers) and sets
// up pair 0's two rings, as QEMU does at guest start.
func (f *frontend) handshake(want uint64) {
	f.t.Helper()
	offered := le.Uint64(f.get(reqGetFeatures, nil))
	f.features = want & offered
	if f.features&bit(featProtocolFeatures) != 0 {
		protos := le.Uint64(f.get(reqGetProtocolFeatures, nil))
		require.NoError(f.t, f.send(reqSetProtocolFeatures, 0, u64(protos)))
	}
	f.do(reqSetOwner, nil)
	f.do(reqSetFeatures, u64(f.features))
	f.do(reqSetMemTable, f.memTable(), f.memfd)
	f.hdr = make([]byte, netHdrLen)
	if f.features&(bit(featVersion1)|bit(featNetMRGRxBuf)) != 0 {
		f.hdr = make([]byte, netHdrMrgLen)
	}
	f.setupRing(0, f.rx, 0)
	f.setupRing(1, f.tx, 0)
}

// setupRing sends ring i's size, base, addresses, eventfds and enable.
func (f *frontend) setupRing(i uint32, d *drvRing, base uint16) {
	f.t.Helper()
	f.do(reqSetVringNum, state(i, uint32(d.num)))
	f.do(reqSetVringBase, state(i, uint32(base)))
	a := le.AppendUint32(le.AppendUint32(nil, i), 0)
	a = le.AppendUint64(a, feUVA+uint64(d.desc))
	a = le.AppendUint64(a, feUVA+uint64(d.used))
	a = le.AppendUint64(a, feUVA+uint64(d.avail))
	a = le.AppendUint64(a, 0)
	f.do(reqSetVringAddr, a)
	f.do(reqSetVringKick, u64(uint64(i)), f.kick[i])
	f.do(reqSetVringCall, u64(uint64(i)), f.call[i])
	if f.features&bit(featProtocolFeatures) != 0 {
		f.do(reqSetVringEnable, state(i, 1))
	}
}

// waitClosed waits until the backend closed the connection.
func (f *frontend) waitClosed() {
	f.t.Helper()
	f.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [64]byte
	for {
		_, err := f.conn.Read(b[:])
		if err != nil {
			require.True(f.t, errors.Is(err, io.EOF) || errors.Is(err, unix.ECONNRESET), "connection not closed: %v", err)
			return
		}
	}
}

// portRig is a port with its queues open on one pool.
type portRig struct {
	p    *Port
	sock string
	pool *pipeline.Pool
	rx   []pipeline.RxQueue
	tx   []pipeline.TxQueue
	ids  []pipeline.BufID
}

func newPortRig(t testing.TB, cfg Config) *portRig {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "vm"
	}
	if cfg.Socket == "" {
		cfg.Socket = filepath.Join(t.TempDir(), "vhu.sock")
	}
	if cfg.Logger == nil && !testing.Verbose() {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p, err := New(cfg)
	require.NoError(t, err)
	pool, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 1024})
	require.NoError(t, err)
	r := &portRig{p: p, sock: cfg.Socket, pool: pool, ids: make([]pipeline.BufID, pipeline.VectorSize)}
	t.Cleanup(func() {
		r.closeQueues(t)
		if err := p.Close(); err != nil && r.rx != nil {
			t.Errorf("close port: %v", err)
		}
		require.Equal(t, pool.Size(), pool.Available(), "buffers leaked")
		pool.Close()
		_, err := os.Lstat(cfg.Socket)
		require.ErrorIs(t, err, os.ErrNotExist, "socket removed")
	})
	for q := range p.Info().RxQueues {
		rq, err := p.OpenRx(q, pool)
		require.NoError(t, err)
		tq, err := p.OpenTx(q, pool)
		require.NoError(t, err)
		r.rx, r.tx = append(r.rx, rq), append(r.tx, tq)
	}
	return r
}

func (r *portRig) closeQueues(t testing.TB) {
	for _, q := range r.rx {
		q.Close()
	}
	for _, q := range r.tx {
		q.Close()
	}
}

// recv polls rx queue q until want frames came or the deadline passed.
func (r *portRig) recv(t testing.TB, q, want int) [][]byte {
	t.Helper()
	var out [][]byte
	for end := time.Now().Add(5 * time.Second); len(out) < want && time.Now().Before(end); {
		n, err := r.rx[q].Rx(r.ids)
		require.NoError(t, err)
		for _, id := range r.ids[:n] {
			out = append(out, append([]byte(nil), r.pool.Packet(id)...))
		}
		r.pool.FreeN(r.ids[:n])
		if n == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	return out
}

// send transmits frames on tx queue q.
func (r *portRig) send(t testing.TB, q int, frames ...[]byte) int {
	t.Helper()
	ids := make([]pipeline.BufID, len(frames))
	require.Equal(t, len(frames), r.pool.AllocN(ids))
	for i, f := range frames {
		require.True(t, r.pool.SetPacket(ids[i], f))
	}
	sent, err := r.tx[q].Tx(ids)
	require.NoError(t, err)
	return sent
}

// waitStatus waits until cond holds for the port's status.
func (r *portRig) waitStatus(t testing.TB, what string, cond func(Status) bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if cond(r.p.Status()) {
			return
		}
	}
	t.Fatalf("port never %s: %+v", what, r.p.Status())
}

// openFDs counts this process's open descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	// Files earlier tests dropped are closed by finalizers: run them
	// first, or they close (or not) in the middle of a count. And the
	// count waits (Eventually) for closes that happen on other goroutines.
	runtime.GC()
	runtime.GC()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

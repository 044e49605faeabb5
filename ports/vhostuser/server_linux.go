package vhostuser

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// server accepts front-ends on the port's socket, one at a time, and feeds
// their requests to the backend. It is the port's one goroutine: started
// by New, stopped by Port.Close. A front-end that connects while another
// is served waits in the listen backlog until that one goes.
type server struct {
	b       *backend
	log     *slog.Logger
	c       *ctlCounters
	ln      *net.UnixListener
	conn    atomic.Pointer[net.UnixConn] // stored under pmu
	closing atomic.Bool
	stopc   chan struct{} // closed by stop
	done    chan struct{}

	// inherited is the connection of a port adopted from another process,
	// served first, without a new connection's reset (handover_linux.go).
	inherited *net.UnixConn
	released  atomic.Bool // Port.Release: the descriptors live on elsewhere

	// Pausing (Port.Handover, and an adopted port until Restore): the
	// goroutine reads no request and accepts no connection between pause
	// and resume. It parks at a checkpoint before each message and each
	// accept; pause sets past deadlines on the listener and the
	// connection to bring it there from a blocked read or accept.
	pmu     sync.Mutex
	paused  bool
	parked  bool          // the goroutine reached a checkpoint in this pause
	parkedc chan struct{} // closed when it does
	resumec chan struct{} // closed by resume
}

// newServer makes the server of a listener; started by go s.run().
func newServer(b *backend, log *slog.Logger, c *ctlCounters, ln *net.UnixListener) *server {
	return &server{b: b, log: log, c: c, ln: ln, stopc: make(chan struct{}), done: make(chan struct{})}
}

// listen creates the socket (replacing a stale one) with mode perm.
func listen(path string, perm os.FileMode) (*net.UnixListener, error) {
	if err := socketDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: %w", path, ErrSocketInUse)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, perm); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return ln, nil
}

// socketDir makes sure the socket's directory exists (creating it, mode
// 0755, if missing) and that nobody else could swap the socket in it: it
// must be a directory, not a link, owned by root or this user, and not
// writable by others unless sticky (as /tmp is).
func socketDir(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create socket directory: %w", err)
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("socket directory %s belongs to uid %d", dir, st.Uid)
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&os.ModeSticky == 0 {
		return fmt.Errorf("socket directory %s is writable by others", dir)
	}
	return nil
}

func (s *server) run() {
	defer close(s.done)
	if c := s.inherited; c != nil {
		s.inherited = nil
		s.serve(c, true)
	}
	for !s.closing.Load() {
		s.checkpoint()
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			if s.closing.Load() {
				return
			}
			if errors.Is(err, os.ErrDeadlineExceeded) { // a pause
				continue
			}
			s.log.Warn("vhost-user: accept", "port", s.b.name, "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		s.serve(conn, false)
	}
}

// serve runs one connection to its end, then releases everything it set
// up, ready for the next front-end (a VMM that restarts reconnects). An
// inherited connection keeps the state the backend was given.
func (s *server) serve(conn *net.UnixConn, inherited bool) {
	s.pmu.Lock()
	s.conn.Store(conn)
	if s.paused { // pause ran before the Store: it set no deadline on conn
		conn.SetReadDeadline(time.Now())
	}
	s.pmu.Unlock()
	if s.closing.Load() { // stop ran before the Store: it cannot cut conn
		conn.Close()
		return
	}
	if !inherited {
		s.b.connect()
		s.log.Info("vhost-user front-end connected", "port", s.b.name)
	}
	err := s.readLoop(conn)
	switch {
	case s.released.Load():
		s.log.Info("vhost-user port handed over", "port", s.b.name)
	case errors.Is(err, ErrProtocol):
		s.c.protocolErrors.Add(1)
		s.log.Warn("vhost-user front-end dropped", "port", s.b.name, "err", err)
	case s.closing.Load(), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		s.log.Info("vhost-user front-end gone", "port", s.b.name)
	default:
		s.log.Warn("vhost-user front-end gone", "port", s.b.name, "err", err)
	}
	s.pmu.Lock()
	s.conn.Store(nil)
	s.pmu.Unlock()
	s.b.disconnect()
	conn.Close()
}

// readLoop reads requests, hands them to the backend and writes replies
// until the connection ends or a request is malformed. Before each
// request it passes a checkpoint, where it waits while the server is
// paused.
func (s *server) readLoop(conn *net.UnixConn) error {
	buf := make([]byte, headerSize+maxPayload)
	oob := make([]byte, unix.CmsgSpace(4*(maxFDs+1)))
	for {
		s.checkpoint()
		m, err := readMessage(conn, buf, oob)
		if errors.Is(err, errPaused) {
			continue
		}
		if err != nil {
			return err
		}
		reply, err := s.b.handle(m)
		closeFDs(s.b.sys, m.fds)
		if err != nil {
			return err
		}
		if reply != nil {
			// A front-end that stops reading its replies is dropped.
			conn.SetWriteDeadline(time.Now().Add(replyTimeout))
			if _, err := conn.Write(reply); err != nil {
				return err
			}
		}
	}
}

// readMessage reads one request and the descriptors that came with it,
// and checks its shape. On error every descriptor received is closed.
func readMessage(conn *net.UnixConn, buf, oob []byte) (*message, error) {
	n, oobn, flags, _, err := conn.ReadMsgUnix(buf[:headerSize], oob)
	if n <= 0 && oobn <= 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, errPaused // nothing was read: the request waits in the socket
	}
	if n == 0 && err == nil {
		err = io.EOF
	}
	var fds []int
	if oobn > 0 {
		fds = parseRights(oob[:oobn])
	}
	fail := func(err error) (*message, error) {
		closeFDs(linuxSys{}, fds)
		return nil, err
	}
	if err != nil {
		return fail(err)
	}
	if flags&unix.MSG_CTRUNC != 0 {
		return fail(protoErr("more than %d file descriptors in one message", maxFDs))
	}
	if n < headerSize {
		if err := readRest(conn, buf[n:headerSize]); err != nil {
			return fail(err)
		}
	}
	h, err := parseHeader(buf[:headerSize])
	if err != nil {
		return fail(err)
	}
	payload := buf[headerSize : headerSize+int(h.size)]
	if err := readRest(conn, payload); err != nil {
		return fail(err)
	}
	if err := checkShape(h, payload, len(fds)); err != nil {
		return fail(err)
	}
	return &message{hdr: h, payload: payload, fds: fds}, nil
}

// errPaused: a pause cut a read before it got any byte.
var errPaused = errors.New("vhostuser: paused")

// readRest reads the rest of a message whose first bytes came. A pause
// that cuts it (a deadline set meanwhile) does not: the message is read
// to its end, and the reader pauses before the next.
func readRest(conn *net.UnixConn, b []byte) error {
	for len(b) > 0 {
		n, err := conn.Read(b)
		b = b[n:]
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			conn.SetReadDeadline(time.Time{})
		case err == io.EOF && len(b) > 0:
			return io.ErrUnexpectedEOF
		case err != nil && len(b) > 0:
			return err
		}
	}
	return nil
}

// parseRights returns the descriptors of SCM_RIGHTS messages in oob.
func parseRights(oob []byte) []int {
	cmsgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range cmsgs {
		if f, err := unix.ParseUnixRights(&cmsgs[i]); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds
}

// replyTimeout bounds how long a reply may wait for the front-end to read.
const replyTimeout = 5 * time.Second

// stop ends the goroutine: no new connection is accepted, the current one
// is cut (a read or write in progress returns) and torn down. The socket
// file is removed.
func (s *server) stop() {
	s.closing.Store(true)
	close(s.stopc)
	s.ln.Close()
	if c := s.conn.Load(); c != nil {
		c.Close()
	}
	<-s.done
	if c := s.inherited; c != nil { // the goroutine never ran
		c.Close()
	}
}

// pause stops the goroutine at its next checkpoint and waits until it is
// there (within wait): after it returns, no request is read and no
// connection accepted until resume. A request being handled is handled
// first (its reply sent).
func (s *server) pause(wait time.Duration) error {
	s.pmu.Lock()
	if !s.paused {
		s.paused, s.parked = true, false
		s.parkedc, s.resumec = make(chan struct{}), make(chan struct{})
		s.ln.SetDeadline(time.Now())
		if c := s.conn.Load(); c != nil {
			c.SetReadDeadline(time.Now())
		}
	}
	parked := s.parkedc
	s.pmu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-parked:
		return nil
	case <-s.done:
		return net.ErrClosed
	case <-t.C:
		s.resume()
		return errors.New("the front-end is in the middle of a request")
	}
}

// pauseAtStart makes a server that is not running yet start paused.
func (s *server) pauseAtStart() {
	s.paused = true
	s.parkedc, s.resumec = make(chan struct{}), make(chan struct{})
}

// resume lets the goroutine go on reading and accepting.
func (s *server) resume() {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if !s.paused {
		return
	}
	s.paused = false
	close(s.resumec)
	s.ln.SetDeadline(time.Time{})
	if c := s.conn.Load(); c != nil {
		c.SetReadDeadline(time.Time{})
	}
}

// checkpoint is where the goroutine waits while the server is paused.
func (s *server) checkpoint() {
	s.pmu.Lock()
	if !s.paused || s.closing.Load() {
		s.pmu.Unlock()
		return
	}
	if !s.parked {
		s.parked = true
		close(s.parkedc)
	}
	resumed := s.resumec
	s.pmu.Unlock()
	select {
	case <-resumed:
	case <-s.stopc:
	}
}

// drop cuts the current connection (a worker found guest memory gone).
// The goroutine then tears it down and waits for the next front-end.
func (s *server) drop() {
	if c := s.conn.Load(); c != nil {
		c.Close()
	}
}

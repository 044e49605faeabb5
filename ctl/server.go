package ctl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// ServerConfig configures the control socket.
type ServerConfig struct {
	// Path of the unix socket.
	Path string
	// GID, if >= 0, makes the socket group-owned by it with mode 0660 and
	// lets its members connect; -1 (default via NewServerConfig) is root
	// only, mode 0600.
	GID int
	// MaxRequest is the longest request line in bytes (default 1 MiB).
	MaxRequest int
	// MaxRootRequest is the longest request line of root (uid 0), who
	// sends the large batches (Request.Batch; default 16 MiB if
	// MaxRequest is defaulted too, else MaxRequest; never below it).
	MaxRootRequest int
	// ReadTimeout bounds the wait for each request line (default 10 s).
	ReadTimeout time.Duration
	// HandlerTimeout bounds each command's run (default 30 s).
	HandlerTimeout time.Duration
	// MaxClients bounds concurrent connections (default 256).
	MaxClients int
	// RootReserve of them are kept for root (uid 0): other users together
	// get at most MaxClients-RootReserve, so that clients of the control
	// group, however many, never lock the administrator out (default
	// MaxClients/16, at least 1).
	RootReserve int
	// MaxPerUID bounds one non-root user's connections (default
	// MaxClients/4, at least 1).
	MaxPerUID int
	Logger    *slog.Logger
}

// Server serves a Registry on a unix socket.
type Server struct {
	cfg ServerConfig
	reg *Registry
	ln  *net.UnixListener

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	total  int            // admitted connections
	others int            // admitted connections of non-root users
	perUID map[uint32]int // admitted connections per non-root uid
	closed bool
	wg     sync.WaitGroup
	// accept takes the next connection (the listener's; tests replace
	// it to feed errors).
	accept func() (*net.UnixConn, error)
}

// ErrInUse means another daemon answers on the socket path.
var ErrInUse = errors.New("ctl: socket in use by a running daemon")

// Listen creates the socket (replacing a stale one) with the configured
// owner and mode.
func Listen(cfg ServerConfig, reg *Registry) (*Server, error) {
	if cfg.Path == "" {
		return nil, errors.New("ctl: no socket path")
	}
	if cfg.MaxRequest <= 0 {
		cfg.MaxRequest = 1 << 20
		if cfg.MaxRootRequest <= 0 {
			cfg.MaxRootRequest = 16 << 20
		}
	}
	cfg.MaxRootRequest = max(cfg.MaxRootRequest, cfg.MaxRequest)
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.HandlerTimeout <= 0 {
		cfg.HandlerTimeout = 30 * time.Second
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 256
	}
	if cfg.RootReserve <= 0 {
		cfg.RootReserve = max(1, cfg.MaxClients/16)
	}
	cfg.RootReserve = min(cfg.RootReserve, cfg.MaxClients)
	if cfg.MaxPerUID <= 0 {
		cfg.MaxPerUID = max(1, cfg.MaxClients/4)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := removeStale(cfg.Path); err != nil {
		return nil, err
	}
	ln, err := listenPrivate(cfg.Path, cfg.GID)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, reg: reg, ln: ln, conns: map[net.Conn]struct{}{}, perUID: map[uint32]int{}}
	s.accept = ln.AcceptUnix
	return s, nil
}

// removeStale deletes a socket file nobody listens on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ctl: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("ctl: %s exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%w: %s", ErrInUse, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("ctl: probing %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("ctl: removing stale socket: %w", err)
	}
	return nil
}

// Serve accepts connections until Close. It returns nil after Close.
func (s *Server) Serve() error {
	var backoff time.Duration
	for {
		c, err := s.accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if acceptRetried(err) {
				// Out of descriptors or memory (a flood of connections
				// to this or another listener of the process): the
				// switch goes on; accept again a little later, as
				// net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				if backoff == time.Second || backoff == 5*time.Millisecond {
					s.cfg.Logger.Warn("control socket: accept failed; retrying", "err", err, "in", backoff)
				}
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("ctl: accept: %w", err)
		}
		backoff = 0
		uid, err := peerAllowed(c, s.cfg.GID)
		if err != nil {
			s.cfg.Logger.Warn("control connection refused", "err", err)
			s.refuse(c, Errorf(CodeDenied, "%v", err))
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		if busy := s.admitLocked(uid); busy != nil {
			s.mu.Unlock()
			s.refuse(c, busy)
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handle(c, uid)
	}
}

// admitLocked counts a new connection of uid in, or says why not: root
// may use every slot, other users share all but RootReserve of them, at
// most MaxPerUID each. Caller holds mu.
func (s *Server) admitLocked(uid uint32) *Error {
	if s.total >= s.cfg.MaxClients {
		return Errorf(CodeBusy, "too many clients (%d)", s.cfg.MaxClients)
	}
	if uid != 0 {
		if s.others >= s.cfg.MaxClients-s.cfg.RootReserve {
			return Errorf(CodeBusy, "too many clients (%d; %d more are kept for root)", s.others, s.cfg.RootReserve)
		}
		if s.perUID[uid] >= s.cfg.MaxPerUID {
			return Errorf(CodeBusy, "too many clients of uid %d (%d per user)", uid, s.cfg.MaxPerUID)
		}
		s.others++
		s.perUID[uid]++
	}
	s.total++
	return nil
}

// releaseLocked counts a connection of uid out. Caller holds mu.
func (s *Server) releaseLocked(uid uint32) {
	s.total--
	if uid != 0 {
		s.others--
		if s.perUID[uid]--; s.perUID[uid] == 0 {
			delete(s.perUID, uid)
		}
	}
}

func (s *Server) refuse(c net.Conn, e *Error) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	json.NewEncoder(c).Encode(Response{V: Version, Error: e})
	c.Close()
}

// handle serves one admitted connection: requests one line at a time
// until EOF, an oversized or late request, or server close.
func (s *Server) handle(c *net.UnixConn, uid uint32) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.releaseLocked(uid)
		s.mu.Unlock()
		s.wg.Done()
	}()
	r := bufio.NewReaderSize(c, 4096)
	enc := json.NewEncoder(c)
	limit := s.cfg.MaxRequest
	if uid == 0 {
		limit = s.cfg.MaxRootRequest
	}
	for {
		c.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
		line, err := readLine(r, limit)
		if err != nil {
			switch {
			case errors.Is(err, errTooLarge):
				s.reply(c, enc, Response{V: Version, Error: Errorf(CodeTooLarge, "request longer than %d bytes", limit)})
			case isTimeout(err) && len(line) > 0:
				s.reply(c, enc, Response{V: Version, Error: Errorf(CodeTimeout, "request not complete within %v", s.cfg.ReadTimeout)})
			}
			return
		}
		req, derr := DecodeRequest(line)
		if derr != nil {
			if !s.reply(c, enc, Response{V: Version, Error: derr}) {
				return
			}
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.HandlerTimeout)
		resp := s.reg.Dispatch(ctx, &req)
		cancel()
		if !s.reply(c, enc, resp) {
			return
		}
	}
}

// DecodeRequest decodes one request line: a JSON object with only
// Request's fields. Anything else is a CodeBadRequest error. The version
// and the command are the registry's to check (Dispatch).
func DecodeRequest(line []byte) (Request, *Error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, Errorf(CodeBadRequest, "malformed request: %v", err)
	}
	return req, nil
}

func (s *Server) reply(c net.Conn, enc *json.Encoder, r Response) bool {
	c.SetWriteDeadline(time.Now().Add(s.cfg.ReadTimeout))
	return enc.Encode(r) == nil
}

var errTooLarge = errors.New("request too large")

// readLine reads one '\n'-terminated line of at most max bytes.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > max+1 {
			return line, errTooLarge
		}
		if err == nil {
			return line, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				return line, nil // last request without a newline
			}
			return line, err
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// acceptRetried reports whether an accept error is a shortage that
// passes (descriptors, memory, a connection reset before it was taken).
func acceptRetried(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Close stops accepting, ends every connection, waits for handlers and
// removes the socket file. A command being carried out answers first:
// connections are shut for reading, not closed, so an idle one ends at
// once and a busy one when its reply is written (a client told nothing
// could not know whether its command was done).
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for c := range s.conns {
		if uc, ok := c.(*net.UnixConn); ok {
			uc.CloseRead()
		} else {
			c.Close()
		}
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// Addr is the socket path.
func (s *Server) Addr() string { return s.cfg.Path }

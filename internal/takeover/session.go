//go:build unix

package takeover

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// Peer identifies a process in the handshake.
type Peer struct {
	PID   int    `json:"pid"`
	Build string `json:"build,omitempty"` // free text: a version, a commit
}

// Giver is what the running process lets a successor take. Serve calls
// Export, then StopPolling when the taker is ready, and Resume if the
// takeover fails after Export: after Resume the giver runs as before.
type Giver interface {
	// Export freezes the configuration (no command changes it until
	// Resume or exit) and returns the state to hand over and the files
	// whose duplicates the taker gets (ports' descriptors, locks,
	// listeners). The giver keeps its own and keeps polling.
	Export() (state []byte, files []*os.File, err error)
	// StopPolling stops the data plane: once it returns, the giver no
	// longer reads or writes the handed-over descriptors. It returns the
	// state only a stopped data plane can tell (which buffers are free,
	// what each AF_XDP socket holds), for the taker's StopGiver.
	StopPolling() (late []byte, err error)
	// Resume undoes StopPolling (if it ran) and Export's freeze.
	Resume()
}

// Listener is the running process's takeover socket.
type Listener struct {
	ln      *net.UnixListener
	path    string
	timeout time.Duration
}

// Listen makes the takeover socket at path (mode 0600: root's, or the
// daemon user's), replacing a stale one nobody listens on. timeout
// bounds each wait for the taker (0: DefaultTimeout).
func Listen(path string, timeout time.Duration) (*Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("takeover: %s: another process listens on it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("takeover: removing stale %s: %w", path, err)
	}
	old := umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("takeover: listen: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	return &Listener{ln: ln, path: path, timeout: timeout}, nil
}

// Path is the socket's path.
func (l *Listener) Path() string { return l.path }

// Close stops listening and removes the socket file.
func (l *Listener) Close() error { return l.ln.Close() }

// Accept waits for a taker whose credentials are the same user's as this
// process (or root's); others are turned away and not returned.
func (l *Listener) Accept() (*Conn, error) {
	for {
		c, err := l.ln.AcceptUnix()
		if err != nil {
			return nil, err
		}
		if err := checkPeer(c); err != nil {
			c.Close()
			continue
		}
		return newConn(c, l.timeout), nil
	}
}

// Serve runs the giver's side of one takeover on c and closes c. It
// returns nil once the taker has committed: its data plane runs on the
// handed-over descriptors, and the caller must exit without destroying
// them (no tap deletion, no veth removal). On any other outcome it
// returns why, having called g.Resume if Export had run: the caller keeps
// running.
func Serve(c *Conn, self Peer, g Giver) (err error) {
	defer c.Close()
	p, err := c.expect(TypeHello)
	if err != nil {
		var ve *VersionError
		if errors.As(err, &ve) {
			c.refuse(fmt.Sprintf("state format version %d here, %d in the taker", Version, ve.Theirs))
		}
		return err
	}
	var taker Peer
	if err := json.Unmarshal(p, &taker); err != nil {
		c.refuse("malformed hello")
		return &ProtocolError{Msg: "hello: " + err.Error()}
	}
	state, files, err := g.Export()
	if err != nil {
		c.refuse("export failed: " + err.Error())
		return fmt.Errorf("takeover: export: %w", err)
	}
	exported := true
	defer func() {
		if err != nil && exported {
			g.Resume()
		}
	}()
	hello, _ := json.Marshal(self)
	if err := c.send(TypeWelcome, hello, nil); err != nil {
		return err
	}
	for len(files) > 0 {
		n := min(len(files), MaxFiles)
		if err := c.send(TypeFiles, nil, files[:n]); err != nil {
			return err
		}
		files = files[n:]
	}
	if err := c.send(TypeState, state, nil); err != nil {
		return err
	}
	// The taker builds its data plane now: allow it the longer time.
	c.timeout *= 3
	if _, err := c.expect(TypeReady); err != nil {
		return err
	}
	c.timeout /= 3
	late, err := g.StopPolling()
	if err != nil {
		return fmt.Errorf("takeover: stopping the data plane: %w", err)
	}
	if err := c.send(TypeStopped, late, nil); err != nil {
		return err
	}
	if _, err := c.expect(TypeCommit); err != nil {
		return err
	}
	c.send(TypeBye, nil, nil) // the taker runs whether or not it reads this
	return nil
}

// Session is the taker's side of a takeover.
type Session struct {
	c     *Conn
	giver Peer
	state []byte
	files []*os.File
	done  bool
}

// Take connects to the running process's takeover socket at path, checks
// versions and receives its state and files. On error nothing is left
// open and the running process keeps running.
func Take(path string, self Peer, timeout time.Duration) (*Session, error) {
	uc, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("takeover: no running vswitchd to take over at %s: %w", path, err)
	}
	c := newConn(uc, timeout)
	s := &Session{c: c}
	if err := s.handshake(self); err != nil {
		for _, f := range s.files {
			f.Close()
		}
		c.Close()
		return nil, err
	}
	return s, nil
}

func (s *Session) handshake(self Peer) error {
	hello, _ := json.Marshal(self)
	if err := s.c.send(TypeHello, hello, nil); err != nil {
		return err
	}
	p, err := s.c.expect(TypeWelcome)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(p, &s.giver); err != nil {
		return &ProtocolError{Msg: "welcome: " + err.Error()}
	}
	for {
		h, p, files, err := s.c.recv()
		if err != nil {
			return err
		}
		switch h.Type {
		case TypeFiles:
			s.files = append(s.files, files...)
		case TypeState:
			s.state = p
			return nil
		default:
			return unexpected(h.Type, TypeFiles, TypeState)
		}
	}
}

// Giver is the running process that hands over.
func (s *Session) Giver() Peer { return s.giver }

// State is the giver's exported state.
func (s *Session) State() []byte { return s.state }

// Files are the giver's files, in the order it exported them. They
// belong to the caller (Abort does not close them).
func (s *Session) Files() []*os.File { return s.files }

// StopGiver tells the giver that this process is ready and waits until
// it has stopped polling; it returns the giver's late state (what
// StopPolling returned). A caller whose ports allow two readers (tap,
// AF_PACKET) starts its own data plane before, so that forwarding never
// pauses; one whose ports allow one (AF_XDP rings) after, with the late
// state.
func (s *Session) StopGiver() ([]byte, error) {
	if err := s.c.send(TypeReady, nil, nil); err != nil {
		return nil, err
	}
	return s.c.expect(TypeStopped)
}

// Commit tells the giver that this process runs: the giver exits. It
// closes the session.
func (s *Session) Commit() error {
	defer s.c.Close()
	s.done = true
	if err := s.c.send(TypeCommit, nil, nil); err != nil {
		return err
	}
	if _, err := s.c.expect(TypeBye); err != nil && !errors.Is(err, ErrPeerGone) {
		return err
	}
	return nil
}

// Abort abandons the takeover: the giver resumes (polling again if it had
// stopped). It closes the session; a session already committed is left
// as it is.
func (s *Session) Abort(reason string) {
	if s.done {
		return
	}
	s.done = true
	s.c.send(TypeAbort, []byte(reason), nil)
	s.c.Close()
}

//go:build unix

package takeover

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeGiver records what Serve asked of it.
type fakeGiver struct {
	mu                         sync.Mutex
	state                      []byte
	files                      []*os.File
	exportErr                  error
	exported, stopped, resumed int
}

func (g *fakeGiver) Export() ([]byte, []*os.File, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.exported++
	return g.state, g.files, g.exportErr
}

func (g *fakeGiver) StopPolling() ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped++
	return []byte(`{"late":true}`), nil
}

func (g *fakeGiver) Resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.resumed++
}

func (g *fakeGiver) counts() (int, int, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.exported, g.stopped, g.resumed
}

// serveOne listens on a fresh socket and serves one takeover; the result
// comes on the channel.
func serveOne(t *testing.T, g Giver) (string, <-chan error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "takeover.sock")
	ln, err := Listen(path, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	res := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			res <- err
			return
		}
		res <- Serve(c, Peer{PID: 1, Build: "old"}, g)
	}()
	return path, res
}

func pipes(t *testing.T, n int) (r, w []*os.File) {
	t.Helper()
	for range n {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pr.Close(); pw.Close() })
		r, w = append(r, pr), append(w, pw)
	}
	return r, w
}

func wait(t *testing.T, res <-chan error) error {
	t.Helper()
	select {
	case err := <-res:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
		return nil
	}
}

// TestTakeover: the whole exchange; every file arrives (300: two files
// messages) and is the same open file as the giver's.
func TestTakeover(t *testing.T) {
	r, w := pipes(t, 300)
	g := &fakeGiver{state: []byte(`{"tables":1}`), files: w}
	path, res := serveOne(t, g)
	s, err := Take(path, Peer{PID: 2, Build: "new"}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Giver(); got.PID != 1 || got.Build != "old" {
		t.Errorf("giver %+v", got)
	}
	if string(s.State()) != `{"tables":1}` {
		t.Errorf("state %q", s.State())
	}
	if len(s.Files()) != len(w) {
		t.Fatalf("%d files, want %d", len(s.Files()), len(w))
	}
	for i, f := range s.Files() {
		if _, err := f.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(r[i], b); err != nil || b[0] != byte(i) {
			t.Fatalf("file %d: read %v %v: not the giver's pipe", i, b, err)
		}
		f.Close()
	}
	if e, st, rs := g.counts(); e != 1 || st != 0 || rs != 0 {
		t.Fatalf("before ready: exported %d stopped %d resumed %d", e, st, rs)
	}
	late, err := s.StopGiver()
	if err != nil {
		t.Fatal(err)
	}
	if _, st, _ := g.counts(); st != 1 {
		t.Fatal("giver did not stop polling")
	}
	if string(late) != `{"late":true}` {
		t.Fatalf("late state %q, want the giver's", late)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, res); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, _, rs := g.counts(); rs != 0 {
		t.Error("giver resumed after a commit")
	}
}

// TestAbortResumes: a taker that gives up after the giver stopped makes
// it resume.
func TestAbortResumes(t *testing.T) {
	g := &fakeGiver{state: []byte("{}")}
	path, res := serveOne(t, g)
	s, err := Take(path, Peer{PID: 2}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StopGiver(); err != nil {
		t.Fatal(err)
	}
	s.Abort("ports did not open")
	if err := wait(t, res); !errors.Is(err, ErrPeerGone) {
		t.Fatalf("Serve: %v, want ErrPeerGone", err)
	}
	if _, st, rs := g.counts(); st != 1 || rs != 1 {
		t.Fatalf("stopped %d resumed %d, want 1 1", st, rs)
	}
}

// TestTakerDiesMidHandshake: the taker's connection closes at each step
// (what the kernel does when the process dies); the giver resumes every
// time it had exported, and never stops for good.
func TestTakerDiesMidHandshake(t *testing.T) {
	for _, step := range []string{"after-hello", "after-state", "after-stopped"} {
		t.Run(step, func(t *testing.T) {
			g := &fakeGiver{state: []byte("{}")}
			path, res := serveOne(t, g)
			uc, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			c := newConn(uc, 2*time.Second)
			if err := c.send(TypeHello, []byte(`{"pid":2}`), nil); err != nil {
				t.Fatal(err)
			}
			if step != "after-hello" {
				for {
					h, _, _, err := c.recv()
					if err != nil {
						t.Fatal(err)
					}
					if h.Type == TypeState {
						break
					}
				}
			}
			if step == "after-stopped" {
				c.send(TypeReady, nil, nil)
				if _, err := c.expect(TypeStopped); err != nil {
					t.Fatal(err)
				}
			}
			c.Close()
			if err := wait(t, res); !errors.Is(err, ErrPeerGone) {
				t.Fatalf("Serve: %v, want ErrPeerGone", err)
			}
			e, st, rs := g.counts()
			if e != rs {
				t.Fatalf("exported %d, resumed %d", e, rs)
			}
			if step == "after-stopped" && st != 1 {
				t.Fatalf("stopped %d", st)
			}
		})
	}
}

// TestGiverDiesMidHandshake: a giver that vanishes before the state is
// sent makes Take fail with ErrPeerGone and leave nothing open.
func TestGiverDiesMidHandshake(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.sock")
	ln, err := Listen(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, w := pipes(t, 3)
	done := make(chan struct{})
	defer func() { <-done }()
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.expect(TypeHello)
		c.send(TypeWelcome, []byte(`{"pid":1}`), nil)
		c.send(TypeFiles, nil, w)
		c.Close() // dies before the state
	}()
	if _, err := Take(path, Peer{PID: 2}, time.Second); !errors.Is(err, ErrPeerGone) {
		t.Fatalf("Take: %v, want ErrPeerGone", err)
	}
}

// TestFDKeepsNonBlocking: passing a non-blocking descriptor and turning
// it into a plain one leaves it non-blocking on both sides (os.File.Fd
// would not).
func TestFDKeepsNonBlocking(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[0]), "a")
	defer f.Close()
	defer unix.Close(fds[1])
	g := &fakeGiver{state: []byte("{}"), files: []*os.File{f}}
	path, res := serveOne(t, g)
	s, err := Take(path, Peer{PID: 2}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort("test over")
	fd, err := FD(s.Files()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK == 0 {
		t.Fatalf("flags %#x %v: blocking", fl, err)
	}
	if _, err := unix.Read(fd, make([]byte, 8)); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("read on an empty socket: %v, want EAGAIN", err)
	}
	s.Abort("done")
	wait(t, res)
}

// TestVersionMismatch: a taker of another state-format version is
// refused, and sees the refusal with the giver's version; a giver of
// another version is refused by the taker.
func TestVersionMismatch(t *testing.T) {
	g := &fakeGiver{state: []byte("{}")}
	path, res := serveOne(t, g)
	uc, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	h := Header{Version: Version + 1, Type: TypeHello, Len: 2}
	hb := h.Marshal()
	uc.Write(append(hb[:], "{}"...))
	c := newConn(uc, 2*time.Second)
	_, _, _, err = c.recv()
	var re *RefusedError
	if !errors.As(err, &re) || re.Version != Version {
		t.Fatalf("taker got %v, want a refusal from version %d", err, Version)
	}
	var ve *VersionError
	if err := wait(t, res); !errors.As(err, &ve) || ve.Theirs != Version+1 {
		t.Fatalf("Serve: %v, want VersionError", err)
	}
	if e, _, _ := g.counts(); e != 0 {
		t.Fatal("giver exported for a taker of another version")
	}

	// The other way: a giver of another version.
	path2 := filepath.Join(t.TempDir(), "t.sock")
	ln, err := Listen(path2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.expect(TypeHello)
		h := Header{Version: Version + 7, Type: TypeWelcome, Len: 2}
		hb := h.Marshal()
		c.c.Write(append(hb[:], "{}"...))
		c.recv() // until the taker hangs up
	}()
	if _, err := Take(path2, Peer{PID: 2}, time.Second); !errors.As(err, &ve) || ve.Theirs != Version+7 {
		t.Fatalf("Take: %v, want VersionError", err)
	}
}

// TestExportFails: the giver's refusal reaches the taker as RefusedError.
func TestExportFails(t *testing.T) {
	g := &fakeGiver{exportErr: errors.New("a command is running")}
	path, res := serveOne(t, g)
	_, err := Take(path, Peer{PID: 2}, 2*time.Second)
	var re *RefusedError
	if !errors.As(err, &re) || !bytes.Contains([]byte(re.Reason), []byte("a command is running")) {
		t.Fatalf("Take: %v", err)
	}
	if err := wait(t, res); err == nil {
		t.Fatal("Serve succeeded")
	}
	if _, _, rs := g.counts(); rs != 0 {
		t.Fatal("resumed without an export")
	}
}

// socketpair returns two connected Conns.
func socketpair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var cs [2]*Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "sp")
		nc, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = newConn(nc.(*net.UnixConn), time.Second)
		t.Cleanup(func() { cs[i].Close() })
	}
	return cs[0], cs[1]
}

// TestMalformed: every malformed message is a typed error, and any
// descriptors it carried are closed.
func TestMalformed(t *testing.T) {
	hdr := func(h Header) []byte { b := h.Marshal(); return b[:] }
	cases := []struct {
		name  string
		raw   []byte
		files int
		want  any
	}{
		{"bad magic", []byte("HTTP/1.1 200"), 0, new(*ProtocolError)},
		{"unknown type", hdr(Header{Version: Version, Type: 77}), 0, new(*ProtocolError)},
		{"huge payload", hdr(Header{Version: Version, Type: TypeState, Len: MaxPayload + 1}), 0, new(*ProtocolError)},
		{"files on state", hdr(Header{Version: Version, Type: TypeState, Files: 1}), 1, new(*ProtocolError)},
		{"fewer files than announced", hdr(Header{Version: Version, Type: TypeFiles, Files: 2}), 1, new(*ProtocolError)},
		{"too many files", hdr(Header{Version: Version, Type: TypeFiles, Files: MaxFiles + 1}), 0, new(*ProtocolError)},
		{"short payload", append(hdr(Header{Version: Version, Type: TypeState, Len: 10}), "abc"...), 0, &ErrPeerGone},
		{"short header", []byte("VSTK\x00"), 0, &ErrPeerGone},
		{"other version", hdr(Header{Version: Version + 1, Type: TypeState}), 0, new(*VersionError)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := socketpair(t)
			_, w := pipes(t, 1)
			var oob []byte
			if tc.files > 0 {
				fds := make([]int, tc.files)
				for i := range fds {
					fds[i] = int(w[0].Fd())
				}
				oob = unix.UnixRights(fds...)
			}
			if _, _, err := a.c.WriteMsgUnix(tc.raw, oob, nil); err != nil {
				t.Fatal(err)
			}
			a.c.CloseWrite()
			_, _, files, err := b.recv()
			if files != nil {
				t.Fatal("files returned with an error")
			}
			switch want := tc.want.(type) {
			case *error:
				if !errors.Is(err, *want) {
					t.Fatalf("got %v, want %v", err, *want)
				}
			default:
				if !errors.As(err, want) {
					t.Fatalf("got %T %v, want %T", err, err, want)
				}
			}
		})
	}
}

// TestMalformedHello: a hello whose payload is not JSON is refused.
func TestMalformedHello(t *testing.T) {
	g := &fakeGiver{state: []byte("{}")}
	path, res := serveOne(t, g)
	uc, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	c := newConn(uc, time.Second)
	c.send(TypeHello, []byte("not json"), nil)
	var re *RefusedError
	if _, _, _, err := c.recv(); !errors.As(err, &re) {
		t.Fatalf("taker got %v", err)
	}
	var pe *ProtocolError
	if err := wait(t, res); !errors.As(err, &pe) {
		t.Fatalf("Serve: %v", err)
	}
}

// TestListenInUse: a second listener on a live socket is refused; a stale
// socket file is replaced.
func TestListenInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.sock")
	ln, err := Listen(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path, 0); err == nil {
		t.Fatal("second listener on a live socket")
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v %v, want 0600", fi.Mode(), err)
	}
	ln.Close()
	ln2, err := Listen(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	ln2.Close()
}

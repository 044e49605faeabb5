//go:build unix

package takeover

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Conn is one end of a takeover connection: framed messages over a unix
// stream socket, descriptors passed with SCM_RIGHTS alongside a header.
// It is used by one goroutine at a time.
type Conn struct {
	c       *net.UnixConn
	timeout time.Duration
	oob     []byte
}

// DefaultTimeout bounds each step's wait for the peer.
const DefaultTimeout = 10 * time.Second

func newConn(c *net.UnixConn, timeout time.Duration) *Conn {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Conn{c: c, timeout: timeout, oob: make([]byte, unix.CmsgSpace(4*(MaxFiles+3)))}
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// send writes one message; files (at most MaxFiles, only with TypeFiles)
// go with the header. The files stay open: the kernel passes duplicates.
func (c *Conn) send(t Type, payload []byte, files []*os.File) error {
	if len(payload) > MaxPayload || len(files) > MaxFiles {
		return fmt.Errorf("takeover: %s of %d bytes and %d files is too large", t, len(payload), len(files))
	}
	h := Header{Version: Version, Type: t, Files: uint8(len(files)), Len: uint32(len(payload))}
	hb := h.Marshal()
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fd, err := rawFD(f)
			if err != nil {
				return fmt.Errorf("takeover: file %d (%s): %w", i, f.Name(), err)
			}
			fds[i] = fd
		}
		oob = unix.UnixRights(fds...)
	}
	c.c.SetWriteDeadline(time.Now().Add(c.timeout))
	n, oobn, err := c.c.WriteMsgUnix(hb[:], oob, nil)
	if err == nil && (n != len(hb) || oobn != len(oob)) {
		err = io.ErrShortWrite
	}
	if err == nil && len(payload) > 0 {
		_, err = c.c.Write(payload)
	}
	if err != nil {
		return c.ioError("sending "+t.String(), err)
	}
	return nil
}

// recv reads one message. A refusal, of any version, comes back as
// *RefusedError; another version's message as *VersionError; a malformed
// one as *ProtocolError. Received files are closed on any error.
func (c *Conn) recv() (Header, []byte, []*os.File, error) {
	c.c.SetReadDeadline(time.Now().Add(c.timeout))
	var hb [HeaderLen]byte
	var files []*os.File
	fail := func(err error) (Header, []byte, []*os.File, error) {
		for _, f := range files {
			f.Close()
		}
		return Header{}, nil, nil, err
	}
	for got := 0; got < HeaderLen; {
		n, oobn, flags, _, err := c.c.ReadMsgUnix(hb[got:], c.oob)
		if oobn > 0 {
			fs, perr := parseRights(c.oob[:oobn])
			files = append(files, fs...)
			if perr == nil && flags&unix.MSG_CTRUNC != 0 {
				perr = &ProtocolError{Msg: "descriptors truncated (more than the header allows)"}
			}
			if perr != nil {
				return fail(perr)
			}
		}
		got += n
		if err != nil || n == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				if got == 0 {
					return fail(fmt.Errorf("%w: connection closed", ErrPeerGone))
				}
				return fail(fmt.Errorf("%w: connection closed inside a header", ErrPeerGone))
			}
			return fail(c.ioError("receiving", err))
		}
	}
	h, err := ParseHeader(hb[:])
	if err != nil {
		return fail(err)
	}
	if int(h.Files) != len(files) {
		return fail(&ProtocolError{Msg: fmt.Sprintf("%s header announces %d files, %d came", h.Type, h.Files, len(files))})
	}
	// Grown as bytes arrive: a header announcing 64 MiB costs nothing
	// until they do.
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, c.c, int64(h.Len))
	payload := buf.Bytes()
	if err == nil && n != int64(h.Len) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fail(fmt.Errorf("%w: connection closed inside a %s payload", ErrPeerGone, h.Type))
		}
		return fail(c.ioError("receiving "+h.Type.String(), err))
	}
	if h.Type == TypeRefuse {
		return fail(&RefusedError{Version: h.Version, Reason: string(payload)})
	}
	if h.Version != Version {
		return fail(&VersionError{Ours: Version, Theirs: h.Version})
	}
	return h, payload, files, nil
}

// expect receives a message of type t (no files unless t is TypeFiles).
func (c *Conn) expect(t Type) ([]byte, error) {
	h, p, files, err := c.recv()
	if err != nil {
		return nil, err
	}
	if h.Type != t {
		for _, f := range files {
			f.Close()
		}
		return nil, unexpected(h.Type, t)
	}
	return p, nil
}

func unexpected(got Type, want ...Type) error {
	if got == TypeAbort {
		return fmt.Errorf("%w: the peer abandoned the takeover", ErrPeerGone)
	}
	return &ProtocolError{Msg: fmt.Sprintf("got %s, want %v", got, want)}
}

// refuse tells the peer why, in the format every version reads.
func (c *Conn) refuse(reason string) {
	c.send(TypeRefuse, []byte(reason), nil)
}

func (c *Conn) ioError(op string, err error) error {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w (%s, %v)", ErrTimeout, op, c.timeout)
	case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF):
		return fmt.Errorf("%w: %s: %v", ErrPeerGone, op, err)
	}
	return fmt.Errorf("takeover: %s: %w", op, err)
}

// rawFD is f's descriptor. Unlike f.Fd it leaves the descriptor's mode
// alone: Fd would make a non-blocking socket or tap blocking, under the
// feet of the giver's workers, which share the open file with it.
func rawFD(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return -1, err
	}
	return fd, nil
}

// FD turns a received file into a plain descriptor the caller owns (for a
// port driver that reads and writes it with its own syscalls): a
// close-on-exec duplicate, made without changing its blocking mode; f is
// closed.
func FD(f *os.File) (int, error) {
	defer f.Close()
	fd, err := rawFD(f)
	if err != nil {
		return -1, err
	}
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("takeover: dup: %w", err)
	}
	return nfd, nil
}

// parseRights turns SCM_RIGHTS control messages into files (close-on-exec
// set). Any other control message is a protocol error; the descriptors
// already taken are returned so the caller closes them.
func parseRights(oob []byte) ([]*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, &ProtocolError{Msg: "control message: " + err.Error()}
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			return files, &ProtocolError{Msg: "control message: " + err.Error()}
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), "takeover-fd"))
		}
	}
	return files, nil
}

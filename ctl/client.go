package ctl

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// DefaultSocket is where vswitchd listens unless told otherwise.
const DefaultSocket = "/run/vswitch/vswitchd.sock"

// Client is a connection to the daemon. Not safe for concurrent use.
type Client struct {
	c       net.Conn
	r       *bufio.Reader
	timeout time.Duration
}

// Dial connects to the daemon's socket. A daemon that is not running is
// reported as CodeUnavail with a message saying so.
func Dial(path string, timeout time.Duration) (*Client, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) || errors.Is(err, os.ErrNotExist) {
			return nil, Errorf(CodeUnavail, "vswitchd is not running (no daemon listens on %s)", path)
		}
		if errors.Is(err, syscall.EACCES) {
			return nil, Errorf(CodeDenied, "no permission to open %s (run as root or as a member of the daemon's group)", path)
		}
		return nil, Errorf(CodeUnavail, "connect to %s: %v", path, err)
	}
	return &Client{c: c, r: bufio.NewReader(c), timeout: timeout}, nil
}

// Call sends one command and decodes its result into out (which may be nil).
func (cl *Client) Call(cmd string, args []string, out any) error {
	return cl.do(Request{V: Version, Cmd: cmd, Args: args}, out)
}

// Batch sends cmds as one transaction (Request.Batch) and decodes the
// list of their results into out (which may be nil; a
// *[]json.RawMessage takes each as it is). If one fails, none is
// applied, and the error is an *Error whose Index names it.
func (cl *Client) Batch(cmds []BatchCommand, out any) error {
	return cl.do(Request{V: Version, Cmd: BatchCmd, Batch: cmds}, out)
}

func (cl *Client) do(req Request, out any) error {
	cmd := req.Cmd
	cl.c.SetDeadline(time.Now().Add(cl.timeout))
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	_, werr := cl.c.Write(append(b, '\n'))
	// Read even if the write failed: a daemon that refuses a connection
	// (denied, busy) says why and hangs up, maybe before our write.
	line, err := cl.r.ReadBytes('\n')
	if err != nil {
		var ne net.Error
		if werr == nil && errors.As(err, &ne) && ne.Timeout() {
			// The daemon has the request and may still carry it out:
			// not "no daemon".
			return Errorf(CodeNoAnswer, "no answer from vswitchd within %v: it may still carry out %s (look before repeating it)", cl.timeout, cmd)
		}
		if werr != nil {
			return Errorf(CodeUnavail, "send: %v", werr)
		}
		// Sent, then the connection ended without an answer (the daemon
		// stopped or crashed meanwhile): the command may have been
		// carried out, so not "no daemon" either.
		return Errorf(CodeNoAnswer, "no answer from vswitchd (%v): it may have carried out %s (look before repeating it)", err, cmd)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return Errorf(CodeBadRequest, "malformed response: %v", err)
	}
	if !resp.OK {
		if resp.Error == nil {
			return Errorf(CodeInternal, "daemon failed without saying why")
		}
		return resp.Error
	}
	if out != nil && len(resp.Result) > 0 {
		if err := json.Unmarshal(resp.Result, out); err != nil {
			return fmt.Errorf("ctl: decode result of %s: %w", cmd, err)
		}
	}
	return nil
}

// Close closes the connection.
func (cl *Client) Close() error { return cl.c.Close() }

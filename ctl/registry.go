package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"
)

// Command is one control command: its name, usage line, argument count
// and handler. Handlers return a JSON-serializable result or an error; an
// error that is not an *Error is reported as CodeInternal.
type Command struct {
	Name    string
	Usage   string // arguments, e.g. "BRIDGE PORT [key=value...]"
	Help    string
	MinArgs int
	MaxArgs int // -1: no limit
	// Batch: the command may be in a batch (Spec.Batch).
	Batch bool
	Run   func(ctx context.Context, args []string) (any, error)
}

// BatchFunc carries out a batch as one transaction (Request.Batch): each
// command is known, may be batched and has the right number of
// arguments (Dispatch checks). It returns the commands' results, or the
// error of the first that failed, an *Error with Index set, after
// undoing the batch.
type BatchFunc func(ctx context.Context, cmds []BatchCommand) ([]any, error)

// Registry maps command names to commands.
type Registry struct {
	cmds  map[string]*Command
	log   *slog.Logger // nil: slog.Default()
	batch BatchFunc    // nil: batches are refused
}

// SetBatch sets what carries out batches.
func (r *Registry) SetBatch(f BatchFunc) { r.batch = f }

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{cmds: map[string]*Command{}} }

// SetLogger sets where Dispatch logs a handler's panic (default:
// slog.Default()).
func (r *Registry) SetLogger(l *slog.Logger) { r.log = l }

// Register adds a command; registering a name twice panics (a programming
// error, found at start-up).
func (r *Registry) Register(c Command) {
	if c.Name == "" || c.Run == nil {
		panic("ctl: command needs a name and a handler")
	}
	if _, dup := r.cmds[c.Name]; dup {
		panic("ctl: command registered twice: " + c.Name)
	}
	r.cmds[c.Name] = &c
}

// Commands lists the registered commands by name.
func (r *Registry) Commands() []Command {
	out := make([]Command, 0, len(r.cmds))
	for _, c := range r.cmds {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// UsageLine is "name usage".
func (c *Command) UsageLine() string { return strings.TrimSpace(c.Name + " " + c.Usage) }

// Dispatch runs a request and builds its response. It never panics: a
// handler panic becomes CodeInternal, and is logged at error level with
// the command and the goroutine's stack (a panic is a bug: the stack is
// what finds it).
func (r *Registry) Dispatch(ctx context.Context, req *Request) (resp Response) {
	resp.V = Version
	defer func() {
		if p := recover(); p != nil {
			log := r.log
			if log == nil {
				log = slog.Default()
			}
			log.Error("control command panicked", "cmd", req.Cmd, "panic", p, "stack", string(debug.Stack()))
			resp.OK, resp.Result = false, nil
			resp.Error = Errorf(CodeInternal, "command %s failed: %v", req.Cmd, p)
		}
	}()
	if req.V != Version {
		resp.Error = Errorf(CodeVersion, "protocol version %d not supported (want %d)", req.V, Version)
		return resp
	}
	if req.Cmd == BatchCmd {
		return r.dispatchBatch(ctx, req)
	}
	if len(req.Batch) > 0 {
		resp.Error = Errorf(CodeBadRequest, "a %s request's commands go in batch, and only there (cmd %q)", BatchCmd, req.Cmd)
		return resp
	}
	c, ok := r.cmds[req.Cmd]
	if !ok {
		resp.Error = Errorf(CodeUnknown, "unknown command %q", req.Cmd)
		return resp
	}
	if len(req.Args) < c.MinArgs || (c.MaxArgs >= 0 && len(req.Args) > c.MaxArgs) {
		resp.Error = Errorf(CodeUsage, "usage: %s", c.UsageLine())
		return resp
	}
	res, err := c.Run(ctx, req.Args)
	if err != nil {
		resp.Error = asError(err)
		return resp
	}
	return encodeResult(resp, req.Cmd, res)
}

// asError types err: an error that is not an *Error is CodeInternal.
func asError(err error) *Error {
	var ce *Error
	if !errors.As(err, &ce) {
		ce = Errorf(CodeInternal, "%v", err)
	}
	return ce
}

// dispatchBatch checks a batch's commands, all before any is carried
// out, and has the BatchFunc carry them out.
func (r *Registry) dispatchBatch(ctx context.Context, req *Request) (resp Response) {
	resp.V = Version
	at := func(i int, code Code, format string, a ...any) Response {
		resp.Error = Errorf(code, "command %d of %d (%s): %s; nothing in the batch was applied", i+1, len(req.Batch), strings.TrimSpace(req.Batch[i].Cmd+" "+strings.Join(req.Batch[i].Args, " ")), fmt.Sprintf(format, a...))
		resp.Error.Index = i + 1
		return resp
	}
	switch {
	case r.batch == nil:
		resp.Error = Errorf(CodeUnknown, "this server takes no batch")
		return resp
	case len(req.Args) > 0:
		resp.Error = Errorf(CodeBadRequest, "a batch has no args: its commands go in batch")
		return resp
	case len(req.Batch) == 0:
		resp.Error = Errorf(CodeUsage, "an empty batch")
		return resp
	}
	for i, bc := range req.Batch {
		c, ok := r.cmds[bc.Cmd]
		switch {
		case !ok:
			return at(i, CodeUnknown, "unknown command %q", bc.Cmd)
		case !c.Batch:
			return at(i, CodeInvalid, "%s cannot be in a batch (only commands that change the stored configuration and nothing else can: vsctl --help marks them)", bc.Cmd)
		case len(bc.Args) < c.MinArgs || (c.MaxArgs >= 0 && len(bc.Args) > c.MaxArgs):
			return at(i, CodeUsage, "usage: %s", c.UsageLine())
		}
	}
	res, err := r.batch(ctx, req.Batch)
	if err != nil {
		resp.Error = asError(err)
		return resp
	}
	return encodeResult(resp, BatchCmd, res)
}

// encodeResult puts a command's result in resp.
func encodeResult(resp Response, cmd string, res any) Response {
	b, err := json.Marshal(res)
	if err != nil {
		resp.Error = Errorf(CodeInternal, "encode result of %s: %v", cmd, err)
		return resp
	}
	resp.OK, resp.Result = true, b
	return resp
}

// ParseOptions splits key=value arguments; a bare word, an empty key or
// a key given twice (which of the two was meant?) is a usage error.
func ParseOptions(args []string) (map[string]string, error) {
	opts := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, Errorf(CodeUsage, "%q is not key=value", a)
		}
		if old, dup := opts[k]; dup {
			return nil, Errorf(CodeUsage, "option %s given twice (%s=%s and %s)", k, k, old, a)
		}
		opts[k] = v
	}
	return opts, nil
}

// CheckOptions reports the first key not in allowed as CodeUsage.
func CheckOptions(opts map[string]string, allowed ...string) error {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		found := false
		for _, a := range allowed {
			found = found || a == k
		}
		if !found {
			return Errorf(CodeUsage, "unknown option %q (allowed: %s)", k, strings.Join(allowed, ", "))
		}
	}
	return nil
}

package ctl

import (
	"context"
	"encoding/json"
	"errors"
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
	Run     func(ctx context.Context, args []string) (any, error)
}

// Registry maps command names to commands.
type Registry struct {
	cmds map[string]*Command
	log  *slog.Logger // nil: slog.Default()
}

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
		var ce *Error
		if !errors.As(err, &ce) {
			ce = Errorf(CodeInternal, "%v", err)
		}
		resp.Error = ce
		return resp
	}
	b, err := json.Marshal(res)
	if err != nil {
		resp.Error = Errorf(CodeInternal, "encode result of %s: %v", req.Cmd, err)
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

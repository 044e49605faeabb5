package dockernet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ctl/daemon"
)

// Caller runs one vswitchd control command (ctl.Client has this method;
// RegistryCaller runs it in-process).
type Caller interface {
	Call(cmd string, args []string, out any) error
}

// RegistryCaller runs commands through a daemon's command registry, in
// the same process: the same checks, locks and durable writes as the
// control socket, without a connection.
type RegistryCaller struct{ R *ctl.Registry }

// Call implements Caller.
func (c RegistryCaller) Call(cmd string, args []string, out any) error {
	resp := c.R.Dispatch(context.Background(), &ctl.Request{V: ctl.Version, Cmd: cmd, Args: args})
	if resp.Error != nil {
		return resp.Error
	}
	if out != nil && len(resp.Result) > 0 {
		return json.Unmarshal(resp.Result, out)
	}
	return nil
}

// Config configures a Driver.
type Config struct {
	// Caller runs vswitchd's commands.
	Caller Caller
	// StateDir holds docker.json (vswitchd's state directory).
	StateDir string
	// Global makes the networks global in scope (vswitchd --etcd: the
	// bridges' VXLAN segments and the pools are shared between hosts).
	Global bool
	Logger *slog.Logger
}

// Driver is the network and IPAM driver. Its methods are serialized.
type Driver struct {
	cfg   Config
	log   *slog.Logger
	store *daemon.Store
	mu    sync.Mutex
	st    state
}

// New loads the stored state and reconciles it with vswitchd's (the
// daemon runs: Caller answers).
func New(cfg Config) (*Driver, error) {
	if cfg.Caller == nil {
		return nil, errors.New("dockernet: no Caller")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	store, err := daemon.NewPlainStore(cfg.StateDir, StateFile)
	if err != nil {
		return nil, err
	}
	st, used, aside, err := load(cfg.StateDir)
	d := &Driver{cfg: cfg, log: cfg.Logger, store: store, st: st}
	if err != nil {
		// As vswitchd's own configuration: one line naming the file
		// used and the damaged one, kept aside.
		if used != "" {
			cfg.Logger.Error("DOCKER DRIVER STATE DAMAGED: started from the previous copy, the changes stored after it are lost; the damaged file is kept",
				"used", filepath.Join(cfg.StateDir, used), "unusable", aside, "err", err)
		} else {
			cfg.Logger.Error("DOCKER DRIVER STATE DAMAGED: no usable copy, started with no record; the damaged files are kept",
				"unusable", aside, "err", err)
		}
		// The state used takes the damaged file's place now (it is
		// linked aside), before any call: a later save would write over
		// it anyway, and the previous copy stays as it is (a damaged
		// file never becomes the previous copy).
		if serr := d.save(); serr != nil {
			cfg.Logger.Warn("docker driver state not stored after the fallback: the next call tries again", "err", serr)
		}
	}
	// What Docker's calls lost while vswitchd was down (reconcile.go).
	d.reconcile()
	// Bridges of networks whose record is lost (lost.go).
	d.reportUnrecorded(err != nil)
	return d, nil
}

// save stores the state; on failure the caller undoes what it did.
func (d *Driver) save() error {
	if err := d.store.Save(&d.st); err != nil {
		return fmt.Errorf("state not stored: %w", err)
	}
	return nil
}

// scope is "local", or "global" with a multi-host vswitchd.
func (d *Driver) scope() string {
	if d.cfg.Global {
		return "global"
	}
	return "local"
}

// shortID is the first 12 characters of a Docker ID (all of a shorter one).
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// bridgeName is the bridge of a network.
func bridgeName(networkID string) string { return "docker-" + shortID(networkID) }

// peerName is an endpoint's container end until Docker renames it.
func peerName(endpointID string) string { return "vdp" + shortID(endpointID) }

// poolID names the vswitchd pool of a Docker pool request.
func poolID(space, pool, subPool string) string {
	h := sha256.Sum256([]byte(space + "\x00" + pool + "\x00" + subPool))
	return "docker-" + hex.EncodeToString(h[:6])
}

// checkID refuses IDs that cannot name a bridge or an endpoint.
func checkID(what, id string) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("%s %q: want 1 to 128 letters and digits", what, id)
	}
	for _, c := range []byte(id) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("%s %q: want letters and digits", what, id)
		}
	}
	return nil
}

// isCode reports whether err is a vswitchd error with code.
func isCode(err error, code ctl.Code) bool {
	var ce *ctl.Error
	return errors.As(err, &ce) && ce.Code == code
}

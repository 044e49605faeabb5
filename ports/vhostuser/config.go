package vhostuser

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vecswitch/vecswitch/pipeline"
)

// MaxQueues is the most queue pairs a port offers: ring indices travel in
// 8 bits of SET_VRING_KICK/CALL.
const MaxQueues = 64

// maxSocketPath is what fits in sockaddr_un.sun_path with its NUL.
const maxSocketPath = 107

// Errors returned by New.
var (
	// ErrInvalid is wrapped by every configuration error.
	ErrInvalid = errors.New("vhostuser: invalid configuration")
	// ErrSocketInUse: something already accepts connections on the
	// socket path.
	ErrSocketInUse = errors.New("vhostuser: socket in use")
	// ErrNotSupported: vhost-user needs Linux (eventfd, SCM_RIGHTS, mmap
	// of shared guest memory).
	ErrNotSupported = errors.New("vhostuser: not supported on this platform")
)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}

// Config describes a vhost-user port.
type Config struct {
	// Name is the port's name in the switch (required).
	Name string
	// Socket is the absolute path of the unix socket the port listens on
	// (required). A stale socket file left by an earlier run is replaced;
	// a live one (something accepts on it) or a file that is not a socket
	// is an error. Its directory is created (mode 0755) if missing. The
	// socket is removed when the port closes.
	Socket string
	// SocketMode is the socket file's permission (default 0600: only the
	// switch's user, root, may connect; a VMM that runs as another user
	// needs 0660 and a group, set by the caller).
	SocketMode fs.FileMode
	// MAC is the guest's MAC address, if known. The port then sends a
	// RARP broadcast from it into the switch each time the front-end
	// starts the guest's transmit ring (connect, reconnect, live
	// migration), so the switch learns where the VM is before it speaks,
	// as QEMU's announce does.
	MAC net.HardwareAddr
	// Queues is the number of queue pairs offered to the guest (default
	// 1, at most MaxQueues). The port has as many rx and tx queues. A
	// guest that enables fewer pairs leaves some rx queues idle; tx queues
	// whose pair is not running share the running ones.
	Queues int
	// BatchSize is the most frames one Rx returns (default and at most
	// pipeline.VectorSize).
	BatchSize int
	// NoOffload turns the checksum and segmentation offloads off: the
	// port then offers the guest none (VIRTIO_NET_F_CSUM, GUEST_CSUM,
	// HOST_TSO4/6, GUEST_TSO4/6, ECN, USO are left out) and tells the
	// switch it takes only plain frames (ports.Info.Offload false). By
	// default they are offered (see the package doc, "Virtio-net header").
	NoOffload bool
	// Logger receives connection events (default slog.Default()).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.SocketMode == 0 {
		c.SocketMode = 0o600
	}
	if c.Queues == 0 {
		c.Queues = 1
	}
	if c.BatchSize == 0 {
		c.BatchSize = pipeline.VectorSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func (c *Config) validate() error {
	switch {
	case c.Name == "":
		return invalid("port needs a name")
	case c.Socket == "":
		return invalid("%s: socket path needed", c.Name)
	case !filepath.IsAbs(c.Socket):
		return invalid("%s: socket=%s: want an absolute path", c.Name, c.Socket)
	case len(c.Socket) > maxSocketPath:
		return invalid("%s: socket path of %d bytes, at most %d", c.Name, len(c.Socket), maxSocketPath)
	case c.SocketMode&^fs.ModePerm != 0:
		return invalid("%s: socket mode %v: permission bits only", c.Name, c.SocketMode)
	case c.MAC != nil && (len(c.MAC) != 6 || c.MAC[0]&1 != 0):
		return invalid("%s: mac=%v: want a unicast EUI-48 address", c.Name, c.MAC)
	case c.Queues < 1 || c.Queues > MaxQueues:
		return invalid("%s: %d queue pairs, want 1..%d", c.Name, c.Queues, MaxQueues)
	case c.BatchSize < 1 || c.BatchSize > pipeline.VectorSize:
		return invalid("%s: batch size %d, want 1..%d", c.Name, c.BatchSize, pipeline.VectorSize)
	}
	return nil
}

// mac48 is the MAC as a 48-bit number (0 when unset).
func (c *Config) mac48() uint64 {
	var m uint64
	for _, b := range c.MAC {
		m = m<<8 | uint64(b)
	}
	return m
}

// Options are the option keys ParseOptions reads.
var Options = []string{"socket", "mac", "queues", "socket_mode", "offload"}

// ParseOptions reads a Config from vsctl options (see Options):
// socket=PATH (required, absolute) mac=MAC queues=1..MaxQueues
// mode=OCTAL (socket permissions, e.g. 0660) offload=on|off (default on:
// Config.NoOffload). Other keys are ignored; an
// empty value counts as absent. The caller sets Name (and Logger). Errors
// name the option and wrap ErrInvalid.
func ParseOptions(o map[string]string) (Config, error) {
	c := Config{Socket: o["socket"]}
	if c.Socket == "" {
		return c, invalid("type=vhostuser needs socket=PATH (the unix socket the VMM connects to)")
	}
	if !filepath.IsAbs(c.Socket) || len(c.Socket) > maxSocketPath {
		return c, invalid("socket=%s: want an absolute path of at most %d bytes", c.Socket, maxSocketPath)
	}
	if s := o["mac"]; s != "" {
		mac, err := net.ParseMAC(s)
		if err != nil || len(mac) != 6 || mac[0]&1 != 0 {
			return c, invalid("mac=%s: want a unicast EUI-48 address like 02:00:00:00:00:01", s)
		}
		c.MAC = mac
	}
	if s := o["queues"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxQueues {
			return c, invalid("queues=%s: want 1 to %d", s, MaxQueues)
		}
		c.Queues = n
	}
	// socket_mode, not mode: mode= is every bridge port's VLAN mode
	// (access or trunk), and the switch takes it first.
	if s := o["socket_mode"]; s != "" {
		m, err := strconv.ParseUint(strings.TrimPrefix(s, "0o"), 8, 32)
		if err != nil || m == 0 || m > 0o777 {
			return c, invalid("socket_mode=%s: want octal permissions like 0660", s)
		}
		c.SocketMode = fs.FileMode(m)
	}
	switch s := o["offload"]; s {
	case "", "on", "true", "yes", "1":
	case "off", "false", "no", "0":
		c.NoOffload = true
	default:
		return c, invalid("offload=%s: want on or off", s)
	}
	return c, nil
}

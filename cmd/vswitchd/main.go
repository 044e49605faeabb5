// Command vswitchd is the Vecswitch daemon: it runs the data plane on the
// chosen cores, serves the control socket that vsctl talks to, and keeps
// the configuration durable in its state directory, replaying it at start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ctl/daemon"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch"
)

// options are vswitchd's settings; a JSON config file may set any of them
// (config.go), and flags override the file.
type options struct {
	Socket     string
	StateDir   string
	CaptureDir string
	Cores      string
	PollMode   string
	Group      string
	LogLevel   string
	LogFile    string
	PoolFrames int
	Sysfs      string
	Metrics    string
	Etcd       string
	EtcdPrefix string
	IPAMPrefix string
	Docker     string
	FastPath   bool
	// SharedPools keeps the workers' buffer pools in memfds, so that
	// --takeover can move AF_XDP ports (their UMEM is the pools).
	SharedPools bool
	Takeover    bool
	Detach      bool
}

func main() {
	os.Exit(run())
}

func run() int {
	o := defaultOptions()
	fs, cfgFile := newFlags(&o)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) { // asked for: on stdout, as vsctl's
			usage(fs, os.Stdout)
			return 0
		}
		usage(fs, os.Stderr) // after the flag package's line saying what is wrong
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "vswitchd: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *cfgFile != "" {
		if err := loadConfig(*cfgFile, fs, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "vswitchd:", err)
			return 2
		}
	}
	// A detached child never detaches again, whatever its arguments say.
	child := os.Getenv(detachedEnv) != ""
	os.Unsetenv(detachedEnv)
	// Every flag is checked here, before anything runs (and before a
	// --detach parent starts its child): a bad one is exit status 2.
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.LogLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "vswitchd: log level %q: want debug, info, warn or error\n", o.LogLevel)
		return 2
	}
	sopts, err := switchOptions(o, hostCPUs())
	if err != nil {
		fmt.Fprintln(os.Stderr, "vswitchd:", err)
		return 2
	}
	if o.Metrics != "" {
		if err := checkMetricsAddr(o.Metrics); err != nil {
			fmt.Fprintln(os.Stderr, "vswitchd:", err)
			return 2
		}
	}
	if o.Etcd != "" {
		eps, err := etcdEndpoints(o.Etcd)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vswitchd:", err)
			return 2
		}
		o.Etcd = strings.Join(eps, ",")
	}
	gid := -1
	if o.Group != "" {
		if gid, err = lookupGroup(o.Group); err != nil {
			fmt.Fprintln(os.Stderr, "vswitchd:", err)
			return 2
		}
	}
	if err := checkPrivileges(); err != nil {
		fmt.Fprintln(os.Stderr, "vswitchd:", err)
		return 1
	}
	logFile, err := openLogFile(o.LogFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vswitchd:", err)
		return 1
	}
	if o.Detach && !child {
		logFile.Close()
		if err := detach(fs, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "vswitchd:", err)
			return 1
		}
		return 0
	}
	out, err := newLogOutput(logFile, child)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vswitchd:", err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	if err := serve(o, sopts, gid, log, out); err != nil {
		log.Error("vswitchd failed", "err", err)
		return 1
	}
	return 0
}

func defaultOptions() options {
	return options{Socket: ctl.DefaultSocket, StateDir: "/var/lib/vswitch", PollMode: "adaptive", LogLevel: "info", PoolFrames: 16384, Sysfs: "/sys", FastPath: true, SharedPools: true,
		IPAMPrefix: "/vecswitch/ipam/"}
}

// newFlags binds vswitchd's flags to o's fields; the second result is
// --config's value.
func newFlags(o *options) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("vswitchd", flag.ContinueOnError)
	cfgFile := fs.String("config", "", "JSON file setting any of the flags below, keyed by flag name: {\"state-dir\": \"/srv/vswitch\", \"pool-frames\": 32768}; an unknown key is an error; flags given on the command line override it")
	fs.StringVar(&o.Socket, "socket", o.Socket, "control socket path")
	fs.StringVar(&o.StateDir, "state-dir", o.StateDir, "directory for the durable configuration (config.json, the snapshot; config.json.journal, every change since, appended and synced; config.json.prev, the snapshot before, used if both are damaged: docs/vswitchd.md); locked: one vswitchd per directory")
	fs.StringVar(&o.CaptureDir, "capture-dir", o.CaptureDir, "directory for capture/start's files (file= is a plain name in it, never a path; an existing file is never overwritten); empty: STATE-DIR/captures. A directory vswitchd makes gets mode 0750 (group: --group); an existing one is used as it is")
	fs.StringVar(&o.Cores, "cores", o.Cores, "CPUs for workers, one worker each: a list (1,3-4) or a hex mask (0x6); empty: one unpinned worker")
	fs.StringVar(&o.PollMode, "poll-mode", o.PollMode, "busy (spin, lowest latency) or adaptive (sleep when idle)")
	fs.StringVar(&o.Group, "group", o.Group, "group allowed to use the control socket (mode 0660) and to read the capture directory; empty: root only (0600)")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "debug, info, warn or error")
	fs.StringVar(&o.LogFile, "log-file", o.LogFile, "append the log to this file (stdout and stderr become it); empty: stderr, or for a --detach one see --detach")
	fs.IntVar(&o.PoolFrames, "pool-frames", o.PoolFrames, fmt.Sprintf("packet buffers per worker (%d bytes each), %d to %d; every AF_XDP", pipeline.FrameSize, pipeline.VectorSize, maxPoolFrames)+" port queue on a worker reserves 64 and busy queues share half the pool: 16384 serve 88 queues per worker, 65536 serve 376")
	fs.StringVar(&o.Sysfs, "sysfs", o.Sysfs, "where sysfs is mounted (SR-IOV discovery)")
	fs.StringVar(&o.Metrics, "metrics-addr", "", "serve Prometheus /metrics on HOST:PORT (\":9477\" binds loopback); empty: off")
	fs.StringVar(&o.Etcd, "etcd", o.Etcd, "etcd client URLs (comma-separated) to share VXLAN endpoints with other hosts; empty: off (remote VTEPs are configured)")
	fs.BoolVar(&o.FastPath, "fast-path", o.FastPath, "switch known unicast between AF_XDP ports in the kernel (XDP); if the kernel cannot load it, vswitchd logs why and uses the pipeline alone. Per bridge or port: vsctl set bridge BR fast-path=off")
	fs.StringVar(&o.EtcdPrefix, "etcd-prefix", o.EtcdPrefix, "etcd key prefix for the overlay (default /vecswitch/overlay/)")
	fs.StringVar(&o.Docker, "docker-plugin", o.Docker, "serve Docker's network and IPAM driver API on this unix socket: /run/docker/plugins/vecswitch.sock makes dockerd find it as driver vecswitch (docker network create -d vecswitch --ipam-driver vecswitch); empty: off")
	fs.BoolVar(&o.SharedPools, "shared-pools", o.SharedPools, "keep the workers' packet buffers in memfds that a successor can map, so that --takeover moves AF_XDP ports too (their UMEM is the buffers); false: private memory, on transparent huge pages where the host allows them for anonymous memory but not for shared memory (see docs/upgrade.md for the cost), and a takeover of AF_XDP ports is refused")
	fs.BoolVar(&o.Detach, "detach", false, "run in the background: start vswitchd again without --detach and exit 0 once it forwards (or 1 if it fails first, its error on stderr); until then its log shows on stderr, after that it goes to --log-file, or to the journal if stderr is systemd's (JOURNAL_STREAM), or nowhere (/dev/null): the background vswitchd keeps none of the caller's descriptors. With --takeover, what a systemd unit's ExecReload runs (deploy/vswitchd.service)")
	fs.BoolVar(&o.Takeover, "takeover", false, "take over from the vswitchd running on --socket (same flags, same state directory), without a frame lost: its ports' descriptors and learned tables move to this process, which starts forwarding, then the old one exits; if anything fails the old one keeps running and this one exits with the error (the --metrics-addr and --docker-plugin listeners are checked before the handover: one that another process holds fails the takeover). Works for every port kind: tap, veth, afxdp, vhost-user, and the records of SR-IOV VFs handed to containers (AF_XDP ones need --shared-pools and the same --cores and --pool-frames; another --state-dir is refused); see docs/upgrade.md")
	fs.StringVar(&o.IPAMPrefix, "ipam-etcd-prefix", o.IPAMPrefix, "etcd key prefix for address pools (with --etcd, each host hands out addresses only from the blocks of a pool it has claimed there)")
	fs.Usage = func() {} // run prints it: --help's on stdout, a bad flag's on stderr
	return fs, cfgFile
}

// usage prints vswitchd's usage on w.
func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "usage: vswitchd [flags]\n\nRuns the Vecswitch data plane and its control socket. Manage it with vsctl.\nSIGTERM, SIGINT or SIGHUP stop it cleanly.\n\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(nil)
}

// maxPoolFrames is the largest pool pipeline.NewPool maps.
const maxPoolFrames = 1 << 24

// switchOptions checks the data plane's flags; have are the CPUs --cores
// may name (hostCPUs; nil: not known, not checked).
func switchOptions(o options, have []int) (vswitch.Options, error) {
	so := vswitch.Options{Workers: 1, PoolFrames: o.PoolFrames, SharedPools: o.SharedPools}
	// 0 is no default here: the switch would take its own (8192), not
	// the 16384 --help promises.
	if o.PoolFrames < pipeline.VectorSize || o.PoolFrames > maxPoolFrames {
		return so, fmt.Errorf("pool-frames %d: want %d to %d buffers per worker (default %d)", o.PoolFrames, pipeline.VectorSize, maxPoolFrames, defaultOptions().PoolFrames)
	}
	cpus, err := ctl.ParseCPUs(o.Cores)
	if err != nil {
		return so, err
	}
	if have != nil {
		for _, c := range cpus {
			if !slices.Contains(have, c) {
				return so, fmt.Errorf("cores %q: this host has no CPU %d (its CPUs: %s)", o.Cores, c, formatCPUs(have))
			}
		}
	}
	if len(cpus) > 0 {
		so.Workers, so.CPUs = len(cpus), cpus
	}
	switch o.PollMode {
	case "busy":
		so.Idle = pipeline.IdleBusy
	case "adaptive":
		so.Idle = pipeline.IdleSleep
	default:
		return so, fmt.Errorf("poll mode %q: want busy or adaptive", o.PollMode)
	}
	return so, nil
}

// hostCPUs returns the CPUs this host has online, the ones a worker can
// be pinned to; nil if it cannot tell (then --cores is not checked here,
// and a CPU it lacks fails the worker's start).
func hostCPUs() []int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil
	}
	cpus, err := ctl.ParseCPUs(string(b))
	if err != nil || len(cpus) == 0 {
		return nil
	}
	return cpus
}

// formatCPUs writes sorted CPU numbers as a list of ranges, "0-3,6".
func formatCPUs(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			fmt.Fprintf(&b, "-%d", cpus[j])
		}
		i = j + 1
	}
	return b.String()
}

// etcdEndpoints checks the syntax of --etcd's endpoints, as the etcd
// client takes them (http://HOST:PORT, https://..., unix://PATH,
// unixs://..., or a bare HOST:PORT), without contacting them: a typo is
// an error at start, not a 10 s timeout at the first use.
func etcdEndpoints(s string) ([]string, error) {
	var out []string
	for _, ep := range strings.Split(s, ",") {
		ep = strings.TrimSpace(ep)
		if err := checkEtcdEndpoint(ep); err != nil {
			return nil, fmt.Errorf("etcd endpoint %q: %v: want a URL such as http://10.0.0.1:2379 (http, https, unix or unixs; several separated by commas)", ep, err)
		}
		out = append(out, ep)
	}
	return out, nil
}

func checkEtcdEndpoint(ep string) error {
	if ep == "" {
		return errors.New("empty")
	}
	for _, scheme := range []string{"unix:", "unixs:"} {
		if rest, ok := strings.CutPrefix(ep, scheme); ok {
			if strings.TrimLeft(rest, "/") == "" {
				return errors.New("no socket path")
			}
			return nil
		}
	}
	hostPort := ep
	if strings.Contains(ep, "://") {
		u, err := url.Parse(ep)
		if err != nil {
			return errors.New("not a URL")
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf("scheme %q", u.Scheme)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
			return errors.New("more than scheme, host and port")
		}
		hostPort = u.Host
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return errors.New("no host:port")
	}
	if n, err := strconv.Atoi(port); host == "" || err != nil || n < 1 || n > 65535 {
		return errors.New("bad host or port")
	}
	return nil
}

func lookupGroup(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("group %q: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}

// claimControl checks, before the configuration is replayed, what
// ctl.Listen will check when newCtlServer makes the control socket: its
// directory (made if missing, as Listen does), a file there that is no
// socket, another daemon serving on it; and that the socket can be made
// (bound and closed again). A stale socket no one serves on is removed,
// as Listen does.
func claimControl(path string) error {
	if path == "" {
		return errors.New("socket: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("socket %s: its directory: %w", path, err)
	}
	fi, statErr := os.Lstat(path)
	switch {
	case statErr == nil && fi.Mode()&os.ModeSocket == 0:
		return fmt.Errorf("socket %s exists and is not a socket", path)
	case statErr != nil && !errors.Is(statErr, os.ErrNotExist):
		return fmt.Errorf("socket %s: %w", path, statErr)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("%w: %s (nothing was started: stop that vswitchd, give this one another --socket, or replace the running one with --takeover)", ctl.ErrInUse, path)
	}
	if statErr == nil {
		os.Remove(path) // stale: no one serves on it
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("socket %s: %w", path, err)
	}
	return ln.Close() // removes it
}

func serve(o options, sopts vswitch.Options, gid int, log *slog.Logger, out *logOutput) error {
	dcfg := daemon.Config{StateDir: o.StateDir, Switch: sopts, Sysfs: o.Sysfs, Logger: log, FastPath: o.FastPath,
		CaptureDir: o.CaptureDir, CaptureGID: gid}
	if o.Etcd != "" {
		dcfg.Claims = ipamClaims(strings.Split(o.Etcd, ","), o.IPAMPrefix, log)
	}
	var tk *taker
	giverPID := 0
	if o.Takeover {
		var err error
		if tk, err = beginTakeover(o, log); err != nil {
			return err
		}
		dcfg.Inherit = tk.inherit()
		giverPID = tk.s.Giver().PID
	}
	// The listeners this process serves besides the control socket, had
	// (or known to be the old vswitchd's) before anything else: a plain
	// start fails before it replays the configuration, a takeover before
	// the handover.
	ls, err := claimListeners(o, giverPID)
	if err != nil {
		return tk.abort(nil, nil, err)
	}
	defer ls.close()
	// The control socket too: a start whose socket another vswitchd
	// serves, or cannot be made, used to replay the whole configuration
	// first (veths made, the running daemon's taps and sockets opened)
	// and leave it behind. A takeover's old vswitchd closed it as it
	// handed over (giver.Export), so it is free here too.
	if err := claimControl(o.Socket); err != nil {
		return tk.abort(nil, nil, err)
	}
	d, err := daemon.New(dcfg)
	if err != nil {
		return tk.abort(nil, nil, err)
	}
	// A capture directory is for diagnostics: one that is not a
	// directory does not stop the switch, capture/start says why.
	if err := d.CaptureDirProblem(); err != nil {
		log.Warn("captures are off: capture/start fails until the capture directory is repaired", "err", err)
	}
	srv, err := newCtlServer(ctl.ServerConfig{Path: o.Socket, GID: gid, Logger: log}, d.Registry())
	if err != nil {
		err = tk.abort(d, nil, err)
		d.Close()
		return err
	}
	if err := tk.ready(d); err != nil {
		err = tk.abort(d, srv, err)
		d.Close()
		return err
	}
	if tk.stopFirst() {
		if _, committed, err := tk.stopThenStart(d); err != nil {
			if !committed {
				err = tk.abort(d, srv, err)
			}
			srv.Close()
			d.Close()
			return err
		}
	} else {
		if err := d.Start(); err != nil {
			err = tk.abort(d, srv, err)
			srv.Close()
			d.Close()
			return err
		}
		if err := tk.commit(); err != nil {
			err = tk.abort(d, srv, err)
			d.Close()
			return err
		}
	}
	var handed <-chan *daemon.Giver
	stopTakeover := func() {}
	if err := retry(o.Takeover, func() (err error) { handed, stopTakeover, err = listenTakeover(o, d, srv, log); return err }); err != nil {
		srv.Close()
		d.Close()
		return err
	}
	defer stopTakeover()
	// After a takeover's commit the old vswitchd is gone: a listener it
	// still held a moment ago (claimListeners checked it was its) that
	// cannot be had now is logged, and this one forwards without it.
	if o.Metrics != "" {
		ls.releaseMetrics()
		var ms *http.Server
		err := retry(o.Takeover, func() (err error) { ms, err = d.ServeMetrics(o.Metrics); return err })
		switch {
		case err == nil:
			defer ms.Close()
		case o.Takeover:
			log.Error("metrics not served: the old vswitchd's listener was not free in time; this vswitchd forwards without it (take over again, or restart, to get it)", "addr", o.Metrics, "err", err)
		default:
			srv.Close()
			d.Close()
			return err
		}
	}
	stopDocker := func() error { return nil }
	if o.Docker != "" {
		err := retry(o.Takeover, func() (err error) { stopDocker, err = serveDocker(o, d, log); return err })
		switch {
		case err == nil:
		case o.Takeover:
			stopDocker = func() error { return nil }
			log.Error("Docker plugin not served: the old vswitchd's socket was not free in time; this vswitchd forwards without it (take over again, or restart, to get it)", "socket", o.Docker, "err", err)
		default:
			srv.Close()
			d.Close()
			return err
		}
	}
	stopOverlay := func() {}
	var handedOver atomic.Bool
	if o.Etcd != "" {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			runOverlay(ctx, strings.Split(o.Etcd, ","), o.EtcdPrefix, d.Switch(), log, handedOver.Load)
		}()
		// On the way out, withdraw from etcd (lease revoked) before the
		// switch goes.
		stopOverlay = func() {
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
			}
		}
	}
	log.Info("vswitchd running", "socket", o.Socket, "state", o.StateDir, "workers", sopts.Workers, "cpus", sopts.CPUs, "poll", o.PollMode)
	notify(log, "READY=1")
	out.ready(log)
	sig := make(chan os.Signal, 1)
	// SIGHUP too: the terminal of a foreground vswitchd closing stops it
	// as cleanly as SIGTERM (it used to kill it, leaving its sockets).
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	select {
	case s := <-sig:
		log.Info("stopping", "signal", s.String())
		notify(log, "STOPPING=1")
	case err = <-srv.failed:
		log.Error("control socket failed", "err", err)
		notify(log, "STOPPING=1")
	case g := <-handed: // the successor is the unit's main process already
		g.HandedOver() // closing now deletes nothing the successor uses
		handedOver.Store(true)
	}
	stopOverlay()
	return errors.Join(err, stopDocker(), srv.Close(), d.Close())
}

package daemon

import (
	"errors"
	"time"

	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/tap"
)

// Port health: a port whose host interface vanishes (ip link del, the
// container's namespace deleted, a VF unbound) is taken down — its driver
// detached, so the worker stops polling a dead socket and the kernel's
// frames go back to the pool — and shown down with the reason, and the
// loss is counted. The port stays in the configuration: every few seconds
// (and at once when an interface of its name appears) the daemon tries to
// attach it again as at start-up, so it recovers by itself when the
// interface comes back (a container veth is made anew once its namespace
// exists again). The same retry brings back ports that could not be
// restored at start.
//
// Link events come from an rtnetlink subscription; since the kernel drops
// events when the socket's buffer overflows, a periodic sweep (one link
// dump) and the drivers' own down flags (a failed kick on a gone device,
// a tap's failed read) catch what the events missed. A tap in a
// container's namespace is out of reach of both the events and the dump
// (they are the daemon's namespace's): the sweep probes the tap itself
// (tap.Port.Probe, one poll(2) of its descriptor), so its loss is found
// within a sweep whether or not traffic ran into it.

// deviceFailer is a driver that finds by itself that its device failed
// or vanished: afxdp and sriov (a failed kick), tap (EBADFD on a read or
// write). Every such driver is checked against it at compile time (here
// and in health_tap_linux_test.go): tap's Down once returned (bool,
// error), no anonymous interface of the sweep matched it, and a tap whose
// device was deleted stayed up for good.
type deviceFailer interface{ Down() bool }

// deviceProber is a driver that checks its device on demand, without
// waiting for traffic to fail on it; Probe reports Down after the check.
type deviceProber interface{ Probe() bool }

// downCause is a driver that tells why it went down (nil while up).
type downCause interface{ DownErr() error }

var (
	_ deviceFailer = (*tap.Port)(nil)
	_ deviceProber = (*tap.Port)(nil)
	_ downCause    = (*tap.Port)(nil)
)

// healthInterval is how often down ports are retried and drivers checked.
const healthInterval = 2 * time.Second

// health is the daemon's record of down ports. Guarded by Daemon.mu.
type health struct {
	down   map[string]portDown
	losses map[string]uint64 // times each port lost its interface
	stop   chan struct{}
	done   chan struct{}
	events chan netdev.LinkEvent
}

// portDown is why a configured port has no driver.
type portDown struct {
	Reason string
	Since  time.Time
	// LastTry is the error of the latest attempt to attach it again.
	LastTry string
}

func newHealth() *health {
	return &health{down: map[string]portDown{}, losses: map[string]uint64{}}
}

// markDown records that a configured port has no driver and why. Caller
// holds mu.
func (d *Daemon) markDown(name, reason string) {
	if _, ok := d.health.down[name]; ok {
		return
	}
	d.health.down[name] = portDown{Reason: reason, Since: time.Now()}
}

// startHealth starts the watcher. A daemon that cannot subscribe to link
// events still sweeps.
func (d *Daemon) startHealth() {
	h := d.health
	h.stop, h.done = make(chan struct{}), make(chan struct{})
	h.events = make(chan netdev.LinkEvent, 64)
	err := netdev.WatchLinks(h.stop, func(e netdev.LinkEvent) {
		select {
		case h.events <- e:
		default: // the sweep will see it
		}
	}, func(err error) { d.log.Debug("link events lost; the next sweep catches up", "err", err) })
	if err != nil {
		d.log.Warn("no link events: vanished interfaces are found by a sweep every "+healthInterval.String(), "err", err)
	}
	go d.healthLoop()
}

// stopHealth stops the watcher and waits for it.
func (d *Daemon) stopHealth() {
	if d.health.stop == nil {
		return
	}
	close(d.health.stop)
	<-d.health.done
	d.health.stop = nil
}

func (d *Daemon) healthLoop() {
	h := d.health
	defer close(h.done)
	t := time.NewTicker(healthInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case e := <-h.events:
			d.mu.Lock()
			if e.Gone {
				d.linkGone(e.Name, e.Index)
			} else {
				d.retryDown(e.Name)
			}
			d.mu.Unlock()
		case <-t.C:
			// The dump of every host link is taken before mu: on a host
			// with thousands of containers' veths it takes a while, and
			// every command waits for mu meanwhile.
			links, err := netdev.Links()
			d.mu.Lock()
			d.sweep(links, err)
			d.retryDown("")
			d.mu.Unlock()
		}
	}
}

// linkGone takes down the port running on the deleted interface (matched
// by index too: a port re-attached to a new interface of the same name
// stays). Caller holds mu.
func (d *Daemon) linkGone(name string, index int) {
	for port, dr := range d.drivers {
		if dr.dev == name && (dr.devIndex == 0 || dr.devIndex == index) {
			d.lose(port, "interface "+name+" was deleted")
		}
	}
}

// lose detaches a port whose interface is gone. Caller holds mu.
func (d *Daemon) lose(port, reason string) {
	if err := d.detach(port, false); err != nil {
		d.log.Warn("port driver not fully released", "port", port, "err", err)
	}
	d.health.losses[port]++
	d.markDown(port, reason)
	d.log.Warn("port down", "port", port, "reason", reason)
}

// sweep finds what the events missed: drivers whose interface is gone or
// was replaced, and drivers that saw their device fail. links is a dump
// of the host's links (name to index) taken before the caller took mu,
// err its failure. Caller holds mu.
//
// A port attached after the dump may have made its interface after it
// too, so a link the dump does not show (or shows with another index) is
// looked up again, alone, before its port is taken down.
func (d *Daemon) sweep(links map[string]int, err error) {
	for port, dr := range d.drivers {
		if reason, failed := deviceFailed(dr.port); failed {
			d.lose(port, reason)
			continue
		}
		if err != nil || dr.dev == "" {
			continue
		}
		if ix, ok := links[dr.dev]; ok && (dr.devIndex == 0 || ix == dr.devIndex) {
			continue
		}
		ix, lerr := netdev.LinkIndex(dr.dev)
		switch {
		case lerr == nil && (dr.devIndex == 0 || ix == dr.devIndex):
			// made or replaced after the dump: still there
		case lerr == nil, errors.Is(lerr, netdev.ErrNotFound):
			d.lose(port, "interface "+dr.dev+" was deleted")
		}
	}
}

// deviceFailed asks a driver that watches its own device whether that
// device failed (probing it first when the driver can), and why.
func deviceFailed(p ports.Port) (reason string, failed bool) {
	if pr, ok := p.(deviceProber); ok {
		failed = pr.Probe()
	} else if f, ok := p.(deviceFailer); ok {
		failed = f.Down()
	}
	if !failed {
		return "", false
	}
	if c, ok := p.(downCause); ok {
		if err := c.DownErr(); err != nil {
			return "the device failed: " + err.Error(), true
		}
	}
	return "the device failed (gone?)", true
}

// retryDown tries to attach the down ports again (only those whose
// interface is called dev, if dev is not ""). Caller holds mu.
func (d *Daemon) retryDown(dev string) {
	for name := range d.health.down {
		spec, _ := d.state.port(name)
		if spec == nil {
			delete(d.health.down, name) // no longer configured
			continue
		}
		if dev != "" && portDevice(*spec) != dev {
			continue
		}
		if err := d.attach(*spec, true); err != nil {
			pd := d.health.down[name]
			pd.LastTry = err.Error()
			d.health.down[name] = pd
			continue
		}
		d.log.Info("port up again", "port", name, "was", d.health.down[name].Reason)
		delete(d.health.down, name)
	}
}

// portDevice is the host interface a port spec names, as far as the spec
// tells ("" when only the driver knows).
func portDevice(spec PortSpec) string {
	switch spec.Type {
	case TypeAFXDP:
		return orDefault(spec.Options["dev"], spec.Name)
	case TypeVeth:
		return orDefault(spec.Options["host"], spec.Name)
	case TypeTap:
		if spec.Options["netns"] == "" {
			return spec.Options["ifname"]
		}
	}
	return ""
}

package daemon

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/pcapng"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/vswitch"
)

// Packet traces and captures. A trace's records are decoded here, off the
// data path, with gopacket. A capture is written by a daemon goroutine
// that drains the workers' capture buffers every captureTick into a
// pcapng file, bounded by a packet count and a file size. A capture ends
// by itself when it reaches either bound, a write fails, or its port is
// removed: the goroutine writes what was copied before, closes the file
// and keeps the reason for capture/show; the ended capture does not stand
// in the way of the next capture/start. A new trace/add replaces the
// trace before it, records included.

const (
	captureTick        = 50 * time.Millisecond
	defaultCaptureMax  = 100000
	defaultCaptureSize = 1 << 30
)

func (d *Daemon) observeHandlers() map[string]func([]string) (any, error) {
	return map[string]func([]string) (any, error){
		"trace/add": d.traceAdd, "trace/show": d.traceShow, "trace/clear": d.traceClear,
		"capture/start": d.captureStart, "capture/stop": d.captureStop, "capture/show": d.captureShow,
	}
}

// filterOptions splits key=value options into the filter's and the rest.
func filterOptions(opts map[string]string) (func([]byte) bool, map[string]string, error) {
	fo, rest := map[string]string{}, map[string]string{}
	for k, v := range opts {
		if slices.Contains(vswitch.FilterKeys, k) {
			fo[k] = v
		} else {
			rest[k] = v
		}
	}
	f, err := vswitch.ParseFilter(fo)
	if err != nil {
		return nil, nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
	}
	return f, rest, nil
}

func (d *Daemon) traceAdd(args []string) (any, error) {
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 || n > 10000 {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%s: want a packet count from 1 to 10000", args[1])
	}
	opts, err := ctl.ParseOptions(args[2:])
	if err != nil {
		return nil, err
	}
	f, rest, err := filterOptions(opts)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, ctl.Errorf(ctl.CodeUsage, "unknown option(s) %v (filters: %s)", slices.Sorted(maps.Keys(rest)), strings.Join(vswitch.FilterKeys, ", "))
	}
	if err := d.sw.TraceAdd(args[0], n, f); err != nil {
		return nil, portErr(err)
	}
	return nil, nil
}

func portErr(err error) error {
	if errors.Is(err, vswitch.ErrNoPort) {
		return ctl.Errorf(ctl.CodeNotFound, "%v", err)
	}
	return ctl.Errorf(ctl.CodeInvalid, "%v", err)
}

func (d *Daemon) traceShow([]string) (any, error) {
	out := []ctl.TraceView{}
	for _, t := range d.sw.Traces() {
		out = append(out, ctl.TraceView{Trace: traceView(t), Headers: DescribeFrame(t.Data)})
	}
	return out, nil
}

func (d *Daemon) traceClear([]string) (any, error) {
	d.sw.TraceClear()
	return nil, nil
}

// DescribeFrame decodes a frame's headers into one line.
func DescribeFrame(b []byte) string {
	p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.NoCopy)
	var parts []string
	for _, l := range p.Layers() {
		if l.LayerType() == gopacket.LayerTypePayload {
			continue
		}
		switch v := l.(type) {
		case *layers.Ethernet:
			parts = append(parts, fmt.Sprintf("eth %s > %s", v.SrcMAC, v.DstMAC))
		case *layers.Dot1Q:
			parts = append(parts, fmt.Sprintf("vlan %d", v.VLANIdentifier))
		case *layers.ARP:
			op := "request"
			if v.Operation == 2 {
				op = "reply"
			}
			parts = append(parts, fmt.Sprintf("arp %s %s > %s", op, ipString(v.SourceProtAddress), ipString(v.DstProtAddress)))
		case *layers.IPv4:
			parts = append(parts, fmt.Sprintf("ip %s > %s ttl %d len %d", v.SrcIP, v.DstIP, v.TTL, v.Length))
		case *layers.IPv6:
			parts = append(parts, fmt.Sprintf("ip6 %s > %s hlim %d", v.SrcIP, v.DstIP, v.HopLimit))
		case *layers.UDP:
			parts = append(parts, fmt.Sprintf("udp %d > %d", v.SrcPort, v.DstPort))
		case *layers.TCP:
			parts = append(parts, fmt.Sprintf("tcp %d > %d", v.SrcPort, v.DstPort))
		case *layers.ICMPv4:
			parts = append(parts, "icmp "+v.TypeCode.String())
		case *layers.ICMPv6:
			parts = append(parts, "icmp6 "+v.TypeCode.String())
		default:
			parts = append(parts, strings.ToLower(l.LayerType().String()))
		}
	}
	if el := p.ErrorLayer(); el != nil {
		parts = append(parts, "(undecodable: "+el.Error().Error()+")")
	}
	return strings.Join(parts, ", ")
}

func ipString(b []byte) string {
	if len(b) == 4 {
		return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
	}
	return fmt.Sprintf("%x", b)
}

// capture is a capture, running or ended by itself.
type capture struct {
	File    string
	Port    string
	Packets int
	Lost    uint64
	Bytes   int64
	Max     int
	Done    string // why it stopped by itself

	mu       sync.Mutex // guards the fields above against captureLoop
	f        *os.File
	w        *pcapng.Writer
	iface    int
	closeErr error         // closing the file, once ended is closed
	stop     chan struct{} // closed by capture/stop
	kick     chan struct{} // a drain now, please (capacity 1)
	ended    chan struct{} // closed once the file is closed
}

// finished reports whether c's file is closed.
func (c *capture) finished() bool {
	select {
	case <-c.ended:
		return true
	default:
		return false
	}
}

// settleCapture lets a capture that has ended (full, or its port
// removed) finish now rather than at the next tick, so that the command
// that asks sees it ended, its file closed.
func (d *Daemon) settleCapture(c *capture) {
	if c.finished() {
		return
	}
	c.mu.Lock()
	done := c.Done != ""
	c.mu.Unlock()
	if !done && d.sw.CaptureEnded() == "" {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
	<-c.ended
}

func (d *Daemon) captureStart(args []string) (any, error) {
	if c := d.capture; c != nil {
		d.settleCapture(c)
		if !c.finished() {
			return nil, ctl.Errorf(ctl.CodeExists, "a capture of %s to %s runs: capture/stop first", c.Port, c.File)
		}
		d.capture = nil // ended by itself: its file is complete
	}
	port := args[0]
	opts := map[string]string{}
	dir := "both"
	for _, a := range args[1:] {
		if a == "rx" || a == "tx" || a == "both" {
			dir = a
			continue
		}
		o, err := ctl.ParseOptions([]string{a})
		if err != nil {
			return nil, err
		}
		for k, v := range o {
			opts[k] = v
		}
	}
	f, rest, err := filterOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(rest, "file", "max", "snaplen", "drops", "size"); err != nil {
		return nil, err
	}
	name, named := rest["file"]
	if !named {
		name = defaultCaptureName(port, time.Now())
	}
	maxPkts, err := intOpt(rest, "max", defaultCaptureMax, 1, 1<<30)
	if err != nil {
		return nil, err
	}
	snap, err := intOpt(rest, "snaplen", pipeline.MaxSnaplen, 14, pipeline.MaxSnaplen)
	if err != nil {
		return nil, err
	}
	size, err := intOpt(rest, "size", defaultCaptureSize, 1<<12, 1<<40)
	if err != nil {
		return nil, err
	}
	drops := false
	switch rest["drops"] {
	case "", "off":
	case "on":
		drops = true
	default:
		return nil, ctl.Errorf(ctl.CodeInvalid, "drops=%s: want on or off", rest["drops"])
	}
	cfg := vswitch.CaptureConfig{Port: port, Rx: dir != "tx", Tx: dir != "rx", Drops: drops, Snaplen: snap, Filter: f}
	fh, err := d.createCaptureFile(name)
	if err != nil {
		return nil, err
	}
	file := fh.Name()
	w, err := pcapng.NewWriter(fh, pcapng.Options{MaxBytes: int64(size)})
	var iface int
	if err == nil {
		iface, err = w.AddInterface(port, snap)
	}
	if err == nil {
		err = d.sw.CaptureStart(cfg)
	}
	if err != nil {
		fh.Close()
		os.Remove(file)
		return nil, portErr(err)
	}
	c := &capture{File: file, Port: port, Max: maxPkts, f: fh, w: w, iface: iface,
		stop: make(chan struct{}), kick: make(chan struct{}, 1), ended: make(chan struct{})}
	d.capture = c
	go d.captureLoop(c)
	d.log.Info("capture started", "port", port, "file", file, "dir", dir, "drops", drops)
	return nil, nil
}

// captureLoop drains the workers' capture buffers into the file until
// stopped, done (full, or a write failed) or ended by the switch (its
// port removed); then it closes the file.
func (d *Daemon) captureLoop(c *capture) {
	defer close(c.ended)
	t := time.NewTicker(captureTick)
	defer t.Stop()
	for {
		stopped := false
		select {
		case <-c.stop:
			stopped = true
		case <-t.C:
		case <-c.kick:
		}
		// Read before the drain: what the switch copied before it ended
		// the capture is in the buffers, and is written.
		ended := d.sw.CaptureEnded()
		done := d.drainCapture(c)
		if !stopped && !done && ended == "" {
			continue
		}
		if done && !stopped {
			d.sw.CaptureStop()
		}
		d.closeCapture(c, ended)
		return
	}
}

// closeCapture closes c's file; ended, if not empty, is why the switch
// ended the capture.
func (d *Daemon) closeCapture(c *capture, ended string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Done == "" {
		c.Done = ended
	}
	err := c.w.Flush()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	c.closeErr = err
	if err != nil && c.Done != "" {
		c.Done += "; closing the file failed: " + err.Error()
	}
	if c.Done != "" {
		d.log.Info("capture ended", "port", c.Port, "file", c.File, "packets", c.Packets, "lost", c.Lost, "why", c.Done)
	}
}

// drainCapture writes what the workers captured; it reports whether the
// capture is done (count or size reached, or a write failed).
func (d *Daemon) drainCapture(c *capture) (done bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Lost += d.sw.CaptureDrain(func(p *pipeline.CapturedPacket) {
		if c.Done != "" {
			return
		}
		dir := pcapng.Inbound
		if p.Dir == pipeline.CaptureTx {
			dir = pcapng.Outbound
		}
		comment := ""
		if p.Dir == pipeline.CaptureDrop {
			comment = "dropped: " + p.Reason
		}
		err := c.w.WritePacket(pcapng.Packet{Interface: c.iface, Time: p.Time, Data: p.Data, OrigLen: p.OrigLen, Dir: dir, Comment: comment})
		switch {
		case errors.Is(err, pcapng.ErrFull):
			c.Done = "size limit reached"
		case err != nil:
			c.Done = "write failed: " + err.Error()
		default:
			c.Packets++
			if c.Packets >= c.Max {
				c.Done = "packet count reached"
			}
		}
	})
	c.w.Flush()
	c.Bytes = c.w.Written()
	return c.Done != ""
}

// captureStop stops the capture and closes its file; for a capture that
// ended by itself, it reports how it ended and forgets it.
func (d *Daemon) captureStop([]string) (any, error) {
	c := d.capture
	if c == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no capture runs")
	}
	d.settleCapture(c)
	if !c.finished() {
		d.sw.CaptureStop()
		close(c.stop)
		<-c.ended
		v := c.view()
		d.log.Info("capture stopped", "port", v.Port, "file", v.File, "packets", v.Packets, "lost", v.Lost)
	}
	d.capture = nil
	v := c.view()
	if c.closeErr != nil && v.Done == "" {
		return nil, ctl.Errorf(ctl.CodeInternal, "capture file %s: %v", c.File, c.closeErr)
	}
	return v, nil
}

// captureShow reports the capture: running, or ended by itself (running
// false, Done says why) until capture/stop or the next capture/start;
// with none it succeeds with an idle view (running false, no file), as
// trace/show answers [] with no trace.
func (d *Daemon) captureShow([]string) (any, error) {
	c := d.capture
	if c == nil {
		return ctl.CaptureView{}, nil
	}
	d.settleCapture(c)
	v := c.view()
	v.Running = !c.finished() && v.Done == ""
	return v, nil
}

func (c *capture) view() ctl.CaptureView {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ctl.CaptureView{File: c.File, Port: c.Port, Packets: c.Packets, Lost: c.Lost, Bytes: c.Bytes, Max: c.Max, Done: c.Done}
}

package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/afpacket"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/sriov"
	"github.com/vecswitch/vecswitch/ports/tap"
	"github.com/vecswitch/vecswitch/ports/vhostuser"
)

// sriovShow lists a PF's VFs (vsctl sriov/show).
func (d *Daemon) sriovShow(pf string) (any, error) {
	if _, err := netdev.LinkByName("", pf); err != nil && errors.Is(err, netdev.ErrNotFound) {
		if _, serr := os.Stat(filepath.Join(orDefault(d.sriov.Sysfs, sriov.DefaultSysfs), "class/net", pf)); serr != nil {
			return nil, ctl.Errorf(ctl.CodeNotFound, "no device %s", pf)
		}
	}
	vfs, err := d.sriov.Discover(pf)
	if err != nil {
		if errors.Is(err, sriov.ErrNotSRIOV) {
			return nil, ctl.Errorf(ctl.CodeNotFound, "%v", err)
		}
		return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
	}
	if vfs == nil {
		vfs = []sriov.VF{}
	}
	return vfs, nil
}

// Port types vsctl add-port knows.
const (
	TypeAFXDP = "afxdp"     // an existing interface, by AF_XDP
	TypeVeth  = "veth"      // a new veth pair into a container namespace, host end by AF_PACKET (io=afpacket, the default) or AF_XDP (io=afxdp)
	TypeTap   = "tap"       // a new tap device, optionally in a container namespace
	TypeSRIOV = "sriov"     // an SR-IOV VF's netdev (or representor), configured, by AF_XDP
	TypeVhost = "vhostuser" // a vhost-user socket a VMM (QEMU, Cloud Hypervisor, Kata) connects to
)

// DefaultVethIO is how a new veth port's host end is read and written
// when add-port names no io=: AF_PACKET with virtio-net headers, which
// measured best for TCP (perf/tcp.sh: 0.96x the Linux bridge for one
// stream, against 0.43x for AF_XDP with the fast path, 0.35x without)
// because the container keeps TSO. io=afxdp is the choice for packet
// rate (small frames: several times AF_PACKET's, and the XDP fast path).
// The default is written into the stored port, so a port keeps its mode
// when the default changes; a stored veth port without io= predates this
// default and stays on AF_XDP.
const DefaultVethIO = "afpacket"

// switchOptions are the add-port options that configure the bridge port
// rather than the driver.
var switchOptions = []string{"vlan", "trunks", "mode", "fast-path", "port_security", "mac_limit", "macs"}

// commonOptions apply to every port type.
var commonOptions = []string{"rxq_affinity"}

var typeOptions = map[string][]string{
	TypeAFXDP: {"dev", "queues", "attach", "copy", "ring", "force"},
	TypeVeth:  {"netns", "peer", "host", "ifname", "ip", "gw", "routes", "mac", "mtu", "queues", "attach", "copy", "ring", "io"},
	TypeTap:   {"netns", "ifname", "ip", "gw", "mac", "mtu", "queues", "offload"},
	TypeSRIOV: append([]string{"queues", "attach", "copy", "ring"}, sriov.PortOptions...),
	TypeVhost: vhostuser.Options,
}

// vfOwnsVLAN lists the types for which vlan= configures the driver (the
// VF's VLAN) rather than the bridge port; set-port vlan= sets the latter.
var vfOwnsVLAN = map[string]bool{TypeSRIOV: true}

// driver is a port's driver and the kernel object made for it, which
// del-port removes (a daemon stop leaves it: it is the container's).
type driver struct {
	port ports.Port
	veth *netdev.Veth
	// dev and devIndex name the host interface the port runs on ("" for
	// a vhost-user port): its deletion takes the port down (health.go).
	dev      string
	devIndex int
	// placement, for an AF_XDP port adopted in a takeover, is the worker
	// of each rx queue in the giver (Inherited.placement): the switch
	// must open the queues there, where their sockets' UMEM is.
	placement map[int]int
}

// withDevice records the port's host interface and its index now, so that
// the deletion of an older interface of the same name is told apart.
func (dr *driver) withDevice(name string) *driver {
	dr.dev = name
	if l, err := netdev.LinkByName("", name); err == nil {
		dr.devIndex = l.Index
	}
	return dr
}

// makePort creates spec's driver. replay is true at start-up: a container
// veth that survived a crash of the daemon is reused, not recreated.
func (d *Daemon) makePort(spec PortSpec, replay bool) (*driver, error) {
	if d.memPorts != nil {
		p, err := d.memPorts(spec)
		if err != nil {
			return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
		}
		return &driver{port: p}, nil
	}
	o := spec.Options
	workers := d.sw.Workers()
	nq := len(workers)
	queues, err := intOpt(o, "queues", nq, 1, 256)
	if err != nil {
		return nil, err
	}
	if queues < nq {
		return nil, ctl.Errorf(ctl.CodeInvalid, "queues=%d: the switch runs %d workers and each needs a queue", queues, nq)
	}
	ring, err := intOpt(o, "ring", 4096, 64, 1<<16)
	if err != nil {
		return nil, err
	}
	xcfg := afxdp.Config{Name: spec.Name, Queues: 0, Attach: o["attach"], Copy: o["copy"], RingSize: ring, Logger: d.log, FastPath: d.fp}
	switch spec.Type {
	case TypeAFXDP:
		xcfg.Ifname = orDefault(o["dev"], spec.Name)
		if err := checkHostUse(xcfg.Ifname, o["force"]); err != nil {
			return nil, err
		}
		if _, ok := o["queues"]; ok {
			xcfg.Queues = queues
		}
		p, err := afxdp.New(xcfg)
		if err != nil {
			return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
		}
		return (&driver{port: p}).withDevice(xcfg.Ifname), nil
	case TypeVeth:
		vo, err := vethOptions(spec, queues)
		if err != nil {
			return nil, err
		}
		packet := false
		switch o["io"] {
		case "", "afxdp": // "": stored before DefaultVethIO (add-port writes it)
		case "afpacket":
			// Large frames: the container keeps its offloads.
			packet, vo.KeepTxChecksum = true, true
		default:
			return nil, ctl.Errorf(ctl.CodeUsage, "io=%s: want afpacket (the default: TCP in 64 KiB frames) or afxdp (packet rate, the XDP fast path)", o["io"])
		}
		// The fast path's redirected frames reach the container only
		// with GRO on there (netdev.LinkConfig.GROOn).
		vo.GRO = d.fp != nil && !packet
		vo.Alias = d.vethAlias()
		var v *netdev.Veth
		// add-port: a veth of the host end's name is at best a pair this
		// daemon made for it and died before storing (kill -9 in the
		// middle of add-port).
		stale := !replay
		if replay {
			if v, stale = findVeth(vo); v != nil && vo.GRO {
				if err := netdev.SetGROAt(vo.Netns, v.PeerName, true); err != nil {
					d.log.Warn("GRO not switched on in the container: the port stays out of the fast path", "port", spec.Name, "err", err)
				}
			}
		}
		if v == nil && stale {
			// Deleted only if it carries this daemon's alias and no other
			// port uses it; any other interface of the name stays, and
			// CreateVeth says it exists.
			d.removeOwnVeth(vo.HostName, spec.Name, "veth of this vswitchd that is not the port's pair removed, to be made anew (left by a crash, or its container end renamed or its namespace made anew)")
		}
		created := false
		if v == nil {
			if v, err = netdev.CreateVeth(vo); err != nil {
				return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
			}
			created = true
		}
		var p ports.Port
		if packet {
			p, err = afpacket.New(afpacket.Config{Name: spec.Name, Ifname: v.HostName, Queues: queues,
				MaxFrame: vlanMaxFrame(vo.MTU), Logger: d.log})
		} else {
			xcfg.Ifname = v.HostName
			p, err = afxdp.New(xcfg)
		}
		if err != nil {
			// Only a pair made by this call is removed: one found at
			// replay belongs to the container (and may be in use by
			// another process), whatever went wrong here.
			if created {
				v.Delete()
			}
			return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
		}
		return &driver{port: p, veth: v, dev: v.HostName, devIndex: v.HostIndex}, nil
	case TypeTap:
		// VLAN: room for a tagged full-size frame (vlanMaxFrame).
		tc := tap.Config{Name: spec.Name, Ifname: o["ifname"], Queues: queues, Netns: o["netns"], VLAN: true, Logger: d.log}
		if tc.MTU, err = intOpt(o, "mtu", 1500, 68, tap.MaxMTU); err != nil {
			return nil, err
		}
		if tc.MAC, tc.Addrs, tc.Gateways, err = addrOptions(o); err != nil {
			return nil, err
		}
		if tc.Offload, err = boolOpt("offload", o["offload"]); err != nil {
			return nil, err
		}
		p, err := tap.New(tc)
		if err != nil {
			return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
		}
		if tc.Netns != "" {
			// Its device is in the container's namespace, where the
			// host's link events and dump do not look: the health sweep
			// probes the tap itself (health.go).
			return &driver{port: p}, nil
		}
		return &driver{port: p, dev: p.Device().Ifname, devIndex: p.Device().Index}, nil
	case TypeSRIOV:
		pc, err := sriov.ParsePortOptions(spec.Name, o)
		if err != nil {
			return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
		}
		if _, ok := o["queues"]; ok {
			xcfg.Queues = queues
		}
		pc.XDP, pc.Host = xcfg, d.sriov
		p, err := sriov.NewPort(pc)
		if err != nil {
			return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
		}
		return (&driver{port: p}).withDevice(p.Netdev()), nil
	case TypeVhost:
		vc, err := vhostuser.ParseOptions(o)
		if err != nil {
			return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
		}
		vc.Name, vc.Logger = spec.Name, d.log
		// The switch needs a tx queue per worker; a guest enabling fewer
		// queue pairs shares them (see vhostuser).
		vc.Queues = max(vc.Queues, nq)
		p, err := vhostuser.New(vc)
		if err != nil {
			return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
		}
		return &driver{port: p}, nil
	}
	return nil, ctl.Errorf(ctl.CodeUsage, "unknown port type %q (want afxdp, veth, tap, sriov or vhostuser)", spec.Type)
}

// vlanMaxFrame is the longest frame a port of MTU mtu sends: MTU+18, an
// Ethernet header and an 802.1Q tag, as AF_XDP ports report it. Whether a
// port is a trunk is the bridge's (set-port trunks= changes it without
// making the driver again), so every port has room for the tag that
// l2-output pushes on a full-size frame; Linux takes such a frame: a
// packet socket accepts MTU+4 more for an 802.1Q frame, veth forwards it
// to the container, and a tap hands it over.
func vlanMaxFrame(mtu int) int { return mtu + 14 + 4 }

func vethOptions(spec PortSpec, queues int) (netdev.VethOptions, error) {
	o := spec.Options
	vo := netdev.VethOptions{HostName: orDefault(o["host"], spec.Name), Netns: o["netns"], PeerName: o["ifname"], Queues: queues}
	switch o["peer"] {
	case "":
		if vo.Netns == "" {
			return vo, ctl.Errorf(ctl.CodeUsage, "type=veth needs netns=PATH (e.g. /proc/PID/ns/net or /var/run/netns/NAME), or peer=here")
		}
	case "here":
		// The container end stays here, named ifname=, for a runtime
		// (Docker) to move into the container and configure.
		vo.PeerHere = true
		if vo.Netns != "" || o["ifname"] == "" || o["ip"] != "" || o["gw"] != "" || o["routes"] != "" {
			return vo, ctl.Errorf(ctl.CodeUsage, "peer=here leaves the container end here for its runtime: give ifname=, and no netns=, ip=, gw= or routes=")
		}
	default:
		return vo, ctl.Errorf(ctl.CodeUsage, "peer=%s: the only value is here (the container end stays in vswitchd's namespace for its runtime to move)", o["peer"])
	}
	if err := netdev.ValidateName(vo.HostName); err != nil {
		return vo, ctl.Errorf(ctl.CodeInvalid, "host end name %q: %v (give host=NAME)", vo.HostName, err)
	}
	var err error
	if vo.MTU, err = intOpt(o, "mtu", 1500, 68, afxdp.MaxMTU); err != nil {
		return vo, err
	}
	if vo.MAC, vo.Addrs, vo.Gateways, err = addrOptions(o); err != nil {
		return vo, err
	}
	if vo.Routes, err = routeOptions(o["routes"]); err != nil {
		return vo, err
	}
	return vo, nil
}

// routeOptions parses routes=DST[@GW],...: routes in the container (a
// route without @GW is on-link).
func routeOptions(s string) ([]netdev.Route, error) {
	var rs []netdev.Route
	for _, f := range splitList(s) {
		dst, gw, hasGw := strings.Cut(f, "@")
		p, err := netip.ParsePrefix(dst)
		if err != nil || p != p.Masked() {
			return nil, ctl.Errorf(ctl.CodeInvalid, "routes=%s: %q: want a network DST/PREFIX[@GATEWAY]", s, f)
		}
		r := netdev.Route{Dst: p}
		if hasGw {
			if r.Gw, err = netip.ParseAddr(gw); err != nil || r.Gw.Is4() != p.Addr().Is4() {
				return nil, ctl.Errorf(ctl.CodeInvalid, "routes=%s: %q: gateway %q is not an address of the route's family", s, f, gw)
			}
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// existingVeth is the pair findVeth finds, or nil.
func existingVeth(vo netdev.VethOptions) *netdev.Veth {
	v, _ := findVeth(vo)
	return v
}

// findVeth finds a pair made by an earlier run of the daemon: the host
// end exists and is a veth, and its peer is the container end in the
// namespace (vethPeers: an interface of that name there is not enough; the
// container end may have been renamed, or the namespace made anew at the
// same path, with an eth0 of its own). stale is true when the host end is
// a veth but not that pair (makePort deletes it if it carries this
// daemon's alias, and makes the pair anew).
func findVeth(vo netdev.VethOptions) (v *netdev.Veth, stale bool) {
	h, err := netdev.LinkByName("", vo.HostName)
	if err != nil || h.Kind != "veth" {
		return nil, false
	}
	if vo.PeerHere {
		// The runtime has moved the container end where it wanted: the
		// host end is what the port needs.
		return &netdev.Veth{HostName: h.Name, HostIndex: h.Index, HostMAC: h.MAC, PeerName: vo.PeerName, PeerMAC: vo.MAC,
			MTU: h.MTU, Queues: h.RxQueues}, false
	}
	peer := orDefault(vo.PeerName, "eth0")
	peers, known := vethPeers(h.Name, vo.Netns, peer)
	if !peers {
		return nil, known
	}
	c, err := netdev.LinkByName(vo.Netns, peer)
	if err != nil {
		return nil, false
	}
	return &netdev.Veth{HostName: h.Name, HostIndex: h.Index, HostMAC: h.MAC, PeerName: c.Name, PeerIndex: c.Index,
		PeerMAC: c.MAC, Netns: vo.Netns, MTU: h.MTU, Queues: h.RxQueues}, false
}

func addrOptions(o map[string]string) (mac net.HardwareAddr, addrs []netip.Prefix, gws []netip.Addr, err error) {
	if s := o["mac"]; s != "" {
		if mac, err = net.ParseMAC(s); err != nil {
			return nil, nil, nil, ctl.Errorf(ctl.CodeInvalid, "mac=%s: %v", s, err)
		}
	}
	for _, s := range splitList(o["ip"]) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, nil, nil, ctl.Errorf(ctl.CodeInvalid, "ip=%s: want ADDRESS/PREFIX: %v", s, err)
		}
		addrs = append(addrs, p)
	}
	for _, s := range splitList(o["gw"]) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, nil, nil, ctl.Errorf(ctl.CodeInvalid, "gw=%s: %v", s, err)
		}
		gws = append(gws, a)
	}
	return mac, addrs, gws, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intOpt(o map[string]string, key string, def, lo, hi int) (int, error) {
	s, ok := o[key]
	if !ok || s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, ctl.Errorf(ctl.CodeInvalid, "%s=%s: want a number from %d to %d", key, s, lo, hi)
	}
	return n, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// destroy removes what makePort created for good (del-port): a container
// veth is deleted, a VF gets back the settings it had before.
func (dr *driver) destroy() error {
	if dr.veth != nil {
		return dr.veth.Delete()
	}
	if p, ok := dr.port.(*sriov.Port); ok {
		return p.Restore()
	}
	return nil
}

func checkPortOptions(typ string, opts map[string]string) error {
	allowed, ok := typeOptions[typ]
	if !ok {
		return ctl.Errorf(ctl.CodeUsage, "unknown port type %q (want afxdp, veth, tap, sriov or vhostuser)", typ)
	}
	keys := append(append(append(append([]string{"type"}, switchOptions...), commonOptions...), guardOptions...), allowed...)
	if err := ctl.CheckOptions(opts, keys...); err != nil {
		return fmt.Errorf("type=%s: %w", typ, err)
	}
	return checkGuardOptions(opts)
}

// driverStats returns the driver's own counters.
func driverStats(dr *driver) any {
	switch p := dr.port.(type) {
	case *afxdp.Port:
		return p.Stats()
	case *tap.Port:
		return p.Stats()
	case *afpacket.Port:
		return p.Stats()
	case *sriov.Port:
		return p.Stats()
	case *vhostuser.Port:
		return struct {
			vhostuser.Stats
			Status vhostuser.Status `json:"status"`
		}{p.Stats(), p.Status()}
	}
	return nil
}

// setMTU changes the MTU of a port's interfaces in place (both ends of a
// container veth; a tap is made anew), then re-attaches the port so the
// switch learns its new largest frame. Only that port blinks. old is the
// port as it is: if the port cannot be made again with the new MTU, the
// interfaces get their MTUs back and the port is made again as old, so a
// failed change leaves nothing half done.
func (d *Daemon) setMTU(old, spec PortSpec) error {
	if maxMTU(spec.Type) == 0 {
		return ctl.Errorf(ctl.CodeInvalid, "mtu: a %s port's MTU is not set by the switch", spec.Type)
	}
	if spec.Options["peer"] == "here" {
		return ctl.Errorf(ctl.CodeInvalid, "mtu: the container end of %s belongs to the runtime that moved it (set the MTU of its network there)", spec.Name)
	}
	mtu, err := intOpt(spec.Options, "mtu", 1500, 68, maxMTU(spec.Type))
	if err != nil {
		return err
	}
	type link struct {
		netns, name string
		mtu         int // before the change
	}
	var links []link
	switch spec.Type {
	case TypeAFXDP:
		links = []link{{"", orDefault(spec.Options["dev"], spec.Name), 0}}
	case TypeVeth:
		links = []link{{"", orDefault(spec.Options["host"], spec.Name), 0},
			{spec.Options["netns"], orDefault(spec.Options["ifname"], "eth0"), 0}}
	case TypeTap:
		// A tap lives as long as its file descriptors: re-attaching makes
		// a new one with the new MTU and the port's addresses.
	}
	restore := func(set []link) {
		for _, l := range set {
			if rerr := netdev.Configure(l.netns, l.name, netdev.LinkConfig{MTU: l.mtu}); rerr != nil {
				d.log.Warn("interface MTU not put back after a failed change", "port", spec.Name, "interface", l.name, "mtu", l.mtu, "err", rerr)
			}
		}
	}
	for i := range links {
		l := &links[i]
		info, err := netdev.LinkByName(l.netns, l.name)
		if err == nil {
			l.mtu = info.MTU
			err = netdev.Configure(l.netns, l.name, netdev.LinkConfig{MTU: mtu})
		}
		if err != nil {
			restore(links[:i])
			return ctl.Errorf(ctl.CodeInvalid, "mtu=%d: %v", mtu, err)
		}
	}
	if err := d.detach(spec.Name, false); err != nil {
		return err
	}
	if err := d.attach(spec, true); err != nil {
		restore(links)
		if berr := d.attach(old, true); berr != nil {
			d.log.Warn("port not attached again after a failed MTU change (retried while down)", "port", spec.Name, "err", berr)
		}
		return err
	}
	return nil
}

// maxMTU is the largest MTU set-port mtu= takes for a port type (0: the
// switch does not set that type's MTU): AF_XDP frames fit one buffer with
// the kernel's XDP headroom; a tap frame fits the pipeline's largest packet.
func maxMTU(typ string) int {
	switch typ {
	case TypeAFXDP, TypeVeth:
		return afxdp.MaxMTU
	case TypeTap:
		return tap.MaxMTU
	}
	return 0
}

// stationMAC is the MAC of the container interface the daemon made for
// the port (a veth's container end, a tap device), "" for other ports.
func (dr *driver) stationMAC() string {
	if dr.veth != nil && dr.veth.PeerMAC != nil {
		return dr.veth.PeerMAC.String()
	}
	return dr.mac()
}

// recordVethMACs stores, as mac=, the container MAC of each veth port
// that has none stored (added before add-port stored it) and whose pair
// the start found: a pair made again later then keeps the MAC its port
// security binds. A port whose pair is already gone keeps no MAC to
// record: its next pair gets a new one, as before (set-port macs= binds
// it). Called at start, after the ports are attached.
func (d *Daemon) recordVethMACs() {
	next := d.state.clone()
	n := 0
	for i := range next.Ports {
		spec := &next.Ports[i]
		dr := d.drivers[spec.Name]
		if spec.Type != TypeVeth || spec.Options["mac"] != "" || dr == nil || dr.veth == nil || dr.veth.PeerMAC == nil {
			continue
		}
		if spec.Options == nil {
			spec.Options = map[string]string{}
		}
		spec.Options["mac"] = dr.veth.PeerMAC.String()
		n++
	}
	if n == 0 {
		return
	}
	// Only drivers' options change: the switch's configuration is the same.
	if err := d.store.Commit(&d.state, &next); err != nil {
		d.log.Warn("container MACs of veth ports not stored: a pair made again gets a new MAC", "ports", n, "err", err)
		return
	}
	d.state = next
	d.log.Info("container MACs of veth ports stored, for pairs made again to keep them", "ports", n)
}

// mac is the MAC of a tap port's device ("" for other drivers).
func (dr *driver) mac() string {
	if p, ok := dr.port.(*tap.Port); ok && p.Device().MAC != nil {
		return p.Device().MAC.String()
	}
	return ""
}

// checkHostUse refuses an interface the host itself uses (its default
// route or its addresses go through it: the uplink, a management NIC):
// XDP and AF_XDP would take its frames and cut the host off. force=true
// takes it anyway. A missing device is named as such.
func checkHostUse(ifname, force string) error {
	forced, err := boolOpt("force", force)
	if err != nil {
		return err
	}
	u, err := netdev.HostUseOf("", ifname)
	if errors.Is(err, netdev.ErrNotFound) {
		return ctl.Errorf(ctl.CodeNotFound, "no device %s", ifname)
	}
	if err != nil {
		return ctl.Errorf(ctl.CodeInvalid, "device %s: %v", ifname, err)
	}
	if u.InUse() && !forced {
		return ctl.Errorf(ctl.CodeInvalid, "device %s is the host's: %s; attaching it would cut the host off (give force=true to attach it anyway)", ifname, u)
	}
	return nil
}

// boolOpt parses an on/off option ("" is off; true/false, yes/no and
// 1/0 are taken too).
func boolOpt(key, v string) (bool, error) {
	switch v {
	case "", "false", "off", "no", "0":
		return false, nil
	case "true", "on", "yes", "1":
		return true, nil
	}
	return false, ctl.Errorf(ctl.CodeInvalid, "%s=%s: want on or off (or true or false)", key, v)
}

package perf

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// innerIfname is the name of the veth end inside each namespace.
const innerIfname = "eth0"

// endpoint is one namespace with a veth pair: eth0 inside, the host end in
// the caller's namespace.
type endpoint struct {
	nsName string
	ns     netns.NsHandle
	nl     *netlink.Handle // netlink inside the namespace
	host   string          // host end's name
	hostIx int
	mac    net.HardwareAddr // eth0's
	inIx   int              // eth0's ifindex
	ip     net.IP
}

// topo is one run's topology: a sender and a receiver namespace, each
// with a veth whose host end stays in the caller's namespace, connected by
// whatever the path adds. Every name carries the run's unique id, and close
// removes everything that was made, newest first.
type topo struct {
	id       string
	snd, rcv endpoint
	bridge   string
	// sg, if not empty, are the security groups the Vecswitch paths
	// apply (pairBridge): the security-group suite's filtered paths.
	sg   []vswitch.SecurityGroup
	undo []func() error
}

// Addresses of the namespaces (198.18.0.0/15 is set aside for benchmarks).
var (
	sndIP = net.IP{198, 18, 0, 1}
	rcvIP = net.IP{198, 18, 0, 2}
)

// newTopo is a topology of two namespaces, each with its veth (addVeth).
func newTopo(id string) (*topo, error) { return newTopoWith(id, (*topo).addEndpoint) }

func (t *topo) addEndpoint(e *endpoint, role, letter string, ip net.IP) error {
	if err := t.addNamespace(e, role, letter, ip); err != nil {
		return err
	}
	return t.addVeth(e)
}

// newTopoNS is a topology of two empty namespaces (loopback up): the path
// brings their interfaces (PathTap).
func newTopoNS(id string) (*topo, error) { return newTopoWith(id, (*topo).addNamespace) }

// newTopoWith makes the sender's and the receiver's endpoints with add;
// on failure it removes what it made.
func newTopoWith(id string, add func(t *topo, e *endpoint, role, letter string, ip net.IP) error) (t *topo, err error) {
	t = &topo{id: id}
	defer closeOnError(&err, t.close)
	if err := add(t, &t.snd, "snd", "s", sndIP); err != nil {
		return t, err
	}
	if err := add(t, &t.rcv, "rcv", "r", rcvIP); err != nil {
		return t, err
	}
	return t, nil
}

// addNamespace makes e's namespace with its loopback up.
func (t *topo) addNamespace(e *endpoint, role, letter string, ip net.IP) error {
	e.nsName, e.host, e.ip = "vsb-"+t.id+"-"+role, "vsb"+t.id+letter, ip
	h, err := newNamedNS(e.nsName)
	if err != nil {
		return err
	}
	e.ns = h
	t.undo = append(t.undo, func() error {
		h.Close()
		return netns.DeleteNamed(e.nsName)
	})
	if e.nl, err = netlink.NewHandleAt(h); err != nil {
		return fmt.Errorf("perf: netlink in %s: %w", e.nsName, err)
	}
	t.undo = append(t.undo, func() error { e.nl.Close(); return nil })
	if lo, err := e.nl.LinkByName("lo"); err == nil {
		e.nl.LinkSetUp(lo)
	}
	return nil
}

// addVeth gives e's namespace eth0 with e.ip/24, the peer of host end
// e.host in the caller's namespace.
func (t *topo) addVeth(e *endpoint) error {
	h, ip := e.ns, e.ip
	la := netlink.NewLinkAttrs()
	la.Name, la.NumTxQueues, la.NumRxQueues = e.host, 1, 1
	v := &netlink.Veth{LinkAttrs: la, PeerName: innerIfname, PeerNamespace: netlink.NsFd(int(h)),
		PeerNumTxQueues: 1, PeerNumRxQueues: 1, PeerTxQLen: -1}
	if err := netlink.LinkAdd(v); err != nil {
		return fmt.Errorf("perf: create veth %s: %w", e.host, err)
	}
	hl, err := netlink.LinkByName(e.host)
	if err != nil {
		return fmt.Errorf("perf: veth %s: %w", e.host, err)
	}
	e.hostIx = hl.Attrs().Index
	t.undo = append(t.undo, func() error { return delLink(e.host, e.hostIx) })
	in, err := e.nl.LinkByName(innerIfname)
	if err != nil {
		return fmt.Errorf("perf: %s in %s: %w", innerIfname, e.nsName, err)
	}
	if err := e.nl.AddrAdd(in, &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(24, 32)}}); err != nil {
		return fmt.Errorf("perf: address %s on %s in %s: %w", ip, innerIfname, e.nsName, err)
	}
	if err := e.nl.LinkSetUp(in); err != nil {
		return fmt.Errorf("perf: %s up in %s: %w", innerIfname, e.nsName, err)
	}
	if err := netlink.LinkSetUp(hl); err != nil {
		return fmt.Errorf("perf: %s up: %w", e.host, err)
	}
	in, err = e.nl.LinkByName(innerIfname)
	if err != nil {
		return err
	}
	e.mac, e.inIx = in.Attrs().HardwareAddr, in.Attrs().Index
	return nil
}

// txChecksumOff switches TX checksum offload off on both namespaces'
// eth0 (and with it TSO): what AF_XDP ports need, which carry no partial
// checksums.
func (t *topo) txChecksumOff() error {
	for _, e := range []*endpoint{&t.snd, &t.rcv} {
		if err := netdev.SetTxChecksumAt(e.nsPath(), innerIfname, false); err != nil {
			return err
		}
	}
	return nil
}

// nsPath is the namespace's bind mount.
func (e *endpoint) nsPath() string { return "/run/netns/" + e.nsName }

// delLink deletes the link name if it is still the one with index ix (a
// link we made); a link already gone is fine.
func delLink(name string, ix int) error {
	l, err := netlink.LinkByIndex(ix)
	if err != nil || l.Attrs().Name != name {
		return nil
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("perf: delete %s: %w", name, err)
	}
	return nil
}

// addBridge connects the host ends with a Linux bridge (no STP, so ports
// forward at once) and installs the receiver's MAC statically, as the
// Vecswitch path does, so nothing is flooded.
func (t *topo) addBridge() error {
	t.bridge = "vsb" + t.id + "br"
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: t.bridge, TxQLen: -1}}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("perf: create bridge %s: %w", t.bridge, err)
	}
	bl, err := netlink.LinkByName(t.bridge)
	if err != nil {
		return fmt.Errorf("perf: bridge %s: %w", t.bridge, err)
	}
	ix := bl.Attrs().Index
	t.undo = append(t.undo, func() error { return delLink(t.bridge, ix) })
	for _, e := range []*endpoint{&t.snd, &t.rcv} {
		hl, err := netlink.LinkByIndex(e.hostIx)
		if err != nil {
			return err
		}
		if err := netlink.LinkSetMasterByIndex(hl, ix); err != nil {
			return fmt.Errorf("perf: enslave %s to %s: %w", e.host, t.bridge, err)
		}
	}
	if err := netlink.LinkSetUp(bl); err != nil {
		return fmt.Errorf("perf: %s up: %w", t.bridge, err)
	}
	fdb := &netlink.Neigh{LinkIndex: t.rcv.hostIx, Family: unix.AF_BRIDGE, State: netlink.NUD_NOARP,
		Flags: netlink.NTF_MASTER, HardwareAddr: t.rcv.mac}
	if err := netlink.NeighAdd(fdb); err != nil {
		return fmt.Errorf("perf: static fdb entry %s on %s: %w", t.rcv.mac, t.rcv.host, err)
	}
	return nil
}

// closeOnError, deferred, calls close if the function returns an error
// (*err), and joins what close says to it: for functions that undo what
// they made when they fail.
func closeOnError(err *error, close func() error) {
	if *err != nil {
		*err = errors.Join(*err, close())
	}
}

// close removes everything made, newest first.
func (t *topo) close() error {
	var errs []error
	for i := len(t.undo) - 1; i >= 0; i-- {
		errs = append(errs, t.undo[i]())
	}
	t.undo = nil
	return errors.Join(errs...)
}

// linkStats reads the kernel counters of every device on the path, from
// sender to receiver.
func (t *topo) linkStats() []LinkDelta {
	var out []LinkDelta
	add := func(dev string, l netlink.Link, err error) {
		if err != nil || l.Attrs().Statistics == nil {
			return
		}
		s := l.Attrs().Statistics
		out = append(out, LinkDelta{Dev: dev, RxPackets: s.RxPackets, TxPackets: s.TxPackets, RxDropped: s.RxDropped, TxDropped: s.TxDropped})
	}
	l, err := t.snd.nl.LinkByName(innerIfname)
	add("snd/"+innerIfname, l, err)
	l, err = netlink.LinkByIndex(t.snd.hostIx)
	add(t.snd.host, l, err)
	if t.bridge != "" {
		l, err = netlink.LinkByName(t.bridge)
		add(t.bridge, l, err)
	}
	l, err = netlink.LinkByIndex(t.rcv.hostIx)
	add(t.rcv.host, l, err)
	l, err = t.rcv.nl.LinkByName(innerIfname)
	add("rcv/"+innerIfname, l, err)
	return out
}

// subLinks is after - before, device by device.
func subLinks(after, before []LinkDelta) []LinkDelta {
	out := make([]LinkDelta, 0, len(after))
	for _, a := range after {
		for _, b := range before {
			if a.Dev == b.Dev {
				a.RxPackets -= b.RxPackets
				a.TxPackets -= b.TxPackets
				a.RxDropped -= b.RxDropped
				a.TxDropped -= b.TxDropped
			}
		}
		out = append(out, a)
	}
	return out
}

// steerRx sets receive packet steering of a host end's queue to cpu, so
// the kernel processes what the namespace sends (bridging included) there
// instead of on the sender's CPU.
func steerRx(host string, cpu int) error {
	mask := make([]byte, 0, 16)
	// The mask is hex, 32-bit words separated by commas; one word per 32
	// CPUs from the top.
	words := cpu/32 + 1
	for w := words - 1; w >= 0; w-- {
		v := uint32(0)
		if cpu/32 == w {
			v = 1 << (cpu % 32)
		}
		mask = fmt.Appendf(mask, "%08x", v)
		if w > 0 {
			mask = append(mask, ',')
		}
	}
	p := "/sys/class/net/" + host + "/queues/rx-0/rps_cpus"
	if err := os.WriteFile(p, mask, 0); err != nil {
		return fmt.Errorf("perf: steer %s to CPU %d: %w", host, cpu, err)
	}
	return nil
}

package perf

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/tap"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The VXLAN paths' underlay (198.18.0.0/15 is set aside for benchmarks):
// the local VTEP and the far one, and the VNI.
var (
	vxLocal = net.IP{198, 19, 0, 1}
	vxFar   = net.IP{198, 19, 0, 2}
)

const vxVNI = 100

// The VXLAN topology: the sender is a container on the local host's
// overlay; the receiver namespace is the far host, a kernel VTEP (vx0,
// holding the receiver's overlay address), reached over an underlay veth
// whose far end is its eth0. Only the local host differs between the two
// paths: a Linux bridge with a kernel vxlan device in a namespace of its
// own ("lh", the sender attached by veth), or Vecswitch (the sender on a
// tap with offloads, the underlay an AF_XDP port) — each with the
// offloads it can use, as a user would run it.

// kernelVTEP gives a namespace a vxlan device vx0 on dev (which must
// exist) from local to remote, with addr/24 on it, up.
func kernelVTEP(nl *netlink.Handle, dev string, local, remote, addr net.IP) error {
	eth, err := nl.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("perf: %s: %w", dev, err)
	}
	la := netlink.NewLinkAttrs()
	la.Name = "vx0"
	vx := &netlink.Vxlan{LinkAttrs: la, VxlanId: vxVNI, VtepDevIndex: eth.Attrs().Index,
		SrcAddr: local, Group: remote, Port: vswitch.DefaultVXLANPort, Learning: true}
	if err := nl.LinkAdd(vx); err != nil {
		return fmt.Errorf("perf: vxlan device: %w", err)
	}
	l, err := nl.LinkByName("vx0")
	if err != nil {
		return err
	}
	if addr != nil {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: addr, Mask: net.CIDRMask(24, 32)}, Flags: unix.IFA_F_NODAD}
		if err := nl.AddrAdd(l, a); err != nil {
			return fmt.Errorf("perf: address on vx0: %w", err)
		}
	}
	return nl.LinkSetUp(l)
}

// underlay gives the far host its eth0 with vxFar/24, the peer of host in
// the caller's namespace (or in ns lh when lh is not nil, with vxLocal/24
// there).
func (t *topo) underlay(host string, lh *endpoint) error {
	la := netlink.NewLinkAttrs()
	la.Name, la.NumTxQueues, la.NumRxQueues = host, 1, 1
	if lh != nil {
		la.Namespace = netlink.NsFd(int(lh.ns))
	}
	v := &netlink.Veth{LinkAttrs: la, PeerName: innerIfname, PeerNamespace: netlink.NsFd(int(t.rcv.ns)),
		PeerNumTxQueues: 1, PeerNumRxQueues: 1, PeerTxQLen: -1}
	if err := netlink.LinkAdd(v); err != nil {
		return fmt.Errorf("perf: underlay veth %s: %w", host, err)
	}
	if lh == nil {
		hl, err := netlink.LinkByName(host)
		if err != nil {
			return err
		}
		ix := hl.Attrs().Index
		t.undo = append(t.undo, func() error { return delLink(host, ix) })
		if err := netlink.LinkSetUp(hl); err != nil {
			return err
		}
	} else {
		hl, err := lh.nl.LinkByName(host)
		if err != nil {
			return err
		}
		a := &netlink.Addr{IPNet: &net.IPNet{IP: vxLocal, Mask: net.CIDRMask(24, 32)}, Flags: unix.IFA_F_NODAD}
		if err := lh.nl.AddrAdd(hl, a); err != nil {
			return err
		}
		if err := lh.nl.LinkSetUp(hl); err != nil {
			return err
		}
	}
	far, err := t.rcv.nl.LinkByName(innerIfname)
	if err != nil {
		return err
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: vxFar, Mask: net.CIDRMask(24, 32)}, Flags: unix.IFA_F_NODAD}
	if err := t.rcv.nl.AddrAdd(far, a); err != nil {
		return err
	}
	// The far host stands for another machine, whose frames arrive with
	// their checksums complete: a veth would hand over partial ones,
	// which an AF_XDP port cannot tell from bad ones. Both paths get
	// the same far host; it only sends ACKs.
	if err := netdev.SetTxChecksumAt(t.rcv.nsPath(), innerIfname, false); err != nil {
		return err
	}
	return t.rcv.nl.LinkSetUp(far)
}

// startBridgeVXLAN is the kernel's local host: namespace lh with a bridge
// holding the sender's veth and a vxlan device, and the underlay.
func startBridgeVXLAN(t *topo) (*rig, error) {
	lh := &endpoint{}
	if err := t.addNamespace(lh, "lh", "l", nil); err != nil {
		return nil, err
	}
	if err := t.underlay("u0", lh); err != nil {
		return nil, err
	}
	if err := kernelVTEP(t.rcv.nl, innerIfname, vxFar, vxLocal, t.rcv.ip); err != nil {
		return nil, err
	}
	if err := kernelVTEP(lh.nl, "u0", vxLocal, vxFar, nil); err != nil {
		return nil, err
	}
	// The sender's veth, its host end in lh, on a bridge with vx0.
	la := netlink.NewLinkAttrs()
	la.Name, la.Namespace = "c0", netlink.NsFd(int(lh.ns))
	v := &netlink.Veth{LinkAttrs: la, PeerName: innerIfname, PeerNamespace: netlink.NsFd(int(t.snd.ns)), PeerTxQLen: -1}
	if err := netlink.LinkAdd(v); err != nil {
		return nil, fmt.Errorf("perf: sender's veth: %w", err)
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0", TxQLen: -1}}
	if err := lh.nl.LinkAdd(br); err != nil {
		return nil, fmt.Errorf("perf: bridge: %w", err)
	}
	brl, err := lh.nl.LinkByName("br0")
	if err != nil {
		return nil, err
	}
	for _, n := range []string{"c0", "vx0"} {
		l, err := lh.nl.LinkByName(n)
		if err != nil {
			return nil, err
		}
		if err := lh.nl.LinkSetMasterByIndex(l, brl.Attrs().Index); err != nil {
			return nil, fmt.Errorf("perf: %s on the bridge: %w", n, err)
		}
		if err := lh.nl.LinkSetUp(l); err != nil {
			return nil, err
		}
	}
	if err := lh.nl.LinkSetUp(br); err != nil {
		return nil, err
	}
	if err := senderOnOverlay(t, vswitch.OverlayMTU); err != nil {
		return nil, err
	}
	return &rig{close: func() error { return nil }, report: func(*E2EResult) {}}, nil
}

// senderOnOverlay gives the sender's veth end eth0 its address and the
// overlay MTU, up.
func senderOnOverlay(t *topo, mtu int) error {
	in, err := t.snd.nl.LinkByName(innerIfname)
	if err != nil {
		return err
	}
	if err := t.snd.nl.LinkSetMTU(in, mtu); err != nil {
		return err
	}
	if err := t.snd.nl.AddrAdd(in, &netlink.Addr{IPNet: &net.IPNet{IP: t.snd.ip, Mask: net.CIDRMask(24, 32)}}); err != nil {
		return err
	}
	return t.snd.nl.LinkSetUp(in)
}

// startVecswitchVXLAN is Vecswitch as the local host: the sender on a tap
// with offloads in an overlay bridge, VNI vxVNI to the far VTEP, the
// underlay an AF_XDP port with a router interface holding vxLocal.
func startVecswitchVXLAN(t *topo, cpu int) (r *rig, err error) {
	if err := t.underlay("vsb"+t.id+"u", nil); err != nil {
		return nil, err
	}
	if err := kernelVTEP(t.rcv.nl, innerIfname, vxFar, vxLocal, t.rcv.ip); err != nil {
		return nil, err
	}
	sw, err := newE2ESwitch(cpu)
	if err != nil {
		return nil, err
	}
	defer closeOnError(&err, sw.Close)
	ip, _ := netip.AddrFromSlice(t.snd.ip.To4())
	c, err := tap.New(tap.Config{Name: vsSndPort, Ifname: innerIfname, Netns: t.snd.nsPath(), Offload: true,
		MTU: vswitch.OverlayMTU, Addrs: []netip.Prefix{netip.PrefixFrom(ip, 24)}})
	if err != nil {
		return nil, fmt.Errorf("perf: tap: %w", err)
	}
	if err := addPort(sw, c); err != nil {
		return nil, err
	}
	u, err := afxdp.New(afxdp.Config{Name: vsRcvPort, Ifname: "vsb" + t.id + "u", RingSize: e2eRing})
	if err != nil {
		return nil, err
	}
	if err := addPort(sw, u); err != nil {
		return nil, err
	}
	cfg := vswitch.Config{
		Bridges: []vswitch.Bridge{{Name: "ov", Ports: []vswitch.Port{{Name: vsSndPort}},
			VXLAN: []vswitch.VNI{{VNI: vxVNI, Remotes: []string{vxFar.String()}}}}},
		Interfaces: []vswitch.Interface{{Name: "uplink", Port: vsRcvPort, Addrs: []string{vxLocal.String() + "/24"}}},
		VTEP:       &vswitch.VTEP{Addr: vxLocal.String()},
	}
	return switchRig(sw, cfg, sw.Close, []string{vsSndPort, vsRcvPort}, nil)
}

package perf

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// The kernel paths of the security-group and service suites keep their
// Linux bridges in a namespace of their own (so its netfilter hooks,
// nftables tables and conntrack are the run's alone): the bridges, the
// veths from the other namespaces to them, and the nftables table are
// made with these.

// addBridgeIn makes Linux bridge name, down and without an address, in
// br's namespace.
func addBridgeIn(br *endpoint, name string) (netlink.Link, error) {
	if err := br.nl.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, TxQLen: -1}}); err != nil {
		return nil, fmt.Errorf("perf: create bridge %s in %s: %w", name, br.nsName, err)
	}
	bl, err := br.nl.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("perf: bridge %s: %w", name, err)
	}
	return bl, nil
}

// attachVethIn gives e's namespace eth0 with e.ip/24, up, the peer of
// host end e.host in br's namespace, enslaved there to bridge bl and up;
// it fills e's hostIx, mac and inIx. Deleting either namespace removes
// the pair.
func attachVethIn(br *endpoint, bl netlink.Link, e *endpoint) error {
	la := netlink.NewLinkAttrs()
	la.Name, la.NumTxQueues, la.NumRxQueues = e.host, 1, 1
	la.Namespace = netlink.NsFd(int(br.ns))
	v := &netlink.Veth{LinkAttrs: la, PeerName: innerIfname, PeerNamespace: netlink.NsFd(int(e.ns)),
		PeerNumTxQueues: 1, PeerNumRxQueues: 1, PeerTxQLen: -1}
	if err := netlink.LinkAdd(v); err != nil {
		return fmt.Errorf("perf: create veth %s: %w", e.host, err)
	}
	hl, err := br.nl.LinkByName(e.host)
	if err != nil {
		return fmt.Errorf("perf: veth %s in %s: %w", e.host, br.nsName, err)
	}
	e.hostIx = hl.Attrs().Index
	if err := br.nl.LinkSetMasterByIndex(hl, bl.Attrs().Index); err != nil {
		return fmt.Errorf("perf: enslave %s to %s: %w", e.host, bl.Attrs().Name, err)
	}
	if err := br.nl.LinkSetUp(hl); err != nil {
		return fmt.Errorf("perf: %s up: %w", e.host, err)
	}
	in, err := e.nl.LinkByName(innerIfname)
	if err != nil {
		return fmt.Errorf("perf: %s in %s: %w", innerIfname, e.nsName, err)
	}
	if err := e.nl.AddrAdd(in, &netlink.Addr{IPNet: &net.IPNet{IP: e.ip, Mask: net.CIDRMask(24, 32)}}); err != nil {
		return fmt.Errorf("perf: address %s in %s: %w", e.ip, e.nsName, err)
	}
	if err := e.nl.LinkSetUp(in); err != nil {
		return fmt.Errorf("perf: %s up in %s: %w", innerIfname, e.nsName, err)
	}
	e.mac, e.inIx = in.Attrs().HardwareAddr, in.Attrs().Index
	return nil
}

// loadNftTable loads ruleset, which makes table family name, into e's
// namespace (nft -f) and has t.close delete the table first.
func (t *topo) loadNftTable(ctx context.Context, e *endpoint, family, name, ruleset string) error {
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", e.nsName, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("perf: nft -f (%s family): %w: %s", family, err, firstLines(string(out), 3))
	}
	t.undo = append(t.undo, func() error {
		out, err := exec.Command("ip", "netns", "exec", e.nsName, "nft", "delete", "table", family, name).CombinedOutput()
		if err != nil {
			return fmt.Errorf("perf: nft delete table %s %s: %w: %s", family, name, err, out)
		}
		return nil
	})
	return nil
}

// firstLines is s cut to its first n lines.
func firstLines(s string, n int) string {
	ls := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	if len(ls) > n {
		ls = append(ls[:n], "...")
	}
	return strings.Join(ls, " / ")
}

// setSysctlIn writes value to /proc/sys/<key> as seen from namespace ns
// (/proc/sys/net is the opening thread's namespace's).
func setSysctlIn(ns netns.NsHandle, key, value string) error {
	return onThreadIn(ns, func() error {
		if err := os.WriteFile("/proc/sys/"+key, []byte(value), 0); err != nil {
			return fmt.Errorf("perf: sysctl %s=%s: %w", key, value, err)
		}
		return nil
	})
}

//go:build linux

package cnitest

import (
	"crypto/rand"
	"net"
	"testing"

	"github.com/vishvananda/netlink"
)

// NewBridge makes the host bridge name, up, with a fixed random locally
// administered MAC, for the standard bridge plugin to use (it takes an
// existing bridge as it is), and deletes it at cleanup.
//
// Why not let the plugin make it: a Linux bridge whose MAC was never set
// takes the lowest MAC of its ports, so it changes as containers join,
// and the plugin's CHECK compares it with the MAC it reported at ADD
// ("Bridge interface ... Mac doesn't match"): a CHECK of the first
// container after a second joined fails about half the time. A MAC
// given when the bridge is made stays.
func NewBridge(t testing.TB, name string) {
	t.Helper()
	mac := make(net.HardwareAddr, 6)
	rand.Read(mac)
	mac[0] = mac[0]&^1 | 2 // unicast, locally administered
	la := netlink.NewLinkAttrs()
	la.Name, la.HardwareAddr = name, mac
	DeleteLinkAtCleanup(t, name)
	br := &netlink.Bridge{LinkAttrs: la}
	if err := netlink.LinkAdd(br); err != nil {
		t.Fatalf("cnitest: make bridge %s: %v", name, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		t.Fatalf("cnitest: bridge %s up: %v", name, err)
	}
}

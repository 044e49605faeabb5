//go:build linux

package cnitest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/internal/nettest"
)

// Netns is a network namespace made for one test (nettest.NS: unique
// name, lo up, bound under /run/netns, deleted at cleanup even when the
// test fails; a failed delete fails the test). Its Path is what a CNI
// client takes as the container's netns.
type Netns struct {
	*nettest.NS
}

// NewNetns makes a namespace for the test (root only: it skips otherwise).
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	nettest.NeedRoot(t)
	return &Netns{nettest.NewNS(t)}
}

// Exec runs a command inside the namespace (`ip netns exec`) with a
// timeout of a minute and returns its combined output.
func (n *Netns) Exec(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	ip := RequireTool(t, "ip")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ip, append([]string{"netns", "exec", n.Name}, args...)...)
	return cmd.CombinedOutput()
}

// Ping sends one echo request from the namespace to addr (iputils ping,
// 5 s for the answer) and returns an error with ping's output if no
// answer came.
func (n *Netns) Ping(t testing.TB, addr string) error {
	t.Helper()
	ping := RequireTool(t, "ping")
	out, err := n.Exec(t, ping, "-c", "1", "-W", "5", addr)
	if err != nil {
		return fmt.Errorf("ping %s from %s: %w\n%s", addr, n.Name, err, out)
	}
	return nil
}

// Addrs returns the global-scope addresses of the interface ifname in
// the namespace, or nil if it does not exist.
func (n *Netns) Addrs(t testing.TB, ifname string) []netlink.Addr {
	t.Helper()
	nh := n.Netlink(t)
	l, err := nh.LinkByName(ifname)
	if err != nil {
		return nil
	}
	as, err := nh.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatalf("cnitest: addresses of %s in %s: %v", ifname, n.Name, err)
	}
	var g []netlink.Addr
	for _, a := range as {
		if a.Scope == int(netlink.SCOPE_UNIVERSE) {
			g = append(g, a)
		}
	}
	return g
}

// HasLink says whether the namespace has an interface called ifname.
func (n *Netns) HasLink(t testing.TB, ifname string) bool {
	t.Helper()
	_, err := n.Netlink(t).LinkByName(ifname)
	return err == nil
}

// DeleteLinkAtCleanup deletes the host interface name (e.g. a bridge a
// CNI plugin creates and never removes) when the test ends, if it exists
// then. Register it before the link is made.
func DeleteLinkAtCleanup(t testing.TB, name string) {
	t.Helper()
	t.Cleanup(func() {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return
		}
		if err := netlink.LinkDel(l); err != nil {
			t.Errorf("cnitest: delete link %s: %v", name, err)
		}
	})
}

// UniqueName is prefix followed by a short random hex suffix; keep the
// prefix at most 9 bytes for an interface name (15 bytes at most).
func UniqueName(prefix string) string { return prefix + nettest.Suffix() }

// RandomSubnet4 is a random 10.x.y.0/24 with x in 200..249: tests give
// their networks no host address, so it is only a label, but distinct
// subnets keep parallel tests' leases and pings apart.
func RandomSubnet4() string {
	x, _ := rand.Int(rand.Reader, big.NewInt(50))
	y, _ := rand.Int(rand.Reader, big.NewInt(256))
	return fmt.Sprintf("10.%d.%d.0/24", 200+x.Int64(), y.Int64())
}

// ConflistVersion is the cniVersion WriteConflist writes: the newest
// that Debian's containernetworking-plugins (1.1.1) accept. GC and
// STATUS of plugins need "1.1.0" (WriteConflistVersion).
const ConflistVersion = "1.0.0"

// WriteConflist writes dir/name.conflist, a network called name made of
// plugins in order, with cniVersion ConflistVersion, and returns its
// path. dir is the NETCONFPATH of cnitool (or Podman.NetworkDir).
func WriteConflist(t testing.TB, dir, name string, plugins ...map[string]any) string {
	t.Helper()
	return WriteConflistVersion(t, dir, name, ConflistVersion, plugins...)
}

// WriteConflistVersion is WriteConflist with the given cniVersion.
func WriteConflistVersion(t testing.TB, dir, name, cniVersion string, plugins ...map[string]any) string {
	t.Helper()
	b, err := json.MarshalIndent(map[string]any{
		"cniVersion": cniVersion,
		"name":       name,
		"plugins":    plugins,
	}, "", "  ")
	if err != nil {
		t.Fatalf("cnitest: conflist %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".conflist")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatalf("cnitest: %v", err)
	}
	return path
}

// BridgePlugins are the standard bridge + host-local plugin configs for
// a network on the bridge br with addresses from subnet, no gateway on
// the host and no masquerade (nothing touches the host's routes or
// iptables), and host-local's leases kept in dataDir.
func BridgePlugins(br, subnet, dataDir string) []map[string]any {
	return []map[string]any{{
		"type":      "bridge",
		"bridge":    br,
		"isGateway": false,
		"ipMasq":    false,
		"ipam": map[string]any{
			"type":    "host-local",
			"ranges":  [][]map[string]any{{{"subnet": subnet}}},
			"dataDir": dataDir,
		},
	}}
}

// FirstIPv4 returns the first IPv4 address in a CNI result's "ips", or
// nil.
func FirstIPv4(result []byte) net.IP {
	var r struct {
		IPs []struct {
			Address string `json:"address"`
		} `json:"ips"`
	}
	if json.Unmarshal(result, &r) != nil {
		return nil
	}
	for _, a := range r.IPs {
		if ip, _, err := net.ParseCIDR(a.Address); err == nil && ip.To4() != nil {
			return ip
		}
	}
	return nil
}

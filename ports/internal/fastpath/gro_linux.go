package fastpath

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports/netdev"
)

// GRO reports whether generic receive offload is on for ifname in the
// network namespace at netnsPath ("" for the caller's).
func GRO(netnsPath, ifname string) (bool, error) { return netdev.GROAt(netnsPath, ifname) }

// SetGRO switches generic receive offload of ifname in the namespace at
// netnsPath on or off.
func SetGRO(netnsPath, ifname string, on bool) error { return netdev.SetGROAt(netnsPath, ifname, on) }

// EnsureGRO switches GRO on for ifname in the namespace at netnsPath,
// unless it is on already. The switch calls it for the container end of
// every veth it creates whose host end carries the program: a veth
// delivers XDP-redirected frames to its peer only when the peer has GRO on
// (the kernel then runs NAPI on it) or a native XDP program of its own;
// otherwise the kernel drops them, silently (see the package doc).
func EnsureGRO(netnsPath, ifname string) error {
	on, err := GRO(netnsPath, ifname)
	if err != nil || on {
		return err
	}
	return SetGRO(netnsPath, ifname, true)
}

func inNetns(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

// PeerState is what CheckPeer found out about the far end of a veth.
type PeerState struct {
	// Veth reports whether the interface is a veth at all; when it is not,
	// the caveats do not apply and the other fields are zero.
	Veth bool
	// Found reports whether the peer and its namespace were found.
	Found bool
	// Netns is a path to the peer's namespace ("" when it is the
	// caller's), usable with EnsureGRO.
	Netns string
	// Name and Ifindex name the peer in its namespace.
	Name    string
	Ifindex int
	// GRO reports whether the peer has GRO on; XDP whether it has a native
	// (driver mode) XDP program. Either makes the kernel deliver frames
	// that native XDP redirects into the veth.
	GRO, XDP bool
	// TxChecksum reports whether the peer has TX checksum offload on: the
	// TCP and UDP frames it sends then carry partial checksums, which
	// reach the receiver corrupt once redirected by native XDP (or
	// forwarded by the AF_XDP slow path), and with it TSO makes frames
	// larger than the MTU, which generic XDP cannot redirect.
	TxChecksum bool
}

// Delivers reports whether frames that native XDP redirects into the veth
// reach its peer (true for devices that are not veths).
func (s PeerState) Delivers() bool { return !s.Veth || (s.Found && (s.GRO || s.XDP)) }

// Ready reports whether the veth can be a fast-path port without loss or
// corruption: it delivers, and its peer computes full checksums.
func (s PeerState) Ready() bool { return s.Delivers() && !(s.Veth && s.TxChecksum) }

// String describes the state for a log line or an error message.
func (s PeerState) String() string {
	switch {
	case !s.Veth:
		return "not a veth"
	case !s.Found:
		return "veth whose peer was not found: frames redirected to it by native XDP are dropped unless the peer has GRO on"
	}
	var problems []string
	if !s.Delivers() {
		problems = append(problems, "GRO off and no XDP program: frames redirected to it by native XDP are dropped (turn GRO on there)")
	}
	if s.TxChecksum {
		problems = append(problems, "TX checksum offload on: its TCP/UDP frames arrive corrupt or too big (turn it off there)")
	}
	if len(problems) == 0 {
		how := "GRO on"
		if s.XDP {
			how = "an XDP program"
		}
		return fmt.Sprintf("veth peer %s%s: %s, TX checksum offload off: ready", s.Name, inNetns(s.Netns), how)
	}
	return fmt.Sprintf("veth peer %s%s: %s", s.Name, inNetns(s.Netns), strings.Join(problems, "; "))
}

// CheckPeer reports, for the device at ifindex in the caller's namespace,
// whether it is a veth whose peer can receive XDP-redirected frames. The
// switch calls it for interfaces it did not create (a container runtime's
// veths) and reports what it finds. The peer's namespace is looked for
// among the named namespaces (/run/netns), Docker's (/run/docker/netns)
// and the processes' (/proc/PID/ns/net), matched by the namespace id the
// kernel reports with the link.
func CheckPeer(ifindex int) (PeerState, error) {
	l, err := netlink.LinkByIndex(ifindex)
	if err != nil {
		return PeerState{}, fmt.Errorf("fastpath: check peer of ifindex %d: %w", ifindex, err)
	}
	if _, ok := l.(*netlink.Veth); !ok {
		return PeerState{}, nil
	}
	st := PeerState{Veth: true, Ifindex: l.Attrs().ParentIndex}
	if st.Ifindex == 0 {
		return st, nil // the peer is gone, or hidden
	}
	nsid := l.Attrs().NetNsID
	if nsid < 0 {
		return st.examine(netlink.LinkByIndex)
	}
	path, err := findNetns(nsid)
	if err != nil || path == "" {
		return st, err
	}
	st.Netns = path
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return st, fmt.Errorf("fastpath: check peer of ifindex %d: %w", ifindex, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return st, fmt.Errorf("fastpath: check peer of ifindex %d: %w", ifindex, err)
	}
	defer h.Close()
	return st.examine(h.LinkByIndex)
}

// RecheckPeer reads the state of a peer that CheckPeer found again (its
// settings may have changed since: a container runtime switching GRO off
// makes the kernel drop what the fast path redirects to it). The switch
// calls it every few seconds for its fast-path veths.
func RecheckPeer(st PeerState) (PeerState, error) {
	if !st.Veth || !st.Found {
		return st, nil
	}
	if st.Netns == "" {
		return st.examine(netlink.LinkByIndex)
	}
	ns, err := netns.GetFromPath(st.Netns)
	if err != nil {
		return st, fmt.Errorf("fastpath: recheck peer %s: %w", st.Name, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return st, fmt.Errorf("fastpath: recheck peer %s: %w", st.Name, err)
	}
	defer h.Close()
	return st.examine(h.LinkByIndex)
}

// examine fills in the peer's name, GRO, XDP and checksum state.
func (s PeerState) examine(byIndex func(int) (netlink.Link, error)) (PeerState, error) {
	pl, err := byIndex(s.Ifindex)
	if err != nil {
		return s, fmt.Errorf("fastpath: peer %d%s: %w", s.Ifindex, inNetns(s.Netns), err)
	}
	s.Found = true
	s.Name = pl.Attrs().Name
	if x := pl.Attrs().Xdp; x != nil && x.Attached && (x.AttachMode == xdpAttachedDrv || x.AttachMode == xdpAttachedMulti) {
		s.XDP = true
	}
	gro, err := netdev.GROAt(s.Netns, s.Name)
	if err != nil {
		return s, fmt.Errorf("fastpath: peer %s%s: %w", s.Name, inNetns(s.Netns), err)
	}
	csum, err := netdev.TxChecksumAt(s.Netns, s.Name)
	if err != nil {
		return s, fmt.Errorf("fastpath: peer %s%s: %w", s.Name, inNetns(s.Netns), err)
	}
	s.GRO, s.TxChecksum = gro, csum
	return s, nil
}

// IFLA_XDP_ATTACHED values: a native program, or programs in more than
// one mode (on a veth, which has no offload, that includes a native one).
const (
	xdpAttachedDrv   = 1
	xdpAttachedMulti = 4
)

// findNetns returns a path to the namespace that the caller's namespace
// knows as nsid, or "" if none of the usual places has it.
func findNetns(nsid int) (string, error) {
	var cands []string
	for _, dir := range []string{"/run/netns", "/var/run/netns", "/run/docker/netns"} {
		names, _ := filepath.Glob(filepath.Join(dir, "*"))
		cands = append(cands, names...)
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err == nil {
			cands = append(cands, filepath.Join("/proc", p.Name(), "ns", "net"))
		}
	}
	seen := map[[2]uint64]bool{}
	for _, c := range cands {
		var st unix.Stat_t
		if unix.Stat(c, &st) != nil {
			continue
		}
		id := [2]uint64{st.Dev, st.Ino}
		if seen[id] {
			continue
		}
		seen[id] = true
		fd, err := unix.Open(c, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		got, err := netlink.GetNetNsIdByFd(fd)
		unix.Close(fd)
		if err == nil && got == nsid {
			return c, nil
		}
	}
	return "", nil
}

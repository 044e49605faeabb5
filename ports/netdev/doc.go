// Package netdev configures kernel network devices for the port drivers and
// the daemon: network namespaces, veth pairs for containers, addresses,
// routes, MTU, MAC, link state, queue counts and the TX checksum offload
// switch. It speaks rtnetlink through github.com/vishvananda/netlink and
// uses one ethtool ioctl (SIOCETHTOOL) through golang.org/x/sys/unix; it
// never runs the ip or ethtool commands.
//
// # Namespaces
//
// A namespace is named by the path of a namespace file: /proc/PID/ns/net
// of a process inside it, or a bind mount such as /var/run/netns/NAME. The
// empty path is the namespace of the calling thread (for the daemon, the
// host). Netlink work in another namespace goes through a netlink socket
// opened inside it (as netlink.NewHandleAt does), so only the creation of a
// socket (the rtnetlink socket, the socket for the ethtool ioctl) needs a
// thread inside the namespace. That runs in Netns.Do, on a fresh
// goroutine locked to its OS thread that switches back before it unlocks;
// if switching back fails the thread is left locked and so dies with the
// goroutine, never running other code in the wrong namespace. Handles are
// closed after each operation: an open netlink socket keeps its namespace
// alive, and a driver must not stop a container's namespace from dying.
//
// # Veth pairs
//
// CreateVeth makes a pair whose peer is created directly inside the
// container namespace under its final name (default eth0), so no temporary
// name ever appears there and a name clash fails before anything exists.
// The container end gets its MAC, MTU, addresses, routes and link state; its
// TX checksum offload is switched off (see below); the host end is brought
// up with the same MTU and without IPv6 addresses (its address generation
// mode none, set before it goes up): it is the switch's port, not a host
// interface, and with a link-local address the host's IPv6 stack would
// send its own MLD reports, duplicate address detection and router
// solicitations from the host end's MAC straight into the container,
// past the switch. The container end keeps IPv6; packet and AF_XDP
// sockets on the host end see every frame all the same. Interfaces the
// daemon adopts rather than creates are left as they are. The returned
// Veth records the host end's name and ifindex: Delete removes that link
// (which removes the pair) and nothing else, and succeeds when the pair
// is already gone (for example because the container's namespace died).
//
// # TX checksum offload
//
// A veth end with TX checksum offload on hands the frames its namespace
// sends to the peer with CHECKSUM_PARTIAL: the TCP/UDP checksum field holds
// only the pseudo-header sum. An AF_XDP socket on the host end receives the
// bytes as they are, the switch forwards them, and the receiver drops the
// segment as corrupt. Turning the offload off on the container end makes its
// kernel finish every checksum in software (AF_XDP carries no checksum
// state). A plain tap needs nothing: tun offers checksum offload only
// after TUNSETOFFLOAD. An offload tap (ports/tap Config.Offload) sets it
// and carries the state in its virtio-net header; the switch finishes the
// checksums before any port that cannot take them (vswitch's gso node).
//
// # Errors
//
// Every failure is an *Error carrying the operation, the interface and the
// namespace path; the cause is wrapped, and where it is one of the kinds
// below (ErrNotFound, ErrExists, ErrInvalid, ErrNetns) errors.Is finds it.
package netdev

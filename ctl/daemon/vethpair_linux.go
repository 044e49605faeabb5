package daemon

import (
	"errors"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// vethPeers reports whether the veth hostName (in this namespace) and the
// interface peerName in the namespace at netnsPath are the two ends of
// one pair: the host end's peer (IFLA_LINK, in the namespace its
// IFLA_LINK_NETNSID names) is that interface, and that interface's peer
// is the host end. Names alone say nothing: the container end may have
// been renamed, or the namespace made anew at the same path with an
// eth0 of its own. known is false if it could not tell (the namespace or
// an interface could not be read); peers is false then.
func vethPeers(hostName, netnsPath, peerName string) (peers, known bool) {
	hl, err := netlink.LinkByName(hostName)
	if err != nil {
		return false, false
	}
	if hl.Type() != "veth" {
		return false, true
	}
	ns, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return false, false
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return false, false
	}
	defer h.Close()
	cl, err := h.LinkByName(peerName)
	if err != nil {
		var nf netlink.LinkNotFoundError
		return false, errors.As(err, &nf) // not there: not the pair
	}
	ha, ca := hl.Attrs(), cl.Attrs()
	if cl.Type() != "veth" || ha.ParentIndex != ca.Index || ca.ParentIndex != ha.Index {
		return false, true
	}
	// Indexes repeat across namespaces: the host end's peer must be in
	// that namespace.
	self, err := netns.Get()
	if err != nil {
		return false, false
	}
	defer self.Close()
	if ns.Equal(self) {
		return ha.NetNsID < 0, true // a pair within this namespace
	}
	id, err := netlink.GetNetNsIdByFd(int(ns))
	if err != nil {
		return false, false
	}
	return ha.NetNsID == id, true
}

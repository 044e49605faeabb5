package dockernet

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// Reconciling what Docker's lost calls left. When vswitchd does not
// answer, dockerd retries each call for about 15 s, logs a warning and
// goes on as if it had been done: a docker rm -f, stop or network
// disconnect during a longer outage leaves the endpoint (its veth pair,
// port, port maps and lease), a docker network rm the network (bridge,
// router interface, masquerade, pool reference). Docker never calls
// again for them, and a remote driver cannot list Docker's networks or
// containers, so the driver repairs what it can tell from its own side,
// when it starts and before CreateEndpoint, CreateNetwork and
// RequestPool:
//
//   - An endpoint Docker joined (Join recorded it) whose container end
//     is back in vswitchd's namespace, as libnetwork leaves it when it
//     takes the interface out of a sandbox, a Join at least joinGrace
//     ago (Docker moves it into the sandbox right after Join), has lost
//     its container: it is deleted with its port maps and lease, as
//     DeleteEndpoint and ReleaseAddress would have.
//   - A network whose bridge vswitchd no longer has (the administrator
//     removed it with vsctl del-br, as docs/docker.md says, having seen
//     that docker network ls no longer lists it) is deleted as
//     DeleteNetwork would have, and its pool references released.
//   - A pool record whose vswitchd pool is gone (vsctl ipam/pool-del) is
//     forgotten, so a later network of that subnet makes it again, and a
//     routed network (no bridge) whose pools are all gone with it.
//
// A network removed during an outage is not found by itself: nothing on
// this side tells a network Docker forgot from one without containers.
// The error that its subnet causes (an overlap at a later network
// create) names it and the command that removes it.

// joinGrace is how long after Join an endpoint's container end may still
// be in vswitchd's namespace: Docker moves it into the sandbox right
// after Join (when the container's namespace exists).
const joinGrace = time.Minute

// reconcile repairs what lost calls left (above). It never fails the call
// it precedes: a step that cannot be done is logged and tried again next
// time.
func (d *Driver) reconcile() {
	d.collectEndpoints()
	d.collectNetworks()
	d.collectPools()
}

// collectEndpoints deletes the joined endpoints whose container end came
// back to vswitchd's namespace.
func (d *Driver) collectEndpoints() {
	now := time.Now()
	for _, n := range d.st.Networks {
		var old []string
		for id, at := range n.Joined {
			if now.Sub(at) >= joinGrace {
				old = append(old, id)
			}
		}
		if len(old) == 0 {
			continue
		}
		eps, err := d.endpoints(n.ID, "")
		if err != nil {
			d.log.Warn("docker endpoints not reconciled", "network", n.ID, "err", err)
			continue
		}
		for _, id := range old {
			i := slices.IndexFunc(eps, func(ep ctl.EndpointView) bool { return ep.ContainerID == id })
			if i < 0 {
				d.forgetJoin(n, id) // deleted, and the record not: nothing to collect
				continue
			}
			ep := eps[i]
			if _, err := netdev.LinkByName("", ep.IfName); err != nil {
				continue // in its sandbox (or nowhere: then Docker still has to say)
			}
			if err := d.collectEndpoint(n, ep, eps); err != nil {
				d.log.Warn("docker endpoint left by a lost call not collected", "network", n.ID, "endpoint", id, "err", err)
				continue
			}
			d.log.Info("docker endpoint collected: Docker took it out of its container while vswitchd was not answering",
				"network", n.ID, "endpoint", id, "ifname", ep.IfName, "addrs", ep.Addrs)
		}
	}
}

// collectEndpoint deletes an endpoint Docker has forgotten: its port
// maps, the endpoint, and the leases of its addresses that no other
// endpoint has taken since.
func (d *Driver) collectEndpoint(n *network, ep ctl.EndpointView, all []ctl.EndpointView) error {
	if err := d.revoke(n, ep.ContainerID); err != nil {
		return err
	}
	if err := d.cfg.Caller.Call("endpoint/del", []string{endpointArg(ep)}, nil); err != nil && !isCode(err, ctl.CodeNotFound) {
		return err
	}
	var others []ctl.EndpointView
	if err := d.cfg.Caller.Call("endpoint/show", nil, &others); err != nil {
		others = all
	}
	for _, s := range ep.Addrs {
		p, err := netip.ParsePrefix(s)
		if err != nil || addrTaken(p.Addr(), others, ep) {
			continue
		}
		d.releaseDockerLease(p.Addr())
	}
	d.forgetJoin(n, ep.ContainerID)
	return nil
}

// addrTaken reports whether an endpoint other than ep has address a.
func addrTaken(a netip.Addr, eps []ctl.EndpointView, ep ctl.EndpointView) bool {
	for _, o := range eps {
		if o.Network == ep.Network && o.ContainerID == ep.ContainerID {
			continue
		}
		for _, s := range o.Addrs {
			if p, err := netip.ParsePrefix(s); err == nil && p.Addr() == a {
				return true
			}
		}
	}
	return false
}

// releaseDockerLease releases the lease of a, if one of this driver's
// pools has leased it to Docker (RequestAddress).
func (d *Driver) releaseDockerLease(a netip.Addr) {
	for id := range d.st.Pools {
		var pools []ctl.PoolView
		if err := d.cfg.Caller.Call("ipam/show", []string{id}, &pools); err != nil || len(pools) != 1 {
			continue
		}
		for _, l := range pools[0].Leases {
			if !strings.HasPrefix(l.Owner, "docker/"+id+"/") || !slices.ContainsFunc(l.Addrs, func(s string) bool { return leaseAddr(s) == a }) {
				continue
			}
			if err := d.cfg.Caller.Call("ipam/release", []string{id, "owner=" + l.Owner}, nil); err != nil {
				d.log.Warn("docker lease left by a lost call not released", "pool", id, "addr", a, "err", err)
			}
			return
		}
	}
}

// leaseAddr reads a lease's address (ADDRESS or ADDRESS/PREFIX).
func leaseAddr(s string) netip.Addr {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr()
	}
	a, _ := netip.ParseAddr(s)
	return a
}

// forgetJoin drops an endpoint's Join record (best effort: a record left
// is looked at again and dropped next time).
func (d *Driver) forgetJoin(n *network, endpointID string) {
	at, ok := n.Joined[endpointID]
	if !ok {
		return
	}
	delete(n.Joined, endpointID)
	if err := d.save(); err != nil {
		n.Joined[endpointID] = at
		d.log.Warn("docker join record not dropped", "network", n.ID, "endpoint", endpointID, "err", err)
	}
}

// collectNetworks deletes the networks whose bridge vswitchd no longer
// has, and releases their pool references.
func (d *Driver) collectNetworks() {
	var gone []*network
	for _, n := range d.st.Networks {
		if n.Bridge != "" {
			gone = append(gone, n)
		}
	}
	if len(gone) == 0 {
		return
	}
	var brs []string
	if err := d.cfg.Caller.Call("list-br", nil, &brs); err != nil {
		d.log.Warn("docker networks not reconciled", "err", err)
		return
	}
	for _, n := range gone {
		if slices.Contains(brs, n.Bridge) {
			continue
		}
		if _, err := d.deleteNetwork(&networkRequest{NetworkID: n.ID}); err != nil {
			d.log.Warn("docker network whose bridge is gone not forgotten", "network", n.ID, "bridge", n.Bridge, "err", err)
			continue
		}
		for _, id := range n.Pools {
			// Its reference, unless Docker's ReleasePool came through
			// (then the other networks recorded with the pool hold all
			// the references left).
			if p, ok := d.st.Pools[id]; !ok || p.Refs <= d.poolHolders(id) {
				continue
			}
			if _, err := d.releasePool(&releasePoolRequest{PoolID: id}); err != nil {
				d.log.Warn("docker pool reference of a forgotten network not released", "network", n.ID, "pool", id, "err", err)
			}
		}
		d.log.Info("docker network forgotten: its bridge was removed (Docker removed the network while vswitchd was not answering)",
			"network", n.ID, "bridge", n.Bridge, "pools", n.Pools)
	}
}

// poolHolders is how many recorded networks use pool id.
func (d *Driver) poolHolders(id string) int {
	k := 0
	for _, n := range d.st.Networks {
		if slices.Contains(n.Pools, id) {
			k++
		}
	}
	return k
}

// collectPools forgets the pool records whose vswitchd pool is gone.
func (d *Driver) collectPools() {
	if len(d.st.Pools) == 0 {
		return
	}
	var pools []ctl.PoolView
	if err := d.cfg.Caller.Call("ipam/show", nil, &pools); err != nil {
		d.log.Warn("docker pools not reconciled", "err", err)
		return
	}
	for id, p := range d.st.Pools {
		if slices.ContainsFunc(pools, func(v ctl.PoolView) bool { return v.Name == id }) {
			continue
		}
		delete(d.st.Pools, id)
		if err := d.save(); err != nil {
			d.st.Pools[id] = p
			d.log.Warn("docker pool record not forgotten", "pool", id, "err", err)
			continue
		}
		d.log.Info("docker pool record forgotten: vswitchd has no such pool (removed with vsctl ipam/pool-del)", "pool", id, "subnet", p.Pool)
	}
	// A routed network (no bridge to remove) goes with its pools.
	for _, n := range d.st.Networks {
		if n.Bridge != "" || len(n.Pools) == 0 || slices.ContainsFunc(n.Pools, func(id string) bool { return d.st.Pools[id] != nil }) {
			continue
		}
		if _, err := d.deleteNetwork(&networkRequest{NetworkID: n.ID}); err != nil {
			d.log.Warn("docker routed network whose pools are gone not forgotten", "network", n.ID, "err", err)
			continue
		}
		d.log.Info("docker routed network forgotten: its pools were removed", "network", n.ID, "pools", n.Pools)
	}
}

// poolOf is the ID of the one pool of this driver with the address space
// and subnet Docker gave a network ("" if none or several: sub-pools of
// one subnet).
func (d *Driver) poolOf(space, subnet string) string {
	id := ""
	for _, p := range d.st.Pools {
		if p.AddressSpace == space && p.Pool == subnet {
			if id != "" {
				return ""
			}
			id = p.ID
		}
	}
	return id
}

// overlapHint names the recorded networks with a subnet overlapping pfx
// and how to remove one Docker no longer has; "" if there is none.
func (d *Driver) overlapHint(pfx netip.Prefix) string {
	var bridges, routed []string
	for _, n := range d.st.Networks {
		if !slices.ContainsFunc(n.Subnets, func(s string) bool {
			p, err := netip.ParsePrefix(s)
			return err == nil && p.Overlaps(pfx)
		}) {
			continue
		}
		if n.Bridge != "" {
			bridges = append(bridges, fmt.Sprintf("%s (bridge %s)", shortID(n.ID), n.Bridge))
		} else {
			routed = append(routed, fmt.Sprintf("%s (routed, pools %s)", shortID(n.ID), strings.Join(n.Pools, ",")))
		}
	}
	if len(bridges)+len(routed) == 0 {
		return ""
	}
	slices.Sort(bridges)
	slices.Sort(routed)
	return fmt.Sprintf("; Docker networks of this driver on %s: %s. One that `docker network ls --no-trunc` no longer lists "+
		"was removed while vswitchd was not answering: remove its bridge with `vsctl del-br BRIDGE` "+
		"(a routed network: `vsctl ipam/pool-del POOL`) and the driver forgets it (docs/docker.md)",
		pfx, strings.Join(append(bridges, routed...), ", "))
}

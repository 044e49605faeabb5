package dockernet

import (
	"fmt"
	"slices"
	"strings"
)

// Networks without a record. docker.json holds what Docker said only
// once, at CreateNetwork: the gateways, --internal, mtu, vlan, vni, io,
// masquerade and the published ports. If it is lost (damaged, and its
// previous copy older than the network), the network's bridge (or, for a
// routed network, its endpoints) is still in vswitchd, but the driver
// cannot make the record again: vswitchd's bridge does not carry those
// options, a remote driver cannot ask Docker for them, and Docker does not
// send CreateNetwork again. Guessing them would give containers another
// network than the one Docker shows (a default route on an --internal
// network, another MTU), so the driver does not guess:
//
//   - at start it names such bridges in the log (ERROR after a damaged
//     docker.json, WARN otherwise), with what to do;
//   - CreateEndpoint, Join, EndpointOperInfo and
//     ProgramExternalConnectivity on such a network fail with an error
//     saying the record is lost and how to remake it: disconnect the
//     containers, docker network rm, docker network create again with the
//     same options (Docker's record, docker network inspect, has them);
//   - the calls that take it down (DeleteEndpoint, Leave,
//     RevokeExternalConnectivity, DeleteNetwork) work on what vswitchd
//     has, so that this recovery leaves nothing behind: the endpoints'
//     veths and ports, then the bridge with its router interface.

// lostNetwork is a transient record of a network that has no record but
// has a bridge (or endpoints) in vswitchd; nil if vswitchd has neither.
// It has only what vswitchd tells (ID, bridge, routed); it is never
// stored.
func (d *Driver) lostNetwork(id string) *network {
	if checkID("network ID", id) != nil {
		return nil
	}
	var brs []string
	if err := d.cfg.Caller.Call("list-br", nil, &brs); err == nil && slices.Contains(brs, bridgeName(id)) {
		if !d.bridgeRecorded(bridgeName(id)) {
			return &network{ID: id, Bridge: bridgeName(id)}
		}
	}
	if eps, err := d.endpoints(id, ""); err == nil && len(eps) > 0 {
		return &network{ID: id, Bridge: eps[0].Bridge, Routed: eps[0].Routed}
	}
	return nil
}

// bridgeRecorded reports whether a network record names bridge br.
func (d *Driver) bridgeRecorded(br string) bool {
	for _, n := range d.st.Networks {
		if n.Bridge == br {
			return true
		}
	}
	return false
}

// lostError is the answer to a call that needs the record of a lost
// network.
func lostError(n *network) error {
	where := "its bridge " + n.Bridge
	if n.Bridge == "" {
		where = "its routed endpoints"
	}
	return fmt.Errorf("no record of network %s, but %s is still in vswitchd: the driver's record (%s) was lost, "+
		"see vswitchd's log; the driver does not guess the network's options. Remake it: disconnect its containers, "+
		"`docker network rm` it and create it again with the same options (`docker network inspect` shows them; docs/docker.md)",
		n.ID, where, StateFile)
}

// teardownNetwork is network(id), or the transient record of a lost
// network, for the calls that take a network down.
func (d *Driver) teardownNetwork(id string) (*network, error) {
	n, err := d.network(id)
	if err == nil {
		return n, nil
	}
	if lost := d.lostNetwork(id); lost != nil {
		return lost, nil
	}
	return nil, err
}

// unrecordedBridges are vswitchd's bridges named as this driver names a
// network's ("docker-" and 12 hex digits) that no record names.
func (d *Driver) unrecordedBridges() ([]string, error) {
	var brs []string
	if err := d.cfg.Caller.Call("list-br", nil, &brs); err != nil {
		return nil, err
	}
	var out []string
	for _, br := range brs {
		id, ok := strings.CutPrefix(br, "docker-")
		if !ok || len(id) != 12 || strings.Trim(id, "0123456789abcdef") != "" || d.bridgeRecorded(br) {
			continue
		}
		out = append(out, br)
	}
	slices.Sort(out)
	return out, nil
}

// reportUnrecorded logs the bridges of networks without a record (see
// above); damaged: docker.json was damaged at this start (ERROR).
func (d *Driver) reportUnrecorded(damaged bool) {
	brs, err := d.unrecordedBridges()
	if err != nil || len(brs) == 0 {
		return
	}
	msg := "docker networks without a record: vswitchd has their bridges, the driver refuses new containers on them. " +
		"For each, find the network (`docker network ls --no-trunc`, its ID starts with the bridge's 12 digits): if Docker lists it, " +
		"disconnect its containers, `docker network rm` it and create it again with the same options; if not, `vsctl del-br BRIDGE` (docs/docker.md)"
	if damaged {
		d.log.Error(msg, "bridges", brs)
	} else {
		d.log.Warn(msg, "bridges", brs)
	}
}

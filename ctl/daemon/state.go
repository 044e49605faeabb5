package daemon

import (
	"reflect"
	"slices"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ipam"
	"github.com/vecswitch/vecswitch/vswitch"
)

// State is the desired configuration, the daemon's source of truth: what
// the store holds and what start-up replays.
type State struct {
	Version int              `json:"version"`
	Bridges []vswitch.Bridge `json:"bridges"`
	Ports   []PortSpec       `json:"ports"`
	// VFMoves are SR-IOV VF netdevs handed to container namespaces, kept
	// so that sriov/restore can bring them back after a restart too.
	VFMoves []VFMove `json:"vf_moves,omitempty"`
	// The L3 configuration (see vswitch.Config).
	VRFs       []vswitch.VRF       `json:"vrfs,omitempty"`
	Interfaces []vswitch.Interface `json:"interfaces,omitempty"`
	Routes     []vswitch.Route     `json:"routes,omitempty"`
	Neighbors  []vswitch.Neighbor  `json:"neighbors,omitempty"`
	VTEP       *vswitch.VTEP       `json:"vtep,omitempty"`
	// Container platforms (endpoints.go, ipam.go): the containers
	// attached through CNI, and the address pools with their leases.
	Endpoints []ctl.EndpointView `json:"endpoints,omitempty"`
	Pools     []PoolState        `json:"pools,omitempty"`
	// HostID names this daemon's host: in etcd (IPAM block claims) and
	// on the veths it makes (their alias, vethAlias), so that it only
	// ever sweeps its own. Made at the first start, kept for good.
	HostID string `json:"host_id,omitempty"`
	// SecurityGroups as the user gave them (sg.go).
	SecurityGroups []vswitch.SecurityGroup `json:"security_groups,omitempty"`
	// NAT: masquerades, port maps and uplinks, normalized (nat.go).
	NAT *vswitch.NAT `json:"nat,omitempty"`
	// DNS: the router interfaces whose networks have a resolver (dns.go).
	DNS []DNSNetwork `json:"dns,omitempty"`
	// BGP: the speaker, its neighbors and announced prefixes (bgp.go).
	BGP *BGPConfig `json:"bgp,omitempty"`

	// learned are the routes BGP learned: live, never stored, shared by
	// clones (bgp_routes.go).
	learned *learnedRoutes
	// txn marks a batch's working copy: clone is shallow (clone).
	txn bool
}

// PoolState is an address pool and its leases.
type PoolState struct {
	ipam.Pool
	Leases []ipam.Lease `json:"leases,omitempty"`
}

// VFMove records one container hand-off (see sriov.Moved).
type VFMove struct {
	PF       string `json:"pf"`
	VF       int    `json:"vf"`
	Netns    string `json:"netns"`
	Name     string `json:"name"`
	Index    int    `json:"index"`
	OrigName string `json:"orig_name"`
	OrigMAC  string `json:"orig_mac,omitempty"`
	OrigMTU  int    `json:"orig_mtu"`
	OrigUp   bool   `json:"orig_up"`
}

// PortSpec says how to make a port's driver.
type PortSpec struct {
	Name string `json:"name"`
	// Bridge is the bridge the port is in; "" for a routed port (a
	// routed endpoint's: its router interface is named like the port).
	Bridge  string            `json:"bridge"`
	Type    string            `json:"type"`
	Options map[string]string `json:"options,omitempty"`
}

// stateVersion is the State format version.
const stateVersion = 1

// clone is a deep copy for a command to change (learned stays shared).
// Inside a transaction (txn set: a batch, Daemon.runBatch) it is a
// shallow one: the state a command changes is the batch's own working
// copy, and a failed batch discards it whole, so a command's change
// reaching into it costs nothing (a deep copy per command would make a
// batch of n commands cost n copies of the whole configuration).
func (s *State) clone() State {
	if s.txn {
		return *s
	}
	return deepCopy(reflect.ValueOf(s).Elem()).Interface().(State)
}

func (s *State) bridge(name string) *vswitch.Bridge {
	for i := range s.Bridges {
		if s.Bridges[i].Name == name {
			return &s.Bridges[i]
		}
	}
	return nil
}

func (s *State) port(name string) (*PortSpec, *vswitch.Port) {
	for i := range s.Ports {
		if s.Ports[i].Name == name {
			b := s.bridge(s.Ports[i].Bridge)
			if b == nil { // a routed port (Bridge ""): no switch port options
				return &s.Ports[i], nil
			}
			for j := range b.Ports {
				if b.Ports[j].Name == name {
					return &s.Ports[i], &b.Ports[j]
				}
			}
			return &s.Ports[i], nil
		}
	}
	return nil, nil
}

func (s *State) removePort(name string) {
	if p, _ := s.port(name); p != nil {
		if b := s.bridge(p.Bridge); b != nil {
			b.Ports = slices.DeleteFunc(b.Ports, func(x vswitch.Port) bool { return x.Name == name })
			b.StaticMACs = slices.DeleteFunc(b.StaticMACs, func(m vswitch.StaticMAC) bool { return m.Port == name })
		}
	}
	s.Ports = slices.DeleteFunc(s.Ports, func(p PortSpec) bool { return p.Name == name })
	s.unbindPort(name)
}

func (s *State) switchConfig() vswitch.Config {
	return vswitch.Config{Bridges: s.switchBridges(), VRFs: s.VRFs, Interfaces: s.Interfaces, Routes: s.allRoutes(), Neighbors: s.allNeighbors(), VTEP: s.VTEP,
		SecurityGroups: s.sgConfig(), NAT: s.NAT, DNS: s.dnsConfig()}
}

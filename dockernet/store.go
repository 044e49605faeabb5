package dockernet

import (
	"errors"
	"fmt"
	"time"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ctl/daemon"
)

// StateFile is the name of the driver's file in vswitchd's state directory.
const StateFile = "docker.json"

// state is what Docker told the driver that vswitchd's own configuration
// does not hold. The bridges, ports, endpoints and leases themselves are
// vswitchd's: an endpoint is found there (endpoint/show), never copied.
type state struct {
	Networks map[string]*network `json:"networks"`
	Pools    map[string]*pool    `json:"pools"`
}

// network is a Docker network: its bridge and what Join returns.
type network struct {
	ID       string `json:"id"`
	Bridge   string `json:"bridge"`
	Gateway4 string `json:"gateway4,omitempty"` // address, no prefix
	Gateway6 string `json:"gateway6,omitempty"`
	Internal bool   `json:"internal,omitempty"`
	VLAN     int    `json:"vlan,omitempty"`
	MTU      int    `json:"mtu,omitempty"`
	VNI      int    `json:"vni,omitempty"`
	// IO is how vswitchd reads the endpoints' veths ("" is vswitchd's
	// default, afpacket; or afxdp).
	IO string `json:"io,omitempty"`
	// Masquerade is -o masquerade=UPLINK; Router the network's router
	// interface then (router.go).
	Masquerade string `json:"masquerade,omitempty"`
	Router     string `json:"router,omitempty"`
	// Routed is -o mode=routed: no bridge (Bridge is ""); each endpoint
	// is a routed vswitchd endpoint (Calico style: proxy ARP, the
	// link-local gateways 169.254.1.1 and fe80::1).
	Routed bool `json:"routed,omitempty"`
	// Published are the port maps made for each endpoint's -p
	// (portmap.go), by endpoint ID.
	Published map[string][]ctl.NATPortMapView `json:"published,omitempty"`
	// Subnets are the network's IPAM pools as Docker gave them, and
	// Pools the IDs of this driver's pools they are (when a subnet names
	// one pool): what reconcile.go releases for a network Docker removed
	// while vswitchd was not answering, and what an overlap error names.
	Subnets []string `json:"subnets,omitempty"`
	Pools   []string `json:"pools,omitempty"`
	// Joined are the endpoints Docker joined to a sandbox, with the time
	// of the Join, until Leave or DeleteEndpoint (reconcile.go).
	Joined map[string]time.Time `json:"joined,omitempty"`
}

// pool is an IPAM pool Docker requested, with its reference count.
type pool struct {
	ID           string `json:"id"`
	AddressSpace string `json:"address_space"`
	Pool         string `json:"pool"`
	SubPool      string `json:"sub_pool,omitempty"`
	Refs         int    `json:"refs"`
}

func emptyState() state {
	return state{Networks: map[string]*network{}, Pools: map[string]*pool{}}
}

// load reads the stored state (none: empty). A damaged file falls back to
// the previous good copy, as vswitchd's own configuration does
// (ctl/daemon's restoreState), and a damaged previous copy to nothing: a
// stored file never keeps vswitchd from starting. A damaged file is kept:
// it is linked to NAME.corrupt-TIME (aside) before anything can replace
// it; the caller then stores the state used in its place. used is the
// file the state came from ("" if none); err says what was damaged.
func load(dir string) (st state, used string, aside []string, err error) {
	for _, name := range []string{StateFile, StateFile + ".prev"} {
		s, serr := daemon.NewPlainStore(dir, name)
		if serr != nil {
			return emptyState(), "", aside, serr
		}
		st = emptyState()
		found, lerr := s.Load(&st)
		if lerr != nil {
			err = errors.Join(err, lerr)
			kept, kerr := daemon.SetAside(s.Path())
			if kerr != nil {
				// Not kept: say so; it may still be overwritten.
				err = errors.Join(err, fmt.Errorf("%s not set aside: %w", s.Path(), kerr))
			} else {
				aside = append(aside, kept)
			}
			continue
		}
		if !found {
			st = emptyState()
			if name == StateFile {
				return st, "", aside, nil
			}
			continue
		}
		if st.Networks == nil {
			st.Networks = map[string]*network{}
		}
		if st.Pools == nil {
			st.Pools = map[string]*pool{}
		}
		return st, name, aside, err
	}
	return emptyState(), "", aside, err
}

package vswitch

import (
	"fmt"
	"net/netip"
	"slices"
)

// Overlay state learned from a distributed control plane (etcd, see
// overlay/etcd), as opposed to the configuration: remote VTEPs that share
// a VNI and the MACs behind them. It is not durable (the control plane
// replays it after a restart) and adds to the configuration: a VNI's
// remote list is the configured remotes plus these, and these MACs are
// installed like static MACs behind their VTEP (a configured static MAC
// wins).

type overlayKey struct {
	vni uint32
	mac uint64
}

// SetOverlayRemotes sets the remote VTEPs a control plane found for a VNI
// (nil: none), next to the configured ones.
func (s *Switch) SetOverlayRemotes(vni uint32, remotes []netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	rs := make([]netip.Addr, 0, len(remotes))
	for _, r := range remotes {
		rs = append(rs, r.Unmap())
	}
	slices.SortFunc(rs, func(a, b netip.Addr) int { return a.Compare(b) })
	rs = slices.Compact(rs)
	if slices.Equal(rs, s.ovRemotes[vni]) {
		return nil
	}
	if len(rs) == 0 {
		delete(s.ovRemotes, vni)
	} else {
		s.ovRemotes[vni] = rs
	}
	return s.applyLocked(s.cfg, s.l3cfg, nil)
}

// SetOverlayEndpoint puts mac, in VNI vni, behind remote VTEP vtep (which
// must be a remote of the VNI, configured or set by SetOverlayRemotes).
func (s *Switch) SetOverlayEndpoint(vni uint32, mac uint64, vtep netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if mac>>40&1 != 0 {
		return fmt.Errorf("vswitch: overlay endpoint %s is multicast", formatMAC(mac))
	}
	k := overlayKey{vni, mac}
	if s.ovMACs[k] == vtep.Unmap() {
		return nil
	}
	s.ovMACs[k] = vtep.Unmap()
	s.syncOverlayMACsLocked()
	return nil
}

// DeleteOverlayEndpoint forgets what SetOverlayEndpoint said of mac.
func (s *Switch) DeleteOverlayEndpoint(vni uint32, mac uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ovMACs[overlayKey{vni, mac}]; !ok {
		return nil
	}
	delete(s.ovMACs, overlayKey{vni, mac})
	s.syncOverlayMACsLocked()
	return nil
}

func (s *Switch) syncOverlayMACsLocked() {
	l := s.lrn
	l.mu.Lock()
	s.syncStaticsLocked(&s.cfg, s.tables.Load())
	l.mu.Unlock()
}

// overlayStatics adds the control plane's MACs to a static MAC set (key ->
// port index), leaving configured statics alone.
func (s *Switch) overlayStatics(t *tables, want, wantDom map[uint64]uint16) {
	for k, vtep := range s.ovMACs {
		dom := t.vniDomain(k.vni)
		if dom == 0 {
			continue
		}
		p := t.tunnelPort(t.domains[dom].bridge, addrKey(vtep))
		if p == 0 {
			continue
		}
		key := macKey(dom, k.mac)
		if _, configured := want[key]; configured {
			continue
		}
		want[key], wantDom[key] = p, dom
	}
}

// LocalEndpoint is a MAC learned (or configured) on a local port of a
// bridge VLAN carried by a VNI: what a control plane publishes.
type LocalEndpoint struct {
	VNI uint32
	MAC uint64
}

// LocalEndpoints lists the MACs of VNI domains that sit on local ports.
func (s *Switch) LocalEndpoints() []LocalEndpoint {
	t := s.tables.Load()
	l := s.lrn
	l.mu.Lock()
	defer l.mu.Unlock()
	mt := l.macs.Load()
	var out []LocalEndpoint
	mt.each(0, len(mt.b), func(key, val uint64) bool {
		dom := uint16(key >> 48)
		if int(dom) >= len(t.domains) || t.domains[dom].vni == 0 || !l.valid(val) {
			return false
		}
		p := valPort(val)
		if p == routerPort || t.ports[p].tunnel != 0 || !t.ports[p].up {
			return false
		}
		out = append(out, LocalEndpoint{VNI: t.domains[dom].vni, MAC: key & (1<<48 - 1)})
		return false
	})
	return out
}

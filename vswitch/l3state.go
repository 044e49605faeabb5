package vswitch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vecswitch/vecswitch/encap"
	"github.com/vecswitch/vecswitch/vswitch/internal/fib"
)

// l3State is the control plane's long-lived L3 state: stable IDs for VRFs
// and interfaces, one FIB pair per VRF, the adjacencies, and what each FIB
// holds now. Routes are installed incrementally: a reconfiguration
// computes the wanted (VRF, prefix) -> adjacency set and only the
// difference touches the FIBs, so a change to one route of a million costs
// one FIB update, not a rebuild, and traffic never stops.
//
// Update order, which keeps every worker's view valid: (1) new adjacencies
// are published with the new tables; (2) the FIBs are updated in place
// (readers see the old or the new next hop, both valid); (3) the workers
// are quiesced; (4) only then are FIB groups reclaimed, adjacency IDs
// released and FIBs of removed VRFs closed.
type l3State struct {
	vrfIDs *idAlloc[string]
	ifIDs  *idAlloc[string]
	fibs   map[string]*vrfEntry

	adjIDs  map[string]uint32 // adjacency key -> ID
	adjs    []adjEntry        // by ID; 0 unused
	adjFree []uint32

	installed map[routeKey]uint32 // what the FIBs hold
}

type routeKey struct {
	vrf    uint16
	prefix netip.Prefix
}

func newL3State() *l3State {
	return &l3State{
		vrfIDs:    newIDAlloc[string](maxVRFs),
		ifIDs:     newIDAlloc[string](maxIfaces),
		fibs:      map[string]*vrfEntry{},
		adjIDs:    map[string]uint32{},
		adjs:      make([]adjEntry, 1),
		installed: map[routeKey]uint32{},
	}
}

// l3Plan is a compiled L3 configuration waiting to be installed.
type l3Plan struct {
	want    map[routeKey]uint32
	adjKeys map[string]bool // adjacencies in use
	newVRFs []*vrfEntry     // created for this plan; closed if it fails
	goneVRF []string
	goneIf  []string
}

// compileL3 fills t's interface, VRF and adjacency tables for l3 and
// returns the route plan. domOf gives the domain ID of (bridge, VLAN).
func (st *l3State) compileL3(t *tables, l3 *l3Config, domOf func(bridge string, vlan uint16) (uint16, bool)) (*l3Plan, error) {
	if l3 == nil {
		l3 = &l3Config{vrfs: []string{DefaultVRF}}
	}
	plan := &l3Plan{want: make(map[routeKey]uint32, len(l3.routes)+2*len(l3.ifaces)), adjKeys: map[string]bool{}}
	fail := func(err error) (*l3Plan, error) {
		for _, v := range plan.newVRFs {
			v.close()
		}
		return nil, err
	}
	// VRFs.
	vrfID := make([]uint16, len(l3.vrfs))
	wantVRF := map[string]bool{}
	for i, name := range l3.vrfs {
		id, err := st.vrfIDs.get(name)
		if err != nil {
			return fail(fmt.Errorf("VRF %s: %w", name, err))
		}
		vrfID[i] = id - 1 // VRF IDs start at 0 ("default" is first)
		wantVRF[name] = true
		v := st.fibs[name]
		if v == nil {
			var err error
			if v, err = newVRFEntry(name); err != nil {
				return fail(err)
			}
			plan.newVRFs = append(plan.newVRFs, v)
		}
		t.vrfs = growTo(t.vrfs, int(vrfID[i]))
		t.vrfs[vrfID[i]] = v
	}
	for name := range st.fibs {
		if !wantVRF[name] {
			plan.goneVRF = append(plan.goneVRF, name)
		}
	}
	// Interfaces.
	ifID := make([]uint16, len(l3.ifaces)+1)
	wantIf := map[string]bool{}
	for i := range l3.ifaces {
		c := &l3.ifaces[i]
		id, err := st.ifIDs.get(c.Name)
		if err != nil {
			return fail(fmt.Errorf("interface %s: %w", c.Name, err))
		}
		ifID[i+1] = id
		wantIf[c.Name] = true
		br, vlan := c.Bridge, c.VLAN
		if c.Port != "" {
			br, vlan = routedBridgeName(c.Port), 0
		}
		dom, _ := domOf(br, vlan)
		e := ifaceEntry{valid: true, name: c.Name, vrf: vrfID[c.vrf], domain: dom, vlan: vlan, mtu: uint16(c.MTU), cfgMTU: uint16(c.MTU), routed: c.Port != "",
			dns: l3.dns[uint16(i+1)], proxy: c.ProxyARP}
		for k := range 6 {
			e.mac[k] = byte(c.mac >> (40 - 8*k))
		}
		for _, a := range c.addrs {
			if a.Addr().Is4() {
				b := a.Addr().As4()
				e.addr4 = append(e.addr4, ifAddr4{ip: binary.BigEndian.Uint32(b[:]), mask: ^uint32(0) << (32 - a.Bits())})
				if a.Bits() == 0 {
					e.addr4[len(e.addr4)-1].mask = 0
				}
			} else {
				e.addr6 = append(e.addr6, ifAddr6{a: addrKey(a.Addr()), bits: a.Bits()})
			}
		}
		t.ifaces = growTo(t.ifaces, int(id))
		t.ifaces[id] = e
		t.dns = t.dns || e.dns
		if int(dom) < len(t.domains) && t.domains[dom].valid {
			t.domains[dom].rif = id
		}
	}
	for name := range st.ifIDs.ids {
		if !wantIf[name] {
			plan.goneIf = append(plan.goneIf, name)
		}
	}
	t.ifaces = growTo(t.ifaces, int(st.ifIDs.next))
	// Effective MTUs: the VTEP's interface first, whose MTU decides what
	// a remote VTEP's pseudo-port carries in the other interfaces'
	// domains (the VXLAN overhead and the inner Ethernet header less).
	tunMTU, vtepIf := 0, uint16(0)
	if vx := l3.vx; vx != nil && int(vx.iface) < len(ifID) {
		vtepIf = ifID[vx.iface]
		e := &t.ifaces[vtepIf]
		t.limitMTU(e, 0)
		tunMTU = int(e.mtu) - (encap.Overhead(vx.vtep.Is6()) - encap.EthLen) - ethHdrLen
	}
	for _, id := range ifID[1:] {
		if id != vtepIf {
			t.limitMTU(&t.ifaces[id], tunMTU)
		}
	}

	// Routes: connected and local routes of interface addresses, then the
	// static ones.
	for i := range l3.ifaces {
		c := &l3.ifaces[i]
		vrf := vrfID[c.vrf]
		for _, a := range c.addrs {
			host := netip.PrefixFrom(a.Addr(), a.Addr().BitLen())
			local, err := st.adj(plan, adjEntry{kind: adjLocal})
			if err != nil {
				return fail(err)
			}
			plan.want[routeKey{vrf, host}] = local
			if a.Bits() < a.Addr().BitLen() {
				g, err := st.adj(plan, adjEntry{kind: adjGlean, iface: ifID[i+1]})
				if err != nil {
					return fail(err)
				}
				plan.want[routeKey{vrf, a.Masked()}] = g
			}
		}
	}
	var members []uint32
	for i := range l3.routes {
		r := &l3.routes[i]
		k := routeKey{vrfID[r.vrf], r.prefix}
		if r.blackhole {
			id, err := st.adj(plan, adjEntry{kind: adjDrop})
			if err != nil {
				return fail(err)
			}
			plan.want[k] = id
			continue
		}
		members = members[:0]
		for _, h := range r.hops {
			if e := &t.ifaces[ifID[h.iface]]; e.proxy {
				e.addSource(r.prefix)
			}
			a := adjEntry{kind: adjGlean, iface: ifID[h.iface]}
			if h.addr.IsValid() {
				a.kind, a.via = adjGateway, addrKey(h.addr)
			}
			id, err := st.adj(plan, a)
			if err != nil {
				return fail(err)
			}
			members = append(members, id)
		}
		id := members[0]
		if len(members) > 1 {
			var err error
			if id, err = st.adj(plan, adjEntry{kind: adjECMP, members: slices.Clone(members)}); err != nil {
				return fail(err)
			}
		}
		plan.want[k] = id
	}
	t.adjs = slices.Clone(st.adjs)
	return plan, nil
}

func newVRFEntry(name string) (*vrfEntry, error) {
	f4, err := fib.NewTable4(fib.Limits{})
	if err != nil {
		return nil, fmt.Errorf("VRF %s: IPv4 FIB: %w", name, err)
	}
	f6, err := fib.NewTable6(fib.Limits{})
	if err != nil {
		f4.Close()
		return nil, fmt.Errorf("VRF %s: IPv6 FIB: %w", name, err)
	}
	return &vrfEntry{valid: true, name: name, fib4: f4, fib6: f6}, nil
}

func (v *vrfEntry) close() {
	v.fib4.Close()
	v.fib6.Close()
}

// adj returns the ID of adjacency a, creating it if new.
func (st *l3State) adj(plan *l3Plan, a adjEntry) (uint32, error) {
	k := a.key()
	plan.adjKeys[k] = true
	if id, ok := st.adjIDs[k]; ok {
		return id, nil
	}
	var id uint32
	if n := len(st.adjFree); n > 0 {
		id, st.adjFree = st.adjFree[n-1], st.adjFree[:n-1]
		st.adjs[id] = a
	} else {
		if len(st.adjs) >= maxAdjacencies {
			return 0, fmt.Errorf("more than %d adjacencies", maxAdjacencies)
		}
		id = uint32(len(st.adjs))
		st.adjs = append(st.adjs, a)
	}
	st.adjIDs[k] = id
	return id, nil
}

func (a *adjEntry) key() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(a.kind)))
	b.WriteByte('/')
	b.WriteString(strconv.Itoa(int(a.iface)))
	if a.kind == adjGateway {
		b.WriteByte('/')
		b.WriteString(strconv.FormatUint(a.via.hi, 16))
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(a.via.lo, 16))
	}
	for _, m := range a.members {
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(int(m)))
	}
	return b.String()
}

// install makes the FIBs hold exactly plan.want. t is the table set just
// published (its VRF entries are the FIB owners).
func (st *l3State) install(t *tables, plan *l3Plan) error {
	var errs []error
	fibOf := func(vrf uint16) *vrfEntry {
		if int(vrf) < len(t.vrfs) && t.vrfs[vrf] != nil {
			return t.vrfs[vrf]
		}
		return nil
	}
	for k := range st.installed {
		if _, ok := plan.want[k]; ok {
			continue
		}
		if v := fibOf(k.vrf); v != nil {
			if err := v.delete(k.prefix); err != nil {
				errs = append(errs, err)
			}
		}
		delete(st.installed, k)
	}
	for k, id := range plan.want {
		if old, ok := st.installed[k]; ok && old == id {
			continue
		}
		v := fibOf(k.vrf)
		if v == nil {
			continue
		}
		if err := v.insert(k.prefix, id); err != nil {
			errs = append(errs, fmt.Errorf("route %s in VRF %s: %w", k.prefix, v.name, err))
			continue
		}
		st.installed[k] = id
	}
	for _, v := range plan.newVRFs {
		st.fibs[v.name] = v
	}
	return errors.Join(errs...)
}

// finish runs after the workers have been quiesced: it reclaims FIB memory,
// frees unused adjacency IDs and closes the FIBs of removed VRFs.
func (st *l3State) finish(plan *l3Plan) {
	for k, id := range st.adjIDs {
		if !plan.adjKeys[k] {
			delete(st.adjIDs, k)
			st.adjs[id] = adjEntry{}
			st.adjFree = append(st.adjFree, id)
		}
	}
	for _, name := range plan.goneVRF {
		if v := st.fibs[name]; v != nil {
			v.close()
			delete(st.fibs, name)
		}
		st.vrfIDs.release(name)
	}
	for _, name := range plan.goneIf {
		st.ifIDs.release(name)
	}
	for _, v := range st.fibs {
		v.fib4.Reclaim()
		v.fib6.Reclaim()
	}
}

func (v *vrfEntry) insert(p netip.Prefix, id uint32) error {
	if p.Addr().Is4() {
		return v.fib4.Insert(p, id)
	}
	return v.fib6.Insert(p, id)
}

func (v *vrfEntry) delete(p netip.Prefix) error {
	if p.Addr().Is4() {
		return v.fib4.Delete(p)
	}
	return v.fib6.Delete(p)
}

// close releases every FIB (Switch.Close).
func (st *l3State) close() {
	for _, v := range st.fibs {
		v.close()
	}
	st.fibs = map[string]*vrfEntry{}
}

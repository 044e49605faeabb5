package vswitch

import (
	"fmt"
	"slices"

	"github.com/vecswitch/vecswitch/policy/conntrack"
	"github.com/vecswitch/vecswitch/policy/nat"
)

// natState is the router's NAT: the policy/nat table the configuration
// is synced into, and a connection tracker of its own with per-worker
// handles. It is separate from the security groups' tracker: a routed
// flow is one entry in each, keyed as the packet is where each looks at
// it (NAT before the route lookup, untranslated on the way in; the
// security groups at the output port, on the container's side), so neither's
// revalidation, flush or capacity touches the other's flows. (The
// groups' key is the packet on its container's side: destination
// translated, source not; sg-policy's natSide reads this tracker's
// entry, which the nat node leaves in Meta.Conn, to undo the source's
// translation.)
type natState struct {
	tab *nat.Table
	ct  *conntrack.Table
	cws []*conntrack.Worker
	ws  []*nat.Worker
	cfg *natConfig // what tab holds
}

// syncNAT makes the NAT state hold nc (nil or empty: none) and returns
// the state to publish (nil: NAT off). nc was validated by
// normalizeNAT, so the table accepts it. The flows of removed port maps
// are flushed; other flows keep their translation until they end, as
// Linux's. Caller holds s.mu.
func (s *Switch) syncNAT(nc *natConfig) (*natState, error) {
	st := s.natObj
	if nc.empty() {
		if st != nil && st.cfg != nil {
			st.ct.Flush(nil) // NAT is off: no packet is translated any more
			st.cfg = nil
		}
		return nil, nil
	}
	if st == nil {
		tab, err := nat.NewTable(nat.Config{})
		if err != nil {
			return nil, err
		}
		// BothKeys: Translate reads both keys of every packet's flow.
		ct, err := conntrack.New(conntrack.Config{Capacity: s.opts.ConntrackCapacity, TCPLoose: true, BothKeys: true})
		if err != nil {
			return nil, fmt.Errorf("vswitch: NAT connection tracker: %w", err)
		}
		st = &natState{tab: tab, ct: ct}
		for range s.workers {
			st.cws = append(st.cws, ct.NewWorker())
			st.ws = append(st.ws, tab.NewWorker(ct))
		}
		s.natObj = st
	}
	cur := st.tab
	var gone []goneBackend
	defer func() {
		if len(gone) == 0 {
			return
		}
		// No worker still uses the old backend sets: each runs an
		// iteration that starts after the change (two quiesces: the
		// first may end an iteration begun before it).
		for _, w := range s.workers {
			w.Quiesce()
			w.Quiesce()
		}
		for _, g := range gone {
			st.ct.Flush(nat.ServiceFlows(g.sv, g.b))
		}
	}()
	for _, m := range cur.Maps() {
		if !slices.Contains(nc.maps, m) {
			cur.DeleteMap(m)
			st.ct.Flush(nat.MapFlows(m))
		}
	}
	for _, n := range cur.Networks() {
		if !slices.ContainsFunc(nc.nets, func(o nat.Network) bool { return o.Name == n.Name }) {
			cur.DeleteNetwork(n.Name)
		}
	}
	for _, sv := range cur.Services() {
		i := slices.IndexFunc(nc.svcs, func(o nat.Service) bool {
			return o.Proto == sv.Proto && o.VIP == sv.VIP && o.Port == sv.Port
		})
		if i < 0 {
			cur.DeleteService(sv)
		}
		// A backend that is gone (its service included) loses its
		// flows: their next packet finds none; a TCP segment is picked
		// up as a new flow to another backend, which answers RST. The
		// flows go once the service no longer has the backend (below):
		// flushed before, a packet in between would be picked up to the
		// old backend set and could land on the removed one again.
		for _, b := range sv.Backends {
			if i < 0 || !slices.ContainsFunc(nc.svcs[i].Backends, func(o nat.Backend) bool { return o.AddrPort() == b.AddrPort() }) {
				gone = append(gone, goneBackend{sv, b})
			}
		}
	}
	for _, n := range nc.nets {
		if err := cur.SetNetwork(n); err != nil {
			return nil, err
		}
	}
	for _, m := range nc.maps {
		if err := cur.AddMap(m); err != nil {
			return nil, err
		}
	}
	for _, sv := range nc.svcs {
		if err := cur.SetService(sv); err != nil {
			return nil, err
		}
	}
	if err := cur.SetUplinks(nc.uplinks); err != nil {
		return nil, err
	}
	if err := cur.SetInternal(nc.inner); err != nil {
		return nil, err
	}
	st.cfg = nc
	return st, nil
}

// goneBackend is a backend a reconfiguration removed, whose flows go.
type goneBackend struct {
	sv nat.Service
	b  nat.Backend
}

// expireNATFlows sweeps part of the NAT flow table for idle flows.
func (s *Switch) expireNATFlows() {
	if st := s.nat.Load(); st != nil {
		s.natNext, _ = st.ct.Expire(s.now.Load(), s.natNext, 1<<16)
	}
}

// NATStats are the NAT's counters.
type NATStats struct {
	// Enabled: some masquerade or port map is configured.
	Enabled bool `json:"enabled"`
	// Flows is the number of tracked routed flows.
	Flows int `json:"flows"`
	// SNAT, DNAT, Hairpin: flows created with each translation.
	SNAT    uint64 `json:"snat_flows"`
	DNAT    uint64 `json:"dnat_flows"`
	Hairpin uint64 `json:"hairpin_flows"`
	// Translated: packets rewritten.
	Translated uint64 `json:"translated_packets"`
	// Refused counts packets dropped per reason (ports-exhausted,
	// table-full, stale-conn, ...).
	Refused map[string]uint64 `json:"refused,omitempty"`
	// Conntrack: the NAT tracker's counters.
	Conntrack conntrack.Counters `json:"conntrack"`
}

// NATStats returns the NAT's counters.
func (s *Switch) NATStats() NATStats {
	st := s.nat.Load()
	if st == nil {
		return NATStats{}
	}
	c := st.tab.Counters()
	out := NATStats{Enabled: true, Flows: st.ct.Len(), SNAT: c.SNAT, DNAT: c.DNAT, Hairpin: c.Hairpin,
		Translated: c.Translated, Conntrack: st.ct.Counters()}
	for r, n := range c.Reasons {
		if n != 0 && r != 0 {
			if out.Refused == nil {
				out.Refused = map[string]uint64{}
			}
			out.Refused[nat.Reason(r).String()] = n
		}
	}
	return out
}

// FlushNATFlows deletes every NAT flow (translated connections must start
// again, with the configuration as it is now); it returns how many.
func (s *Switch) FlushNATFlows() int {
	if st := s.nat.Load(); st != nil {
		return st.ct.Flush(nil)
	}
	return 0
}

// ServiceStats returns the load-balanced services' counters: new flows
// per service and per backend.
func (s *Switch) ServiceStats() []nat.ServiceCounters {
	if st := s.nat.Load(); st != nil {
		return st.tab.ServiceCounters()
	}
	return nil
}

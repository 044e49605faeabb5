package vswitch

import "github.com/vecswitch/vecswitch/pipeline"

// l2-flood replicates a frame to every up port of its domain except the one
// it came in on (split horizon). Each extra copy is a clone (a new buffer);
// the last port gets the original.
//
// A domain with a router interface lists routerPort among its flood ports:
// the router gets a copy of ARP and IPv6 frames (requests, neighbor
// discovery); other broadcasts and multicasts are not for it.
const (
	floodNextOutput = iota
	floodNextARP
	floodNextIP6
	floodNextSG // sg-policy: an IP copy from or to a port in a security group
)

const (
	floodDropNoPort = iota
	floodDropNoBuffer
)

func l2FloodSpec(s *Switch) pipeline.NodeSpec {
	return pipeline.NodeSpec{
		Name:  nodeL2Flood,
		Next:  []string{nodeL2Output, nodeARPInput, nodeIP6Forward, nodeSGPolicy},
		Drops: []string{"no-flood-port", "no-buffer"},
		New:   func(pipeline.NodeContext) pipeline.Node { return &l2Flood{s: s} },
	}
}

type l2Flood struct{ s *Switch }

func (n *l2Flood) Process(f *pipeline.Frame) {
	t := n.s.tables.Load()
	sg := n.s.sg.Load()
	pool := f.Pool
	for i, id := range f.IDs {
		m := pool.Meta(id)
		in := m.InPort
		// With security groups, the copies of an IP frame from or to a
		// port in a group go through sg-policy.
		src, policed := in, false
		if sg != nil && m.Flags&flagLocal == 0 {
			if src == routerPort {
				src = uint16(m.Aux) // routedOut kept the ingress port
			}
			policed = isIPFrame(pool.Packet(id))
		}
		var flood []uint16
		var rif uint16
		if int(m.Domain) < len(t.domains) {
			flood, rif = t.domains[m.Domain].flood, t.domains[m.Domain].rif
		}
		last := -1
		var toRouter uint16
		fromTunnel := int(in) < len(t.ports) && t.ports[in].tunnel != 0
		for _, p := range flood {
			if p == in {
				continue
			}
			if fromTunnel && p != routerPort && t.ports[p].tunnel != 0 {
				continue // split horizon: the sending VTEP reached the others
			}
			if p == routerPort {
				toRouter = routerNext(pool.Packet(id))
				continue
			}
			if last >= 0 {
				c, ok := pool.Clone(id)
				if !ok {
					f.CountDrop(floodDropNoBuffer, 1)
					continue
				}
				pool.Meta(c).OutPort = uint16(last)
				nx := uint16(floodNextOutput)
				if policed && sg.filtering(src, uint16(last)) {
					nx = floodNextSG
				}
				f.Emit(nx, c)
			}
			last = int(p)
		}
		if toRouter != 0 {
			if last < 0 {
				m.Iface = rif
				f.Next[i] = toRouter
				continue
			}
			if c, ok := pool.Clone(id); ok {
				pool.Meta(c).Iface = rif
				f.Emit(toRouter, c)
			} else {
				f.CountDrop(floodDropNoBuffer, 1)
			}
		}
		if last < 0 {
			f.Drop(i, floodDropNoPort)
			continue
		}
		m.OutPort = uint16(last)
		f.Next[i] = floodNextOutput
		if policed && sg.filtering(src, uint16(last)) {
			f.Next[i] = floodNextSG
		}
	}
}

// isIPFrame reports whether an untagged frame carries IPv4 or IPv6.
func isIPFrame(pkt []byte) bool {
	if len(pkt) < ethHdrLen {
		return false
	}
	et := uint16(pkt[12])<<8 | uint16(pkt[13])
	return et == etherTypeIPv4 || et == etherTypeIPv6
}

// routerNext is the flood next node of the router's copy of a frame, 0 when
// the router takes none.
func routerNext(pkt []byte) uint16 {
	if len(pkt) < ethHdrLen {
		return 0
	}
	switch uint16(pkt[12])<<8 | uint16(pkt[13]) {
	case etherTypeARP:
		return floodNextARP
	case etherTypeIPv6:
		return floodNextIP6
	}
	return 0
}

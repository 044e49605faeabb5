package afxdp

import (
	"errors"
	"fmt"
	"net"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/internal/fastpath"
	"github.com/vecswitch/vecswitch/ports/internal/xsk"
)

// FastPath is the XDP fast path of one switch: the BPF maps that every
// member port's program shares (see ports/internal/fastpath). Ports join
// it through Config.FastPath; the switch programs it through the
// ports.FastPath methods. Create one per switch, close it after the
// switch and its ports.
type FastPath struct {
	m *fastpath.Maps
}

var (
	_ ports.FastPath          = (*FastPath)(nil)
	_ ports.FastPathMember    = (*Port)(nil)
	_ ports.FastPathRechecker = (*Port)(nil)
)

// FastPathConfig sizes the fast path's tables; zero fields take the
// defaults (65536 MACs, 256 ports, 4096 trunk VLANs).
type FastPathConfig struct {
	MaxEntries, MaxPorts, MaxVLANs int
}

// ErrFastPathUnsupported is wrapped when the kernel (or the process's
// privileges) cannot run the fast path; the switch then runs with the
// pipeline alone.
var ErrFastPathUnsupported = fastpath.ErrNotSupported

// NewFastPath creates the maps and checks that this kernel loads the
// program (fastpath.Probe).
func NewFastPath(cfg FastPathConfig) (*FastPath, error) {
	if err := fastpath.Probe(); err != nil {
		return nil, fmt.Errorf("afxdp: XDP fast path: %w", err)
	}
	m, err := fastpath.NewMaps(fastpath.MapsConfig{MaxEntries: cfg.MaxEntries, MaxPorts: cfg.MaxPorts, MaxVLANs: cfg.MaxVLANs})
	if err != nil {
		return nil, fmt.Errorf("afxdp: XDP fast path: %w", err)
	}
	return &FastPath{m: m}, nil
}

// Close frees the maps. Close the ports first.
func (f *FastPath) Close() error { return f.m.Close() }

// SetPort implements ports.FastPath. The port's largest frame is read
// from its device's MTU, as the port's (Port.Info's MaxFrame, which the
// switch's pipeline checks frames against): frames the fast path would
// send longer go to the pipeline, which drops them as too big. The switch
// sets the port again when its MTU changes (it attaches it anew).
func (f *FastPath) SetPort(ifindex int, c ports.FastPathPort) error {
	ifc, err := net.InterfaceByIndex(ifindex)
	if err != nil {
		return fmt.Errorf("afxdp: fast path: port %d: %w", ifindex, err)
	}
	return f.m.SetPort(ifindex, fastpath.PortConfig{Domain: c.Domain, TaggedOnly: c.TaggedOnly, VLANs: c.VLANs, SlowPath: c.SlowPath,
		Secured: c.Secured, Sources: c.Sources, MaxFrame: maxFrame(ifc.MTU)})
}

// maxFrame is the longest frame a device of MTU mtu sends (Port.Info).
func maxFrame(mtu int) int { return min(mtu+14+4, pipeline.MaxPacket) }

// DelPort implements ports.FastPath.
func (f *FastPath) DelPort(ifindex int) error { return f.m.DelPort(ifindex) }

// SetEntry implements ports.FastPath.
func (f *FastPath) SetEntry(domain uint16, mac [6]byte, ifindex int, vid uint16) (uint32, error) {
	s, err := f.m.SetEntry(domain, mac, fastpath.Entry{Ifindex: ifindex, VID: vid})
	return uint32(s), err
}

// DelEntry implements ports.FastPath.
func (f *FastPath) DelEntry(domain uint16, mac [6]byte) error { return f.m.DelEntry(domain, mac) }

// FlushPort implements ports.FastPath.
func (f *FastPath) FlushPort(ifindex int) error {
	_, err := f.m.FlushPort(ifindex)
	return err
}

// FlushDomain implements ports.FastPath.
func (f *FastPath) FlushDomain(domain uint16) error {
	_, err := f.m.FlushDomain(domain)
	return err
}

// EntryHits implements ports.FastPath.
func (f *FastPath) EntryHits(slot uint32) (src, dst uint64, err error) {
	h, err := f.m.EntryHits(fastpath.Slot(slot))
	return h.Src, h.Dst, err
}

// PortCounters implements ports.FastPath.
func (f *FastPath) PortCounters(ifindex int) (ports.FastPathCounters, error) {
	c, err := f.m.PortCounters(ifindex)
	if err != nil {
		return ports.FastPathCounters{}, err
	}
	out := ports.FastPathCounters{RxPackets: c.RxPackets, RxBytes: c.RxBytes, TxPackets: c.TxPackets, TxBytes: c.TxBytes,
		SlowPass: c.SlowPass, Errors: c.Errors}
	for r, n := range c.Miss {
		if n > 0 {
			if out.Misses == nil {
				out.Misses = map[string]uint64{}
			}
			out.Misses[fastpath.MissReason(r).String()] = n
		}
	}
	return out, nil
}

// attachFastPath loads the fast-path program on the port's device in
// place of the plain one, and checks that the device can take part. It
// returns the program, or nil (the reason in p.fpErr) when the port must
// run with the plain one.
func (p *Port) attachFastPath(nq int, mode xsk.AttachMode) fastpath.Steering {
	prog, err := fastpath.Attach(p.ifindex, nq, mode, p.cfg.FastPath.m)
	if err != nil {
		p.fpErr = fmt.Errorf("fast-path program not attached: %w", err)
		return nil
	}
	st, err := fastpath.CheckPeer(p.ifindex)
	p.peer = st
	p.fpErr = peerErr(st, err)
	return prog
}

// peerErr is why a device with this peer cannot be in the fast path, or
// nil.
func peerErr(st fastpath.PeerState, err error) error {
	switch {
	case err != nil:
		return fmt.Errorf("veth peer not checked: %w", err)
	case !st.Ready():
		return errors.New(st.String())
	}
	return nil
}

// RecheckFastPath implements ports.FastPathRechecker: it reads the veth
// peer's GRO, XDP and checksum settings again (they may have changed since
// the port was added), so FastPathIfindex answers for now.
func (p *Port) RecheckFastPath() {
	if _, ok := p.prog.(*fastpath.Program); !ok || !p.peer.Veth || !p.peer.Found {
		return
	}
	st, err := fastpath.RecheckPeer(p.peer)
	p.fpMu.Lock()
	defer p.fpMu.Unlock()
	if err == nil {
		p.peer = st
	}
	if e := peerErr(st, err); (e == nil) != (p.fpErr == nil) {
		p.cfg.Logger.Warn("veth peer changed: fast path for the port", "port", p.cfg.Name, "ready", e == nil, "state", st.String())
	}
	p.fpErr = peerErr(st, err)
}

// FastPathIfindex implements ports.FastPathMember: the device's ifindex
// when the fast-path program is attached and the device can take part.
func (p *Port) FastPathIfindex() (int, error) {
	if p.cfg.FastPath == nil {
		return 0, errors.New("no fast path configured")
	}
	p.fpMu.Lock()
	defer p.fpMu.Unlock()
	if p.fpErr != nil {
		return 0, p.fpErr
	}
	return p.ifindex, nil
}

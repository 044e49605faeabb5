package sriov

import (
	"fmt"

	"github.com/vecswitch/vecswitch/ports/afxdp"
)

// Handover describes a running hand-off port to the process that takes it
// over (vswitchd --takeover), besides the AF_XDP port's descriptors: the
// VF, the netdev the port runs on, the settings Restore would put back,
// and the AF_XDP port itself (afxdp.Handover). The VF's settings are the
// kernel's and stay as they are: neither process applies anything.
type Handover struct {
	PF     string         `json:"pf"`
	VF     int            `json:"vf"`
	Netdev string         `json:"netdev"`
	Saved  VFConfig       `json:"saved"`
	XDP    afxdp.Handover `json:"xdp"`
}

// Handover describes the port and returns the AF_XDP port's descriptors
// (see afxdp.Port.Handover, whose rules hold: the stop-first order, the
// shared pools, SocketStates and Restore on the inner port).
func (p *Port) Handover() (Handover, []int, error) {
	h, fds, err := p.Port.Handover()
	if err != nil {
		return Handover{}, nil, err
	}
	return Handover{PF: p.pf, VF: p.vf, Netdev: p.netdev, Saved: p.saved, XDP: h}, fds, nil
}

// Adopt makes a hand-off port of another process's (Handover): the VF must
// still be there with the same netdev (or cfg.Representor names it), and
// the AF_XDP port is adopted with cfg.XDP's name, logger and fast path.
// As with afxdp.Adopt, the giver's XDP program stays in the link until
// Swap. On failure the descriptors are left to the caller.
func (h *Host) Adopt(cfg PortConfig, ho Handover, fds []int) (*Port, error) {
	if cfg.Name == "" || ho.PF != cfg.PF || ho.VF != cfg.VF {
		return nil, &Error{PF: ho.PF, VF: ho.VF, Op: "adopt", Kind: ErrInvalid,
			Err: fmt.Errorf("port %q is VF %d of %q here, VF %d of %q in the giver", cfg.Name, cfg.VF, cfg.PF, ho.VF, ho.PF)}
	}
	v, err := h.Lookup(ho.PF, ho.VF)
	if err != nil {
		return nil, err
	}
	if ho.Netdev != v.Netdev && ho.Netdev != cfg.Representor {
		return nil, &Error{PF: ho.PF, VF: ho.VF, Op: "adopt", Kind: ErrNoNetdev,
			Err: fmt.Errorf("the port ran on %q, the VF's netdev is %q now", ho.Netdev, v.Netdev)}
	}
	x := cfg.XDP
	x.Name = cfg.Name
	xp, err := afxdp.Adopt(x, ho.XDP, fds)
	if err != nil {
		return nil, &Error{PF: ho.PF, VF: ho.VF, Op: "adopt " + ho.Netdev, Err: err}
	}
	return &Port{Port: xp, host: h, pf: ho.PF, vf: ho.VF, netdev: ho.Netdev, saved: ho.Saved}, nil
}

// Swap puts the adopted port's own XDP program into the link (see
// afxdp.Port.Swap: once the learned MACs are in the fast path's maps).
// Once swapped, and for a port NewPort made, it does nothing.
func (p *Port) Swap() error {
	if err := p.Port.Swap(); err != nil {
		return &Error{PF: p.pf, VF: p.vf, Op: "swap the XDP program on " + p.netdev, Err: err}
	}
	return nil
}

// AdoptPort is Host.Adopt on cfg.Host (nil: the running system).
func AdoptPort(cfg PortConfig, ho Handover, fds []int) (*Port, error) {
	return cfg.Host.Adopt(cfg, ho, fds)
}

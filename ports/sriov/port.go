package sriov

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/vecswitch/vecswitch/ports"
	"github.com/vecswitch/vecswitch/ports/afxdp"
	"github.com/vecswitch/vecswitch/ports/netdev"
)

// PortConfig describes a hand-off port: VF VF of PF, configured with Config,
// attached to the switch by AF_XDP on the VF's netdev or on Representor.
type PortConfig struct {
	// Name is the port's name in the switch.
	Name string
	PF   string
	VF   int
	// Config is applied to the VF before the port attaches.
	Config VFConfig
	// Representor, if set, is the netdev to attach to instead of the VF's
	// own (switchdev mode: the VF's representor on the host).
	Representor string
	// XDP holds the AF_XDP options (queues, attach and copy mode, ring and
	// batch size, logger); NewPort sets its Name and Ifname.
	XDP afxdp.Config
	// Host is where the PF is; nil is the running system.
	Host *Host
}

// PortOptions are the option keys ParsePortOptions reads: pf=, vf=,
// representor= and the VF settings (Options).
var PortOptions = append([]string{"pf", "vf", "representor"}, Options...)

// ParsePortOptions reads a PortConfig for the port name from vsctl
// add-port options (pf=PF vf=N [representor=DEV] and the VF settings of
// ParseOptions). The AF_XDP options are the caller's to fill in XDP.
func ParsePortOptions(name string, o map[string]string) (PortConfig, error) {
	pc := PortConfig{Name: name, PF: o["pf"], Representor: o["representor"]}
	if pc.PF == "" {
		return pc, invalid("type=sriov needs pf=PF (the physical function's netdev)")
	}
	if err := netdev.ValidateName(pc.PF); err != nil {
		return pc, invalid("pf=%s: %v", pc.PF, err)
	}
	if pc.Representor != "" {
		if err := netdev.ValidateName(pc.Representor); err != nil {
			return pc, invalid("representor=%s: %v", pc.Representor, err)
		}
	}
	s, ok := o["vf"]
	if !ok || s == "" {
		return pc, invalid("type=sriov needs vf=N (the VF index)")
	}
	vf, err := strconv.Atoi(s)
	if err != nil || vf < 0 || vf > 65535 {
		return pc, invalid("vf=%s: want a VF index from 0", s)
	}
	pc.VF = vf
	pc.Config, err = ParseOptions(o)
	return pc, err
}

// Port is an SR-IOV hand-off port: an AF_XDP port on a VF's netdev (or its
// representor). Frames the switch sends to it leave on that netdev; frames
// arriving there enter the pipeline.
type Port struct {
	*afxdp.Port
	host   *Host
	pf     string
	vf     int
	netdev string
	saved  VFConfig
}

var _ ports.Port = (*Port)(nil)

// NewPort creates a hand-off port on the running system's PF, or on
// cfg.Host's.
func NewPort(cfg PortConfig) (*Port, error) { return cfg.Host.NewPort(cfg) }

// NewPort finds the VF and the netdev to attach to, applies cfg.Config
// (recording the settings it replaces, see Restore) and opens the AF_XDP
// port. If the AF_XDP port cannot be made, the settings are put back.
// Closing the port closes the AF_XDP port only: the VF keeps its settings,
// which belong to the durable configuration.
func (h *Host) NewPort(cfg PortConfig) (*Port, error) {
	if cfg.Name == "" {
		return nil, &Error{PF: cfg.PF, VF: cfg.VF, Op: "new port", Kind: ErrInvalid, Err: errors.New("no port name")}
	}
	v, err := h.Lookup(cfg.PF, cfg.VF)
	if err != nil {
		return nil, err
	}
	dev := cfg.Representor
	if dev == "" {
		dev = v.Netdev
	}
	if dev == "" {
		return nil, &Error{PF: cfg.PF, VF: cfg.VF, Op: "find netdev", Kind: ErrNoNetdev,
			Err: fmt.Errorf("VF %s has no kernel netdev (unbound or vfio-pci); give representor=DEV", v.PCI)}
	}
	saved := restrict(v.Config(), cfg.Config)
	if err := h.Apply(cfg.PF, cfg.VF, cfg.Config); err != nil {
		return nil, errors.Join(err, h.Apply(cfg.PF, cfg.VF, saved))
	}
	x := cfg.XDP
	x.Name, x.Ifname = cfg.Name, dev
	xp, err := afxdp.New(x)
	if err != nil {
		err = &Error{PF: cfg.PF, VF: cfg.VF, Op: "attach " + dev, Err: err}
		return nil, errors.Join(err, h.Apply(cfg.PF, cfg.VF, saved))
	}
	return &Port{Port: xp, host: h, pf: cfg.PF, vf: cfg.VF, netdev: dev, saved: saved}, nil
}

// PF is the physical function's netdev.
func (p *Port) PF() string { return p.pf }

// VF is the VF index.
func (p *Port) VF() int { return p.vf }

// Netdev is the netdev the port is attached to.
func (p *Port) Netdev() string { return p.netdev }

// Saved is what Restore applies: the settings NewPort changed, as the PF
// reported them before (empty if the PF's driver reports no VF settings).
func (p *Port) Saved() VFConfig { return p.saved }

// Restore puts back the VF settings NewPort replaced, for a port removed
// for good (del-port); a daemon stop should not call it. It may be called
// before or after Close.
func (p *Port) Restore() error { return p.host.Apply(p.pf, p.vf, p.saved) }

// restrict keeps the settings of saved that cfg sets.
func restrict(saved, cfg VFConfig) VFConfig {
	var r VFConfig
	if cfg.MAC != nil {
		r.MAC = saved.MAC
	}
	if cfg.VLAN != nil {
		r.VLAN = saved.VLAN
	}
	if cfg.SpoofCheck != nil {
		r.SpoofCheck = saved.SpoofCheck
	}
	if cfg.Trust != nil {
		r.Trust = saved.Trust
	}
	if cfg.LinkState != "" {
		r.LinkState = saved.LinkState
	}
	if cfg.MinTxRate != nil || cfg.MaxTxRate != nil {
		r.MinTxRate, r.MaxTxRate = saved.MinTxRate, saved.MaxTxRate
	}
	return r
}

package sriov

import (
	"net"
	"sort"

	"github.com/vishvananda/netlink"
)

// VF describes one virtual function of a PF.
type VF struct {
	Index int
	// PCI is the VF's PCI address (from sysfs; "" if sysfs does not show
	// the PF).
	PCI string
	// Netdev is the VF's kernel netdev in the host namespace, "" when the
	// VF is unbound, bound to vfio-pci, or moved into another namespace.
	Netdev string

	// The rest comes from netlink; Netlink is false when the PF's driver
	// reported nothing for this VF and they are all zero.
	Netlink    bool
	MAC        net.HardwareAddr
	VLAN       int
	QoS        int
	Proto      string // Proto8021Q, Proto8021AD, or "" if not reported
	SpoofCheck bool
	Trust      bool
	LinkState  string // StateAuto, StateEnable, StateDisable
	MinTxRate  int    // Mbit/s, 0: no limit
	MaxTxRate  int    // Mbit/s, 0: no limit
}

// Discover lists the VFs of the PF netdev pf in the system's namespace.
func Discover(pf string) ([]VF, error) { return new(Host).Discover(pf) }

// Discover lists the VFs of pf, ordered by index: PCI address and netdev
// from sysfs, settings from netlink, merged by index. A PF that sysfs shows
// as SR-IOV capable but that has no VFs enabled gives an empty list; one
// that neither sysfs nor netlink shows as a PF gives ErrNotSRIOV.
func (h *Host) Discover(pf string) ([]VF, error) {
	sys, capable, err := h.readSysfs(pf)
	if err != nil {
		return nil, &Error{PF: pf, VF: -1, Op: "read sysfs", Err: err}
	}
	link, err := h.nl().LinkByName(pf)
	if err != nil {
		return nil, &Error{PF: pf, VF: -1, Op: "find pf", Err: err}
	}
	nl := link.Attrs().Vfs
	if !capable && len(nl) == 0 {
		return nil, &Error{PF: pf, VF: -1, Op: "discover", Kind: ErrNotSRIOV}
	}
	byIndex := map[int]*VF{}
	get := func(i int) *VF {
		if v, ok := byIndex[i]; ok {
			return v
		}
		v := &VF{Index: i}
		byIndex[i] = v
		return v
	}
	for _, s := range sys {
		v := get(s.index)
		v.PCI, v.Netdev = s.pci, s.netdev
	}
	for _, info := range nl {
		fromNetlink(get(info.ID), info)
	}
	out := make([]VF, 0, len(byIndex))
	for _, v := range byIndex {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}

func fromNetlink(v *VF, info netlink.VfInfo) {
	v.Netlink = true
	if len(info.Mac) > 0 {
		v.MAC = append(net.HardwareAddr(nil), info.Mac...)
	}
	v.VLAN, v.QoS, v.Proto = info.Vlan, info.Qos, protoName(info.VlanProto)
	v.SpoofCheck = info.Spoofchk
	v.Trust = info.Trust == 1
	v.LinkState = stateName(info.LinkState)
	v.MinTxRate, v.MaxTxRate = int(info.MinTxRate), int(info.MaxTxRate)
	if v.MaxTxRate == 0 && info.TxRate != 0 {
		v.MaxTxRate = info.TxRate // drivers with only the old IFLA_VF_TX_RATE
	}
}

// Lookup returns VF index vf of pf (see Discover); ErrNoVF if there is none.
func (h *Host) Lookup(pf string, vf int) (VF, error) {
	vfs, err := h.Discover(pf)
	if err != nil {
		return VF{}, err
	}
	for _, v := range vfs {
		if v.Index == vf {
			return v, nil
		}
	}
	return VF{}, &Error{PF: pf, VF: vf, Op: "find vf", Kind: ErrNoVF}
}

// Config returns the VF's current settings as a VFConfig with every
// setting netlink reported set, so that applying it restores them.
func (v VF) Config() VFConfig {
	if !v.Netlink {
		return VFConfig{}
	}
	c := VFConfig{LinkState: v.LinkState}
	if _, err := stateNumber(c.LinkState); err != nil {
		c.LinkState = ""
	}
	if len(v.MAC) == 6 {
		c.MAC = append(net.HardwareAddr(nil), v.MAC...)
	}
	c.VLAN = &VLAN{ID: v.VLAN, QoS: v.QoS, Proto: v.Proto}
	if _, err := protoNumber(c.VLAN.Proto); err != nil {
		c.VLAN.Proto = ""
	}
	spoof, trust := v.SpoofCheck, v.Trust
	minRate, maxRate := v.MinTxRate, v.MaxTxRate
	c.SpoofCheck, c.Trust, c.MinTxRate, c.MaxTxRate = &spoof, &trust, &minRate, &maxRate
	return c
}

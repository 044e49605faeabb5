package sriov

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// Apply sends cfg's settings for VF vf of pf in the system's namespace.
func Apply(pf string, vf int, cfg VFConfig) error { return new(Host).Apply(pf, vf, cfg) }

// Apply sends each set setting of cfg to VF vf through the PF, in this
// order: MAC, VLAN (with QoS and protocol), spoof check, trust, link state,
// tx rates. Unset settings are not sent. It tries every setting and returns
// the failures joined, each an *Error naming the setting and matching
// ErrRefused and the kernel's error. Applying the same VFConfig again sends
// the same calls, so the daemon replays its stored settings at start-up.
func (h *Host) Apply(pf string, vf int, cfg VFConfig) error {
	if err := cfg.Validate(); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.PF, e.VF = pf, vf
		}
		return err
	}
	if vf < 0 {
		return &Error{PF: pf, VF: -1, Op: fmt.Sprintf("vf %d", vf), Kind: ErrInvalid}
	}
	if cfg.IsZero() {
		return nil
	}
	nl := h.nl()
	link, err := nl.LinkByName(pf)
	if err != nil {
		return &Error{PF: pf, VF: vf, Op: "find pf", Err: err}
	}
	var errs []error
	try := func(op string, err error) {
		if err != nil {
			errs = append(errs, &Error{PF: pf, VF: vf, Op: op, Kind: ErrRefused, Err: err})
		}
	}
	if cfg.MAC != nil {
		try("set mac "+cfg.MAC.String(), nl.LinkSetVfHardwareAddr(link, vf, cfg.MAC))
	}
	if v := cfg.VLAN; v != nil {
		proto, _ := protoNumber(v.Proto)
		name := v.Proto
		if name == "" {
			name = Proto8021Q
		}
		try(fmt.Sprintf("set vlan %d qos %d proto %s", v.ID, v.QoS, name),
			nl.LinkSetVfVlanQosProto(link, vf, v.ID, v.QoS, proto))
	}
	if cfg.SpoofCheck != nil {
		try("set spoofchk "+onOffName(*cfg.SpoofCheck), nl.LinkSetVfSpoofchk(link, vf, *cfg.SpoofCheck))
	}
	if cfg.Trust != nil {
		try("set trust "+onOffName(*cfg.Trust), nl.LinkSetVfTrust(link, vf, *cfg.Trust))
	}
	if cfg.LinkState != "" {
		st, _ := stateNumber(cfg.LinkState)
		try("set state "+cfg.LinkState, nl.LinkSetVfState(link, vf, st))
	}
	if cfg.MinTxRate != nil || cfg.MaxTxRate != nil {
		minRate, maxRate := currentRates(link, vf)
		if cfg.MinTxRate != nil {
			minRate = *cfg.MinTxRate
		}
		if cfg.MaxTxRate != nil {
			maxRate = *cfg.MaxTxRate
		}
		try(fmt.Sprintf("set min_tx_rate %d max_tx_rate %d", minRate, maxRate),
			nl.LinkSetVfRate(link, vf, minRate, maxRate))
	}
	return errors.Join(errs...)
}

// currentRates are the VF's rates as the PF reports them (0, 0 if not).
func currentRates(pf netlink.Link, vf int) (minRate, maxRate int) {
	for _, info := range pf.Attrs().Vfs {
		if info.ID == vf {
			var v VF
			fromNetlink(&v, info)
			return v.MinTxRate, v.MaxTxRate
		}
	}
	return 0, 0
}

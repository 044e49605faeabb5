package sriov

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// VLAN protocols (the TPID the VF inserts).
const (
	Proto8021Q  = "802.1Q"
	Proto8021AD = "802.1ad"
)

// Link states of a VF, as iproute2 names them.
const (
	StateAuto    = "auto"    // follow the PF's link
	StateEnable  = "enable"  // always up
	StateDisable = "disable" // always down
)

// VLAN is a VF's port VLAN: the NIC tags the VF's frames with it and strips
// it from frames to the VF. ID 0 (with QoS 0) clears the port VLAN.
type VLAN struct {
	ID  int // 0..4095
	QoS int // 802.1p priority, 0..7
	// Proto is Proto8021Q (the default when empty) or Proto8021AD.
	Proto string
}

// VFConfig is the configuration of one VF. Zero (nil, empty) fields are
// unset: Apply sends nothing for them and the VF keeps what it has.
type VFConfig struct {
	// MAC is the VF's administrative MAC (unicast; all zeros lets the VF
	// choose its own on most drivers).
	MAC net.HardwareAddr
	// VLAN, QoS and protocol go to the kernel in one message.
	VLAN *VLAN
	// SpoofCheck drops frames from the VF with another source MAC.
	SpoofCheck *bool
	// Trust lets the VF change its MAC and enter promiscuous mode.
	Trust *bool
	// LinkState is "" (unset), StateAuto, StateEnable or StateDisable.
	LinkState string
	// MinTxRate and MaxTxRate are in Mbit/s; 0 means no limit. The kernel
	// takes both at once: when only one is set Apply sends the VF's current
	// value of the other.
	MinTxRate *int
	MaxTxRate *int
}

// IsZero reports whether no setting is set.
func (c VFConfig) IsZero() bool {
	return c.MAC == nil && c.VLAN == nil && c.SpoofCheck == nil && c.Trust == nil &&
		c.LinkState == "" && c.MinTxRate == nil && c.MaxTxRate == nil
}

// Validate checks ranges and names; the error wraps ErrInvalid.
func (c VFConfig) Validate() error {
	if c.MAC != nil && (len(c.MAC) != 6 || c.MAC[0]&1 != 0) {
		return invalid("mac=%v: want a unicast EUI-48 address", c.MAC)
	}
	if v := c.VLAN; v != nil {
		if v.ID < 0 || v.ID > 4095 {
			return invalid("vlan=%d: want 0 to 4095", v.ID)
		}
		if v.QoS < 0 || v.QoS > 7 {
			return invalid("qos=%d: want 0 to 7", v.QoS)
		}
		if _, err := protoNumber(v.Proto); err != nil {
			return err
		}
	}
	if _, err := stateNumber(c.LinkState); c.LinkState != "" && err != nil {
		return err
	}
	for _, r := range []struct {
		key string
		v   *int
	}{{"min_tx_rate", c.MinTxRate}, {"max_tx_rate", c.MaxTxRate}} {
		if r.v != nil && *r.v < 0 {
			return invalid("%s=%d: want 0 or more Mbit/s", r.key, *r.v)
		}
	}
	if c.MinTxRate != nil && c.MaxTxRate != nil && *c.MaxTxRate != 0 && *c.MinTxRate > *c.MaxTxRate {
		return invalid("min_tx_rate=%d is above max_tx_rate=%d", *c.MinTxRate, *c.MaxTxRate)
	}
	return nil
}

func protoNumber(p string) (int, error) {
	switch strings.ToLower(p) {
	case "", "802.1q":
		return 0x8100, nil
	case "802.1ad":
		return 0x88a8, nil
	}
	return 0, invalid("proto=%s: want 802.1Q or 802.1ad", p)
}

func protoName(n int) string {
	switch n {
	case 0x8100, 0x0081:
		return Proto8021Q
	case 0x88a8, 0xa888:
		return Proto8021AD
	case 0:
		return ""
	}
	return fmt.Sprintf("%#04x", n)
}

// Values of IFLA_VF_LINK_STATE.
const (
	linkStateAuto uint32 = iota
	linkStateEnable
	linkStateDisable
)

func stateNumber(s string) (uint32, error) {
	switch s {
	case StateAuto:
		return linkStateAuto, nil
	case StateEnable:
		return linkStateEnable, nil
	case StateDisable:
		return linkStateDisable, nil
	}
	return 0, invalid("state=%s: want auto, enable or disable", s)
}

func stateName(n uint32) string {
	switch n {
	case linkStateAuto:
		return StateAuto
	case linkStateEnable:
		return StateEnable
	case linkStateDisable:
		return StateDisable
	}
	return strconv.FormatUint(uint64(n), 10)
}

// Options are the option keys ParseOptions reads.
var Options = []string{"mac", "vlan", "qos", "proto", "spoofchk", "trust", "state", "min_tx_rate", "max_tx_rate"}

// ParseOptions reads a VFConfig from vsctl options (see Options): mac=MAC
// vlan=0..4095 qos=0..7 proto=802.1Q|802.1ad spoofchk=on|off trust=on|off
// state=auto|enable|disable min_tx_rate=MBPS max_tx_rate=MBPS. Other keys
// are ignored; an empty value counts as absent. qos= and proto= need vlan=.
// Errors name the option and wrap ErrInvalid.
func ParseOptions(o map[string]string) (VFConfig, error) {
	var c VFConfig
	if s := o["mac"]; s != "" {
		mac, err := net.ParseMAC(s)
		if err != nil || len(mac) != 6 {
			return c, invalid("mac=%s: want an EUI-48 address like 02:00:00:00:00:01", s)
		}
		c.MAC = mac
	}
	if s := o["vlan"]; s != "" {
		id, err := atoi("vlan", s, 0, 4095)
		if err != nil {
			return c, err
		}
		c.VLAN = &VLAN{ID: id}
		if s := o["qos"]; s != "" {
			if c.VLAN.QoS, err = atoi("qos", s, 0, 7); err != nil {
				return c, err
			}
		}
		if s := o["proto"]; s != "" {
			if _, err := protoNumber(s); err != nil {
				return c, err
			}
			c.VLAN.Proto = Proto8021Q
			if strings.EqualFold(s, Proto8021AD) {
				c.VLAN.Proto = Proto8021AD
			}
		}
	} else {
		for _, k := range []string{"qos", "proto"} {
			if o[k] != "" {
				return c, invalid("%s=%s: needs vlan=", k, o[k])
			}
		}
	}
	for _, b := range []struct {
		key string
		dst **bool
	}{{"spoofchk", &c.SpoofCheck}, {"trust", &c.Trust}} {
		s := o[b.key]
		if s == "" {
			continue
		}
		v, err := onOff(b.key, s)
		if err != nil {
			return c, err
		}
		*b.dst = &v
	}
	if s := o["state"]; s != "" {
		if _, err := stateNumber(s); err != nil {
			return c, err
		}
		c.LinkState = s
	}
	for _, r := range []struct {
		key string
		dst **int
	}{{"min_tx_rate", &c.MinTxRate}, {"max_tx_rate", &c.MaxTxRate}} {
		s := o[r.key]
		if s == "" {
			continue
		}
		v, err := atoi(r.key, s, 0, 1<<31-1)
		if err != nil {
			return c, err
		}
		*r.dst = &v
	}
	return c, c.Validate()
}

func atoi(key, s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, invalid("%s=%s: want a number from %d to %d", key, s, lo, hi)
	}
	return n, nil
}

func onOff(key, s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "true", "yes", "1":
		return true, nil
	case "off", "false", "no", "0":
		return false, nil
	}
	return false, invalid("%s=%s: want on or off", key, s)
}

func onOffName(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

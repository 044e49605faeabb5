package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
)

// sriovVF is sriov/show's row as the daemon sends it (ports/sriov.VF:
// Go field names, the MAC as bytes).
type sriovVF struct {
	Index                int
	PCI, Netdev          string
	Netlink              bool
	MAC                  []byte
	VLAN, QoS            int
	Proto                string
	SpoofCheck, Trust    bool
	LinkState            string
	MinTxRate, MaxTxRate int
}

// sriovMoved is sriov/move's answer (the daemon's record of the move).
type sriovMoved struct {
	PF      string `json:"pf"`
	VF      int    `json:"vf"`
	Netns   string `json:"netns"`
	Name    string `json:"name"`
	OrigMTU int    `json:"orig_mtu"`
}

// printSRIOV prints sriov/show and sriov/move; false if cmd is another
// command.
func printSRIOV(w io.Writer, cmd string, res json.RawMessage) (bool, error) {
	switch cmd {
	case "sriov/show":
		var vfs []sriovVF
		if err := json.Unmarshal(res, &vfs); err != nil {
			return true, err
		}
		if len(vfs) == 0 {
			fmt.Fprintln(w, "no VFs")
			return true, nil
		}
		fmt.Fprintln(w, "VF\tPCI\tNETDEV\tMAC\tVLAN\tSPOOF CHECK\tTRUST\tLINK\tTX RATE (Mbit/s)")
		for _, v := range vfs {
			netdev := orDash(v.Netdev)
			if !v.Netlink {
				fmt.Fprintf(w, "%d\t%s\t%s\t-\t-\t-\t-\t-\t- (the PF's driver reports no VF settings)\n", v.Index, orDash(v.PCI), netdev)
				continue
			}
			vlan := "-"
			if v.VLAN != 0 {
				vlan = strconv.Itoa(v.VLAN)
				if v.QoS != 0 {
					vlan += " qos " + strconv.Itoa(v.QoS)
				}
				if v.Proto != "" {
					vlan += " " + v.Proto
				}
			}
			mac := "-"
			if len(v.MAC) == 6 {
				mac = net.HardwareAddr(v.MAC).String()
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Index, orDash(v.PCI), netdev, mac, vlan,
				onOff(v.SpoofCheck), onOff(v.Trust), orDash(v.LinkState), rates(v.MinTxRate, v.MaxTxRate))
		}
		return true, nil
	case "sriov/move":
		var m sriovMoved
		if err := json.Unmarshal(res, &m); err != nil {
			return true, err
		}
		fmt.Fprintf(w, "VF %d of %s is %s in %s (sriov/restore %s %d brings it back)\n", m.VF, m.PF, m.Name, m.Netns, m.PF, m.VF)
		return true, nil
	}
	return false, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// rates is a VF's transmit rate limits: min-max, "-" for none.
func rates(lo, hi int) string {
	if lo == 0 && hi == 0 {
		return "-"
	}
	return strconv.Itoa(lo) + "-" + strconv.Itoa(hi)
}

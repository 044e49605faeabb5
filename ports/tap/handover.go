package tap

import (
	"net"
)

// Handover is what another process needs, besides the queues'
// descriptors, to adopt a running tap port (vswitchd --takeover): the
// device and the port's shape. It is JSON, so that it can travel in the
// takeover state.
type Handover struct {
	Ifname    string `json:"ifname"`
	Index     int    `json:"index"`
	Netns     string `json:"netns,omitempty"`
	MAC       string `json:"mac,omitempty"`
	Queues    int    `json:"queues"`
	BatchSize int    `json:"batch"`
	MaxFrame  int    `json:"max_frame"`
	Offload   bool   `json:"offload,omitempty"`
}

// Handover describes the port and returns its queues' descriptors, one
// per queue, still the port's: the caller passes duplicates (SCM_RIGHTS)
// and must not close them.
func (p *Port) Handover() (Handover, []int) {
	h := Handover{Ifname: p.dev.Ifname, Index: p.dev.Index, Netns: p.dev.Netns, Queues: len(p.fds),
		BatchSize: p.batch, MaxFrame: p.info.MaxFrame, Offload: p.info.Offload}
	if p.dev.MAC != nil {
		h.MAC = p.dev.MAC.String()
	}
	return h, p.fds
}

// Release marks the device as handed over: Close then closes this
// process's descriptors only and leaves the device to the process that
// holds the others. A port adopted and then given back (a takeover that
// failed) is released the same way before it is closed.
func (p *Port) Release() { p.released.Store(true) }

func (h Handover) device() Device {
	d := Device{Ifname: h.Ifname, Index: h.Index, Netns: h.Netns}
	if m, err := net.ParseMAC(h.MAC); err == nil {
		d.MAC = m
	}
	return d
}

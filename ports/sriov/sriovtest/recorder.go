package sriovtest

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Call is one recorded call.
type Call struct {
	// Method is the Netlink method name, e.g. "LinkSetVfTrust".
	Method string
	// Link is the link name passed (the PF), or looked up.
	Link string
	// VF is the VF index, -1 for LinkByName.
	VF int
	// Args are the remaining arguments, as passed.
	Args []any
}

// String formats the call as "Method link vf=N arg...".
func (c Call) String() string {
	var b strings.Builder
	b.WriteString(c.Method + " " + c.Link)
	if c.VF >= 0 {
		fmt.Fprintf(&b, " vf=%d", c.VF)
	}
	for _, a := range c.Args {
		fmt.Fprintf(&b, " %v", a)
	}
	return b.String()
}

// Recorder is a fake sriov.Netlink: it knows the PFs added with AddPF,
// records every call, keeps each VF's settings as a driver would, and
// fails the methods told to with Fail. It is safe for concurrent use.
type Recorder struct {
	mu    sync.Mutex
	pfs   map[string]*netlink.Device
	calls []Call
	fail  map[string]error
}

// NewRecorder returns a Recorder with no PFs.
func NewRecorder() *Recorder {
	return &Recorder{pfs: map[string]*netlink.Device{}, fail: map[string]error{}}
}

// AddPF makes a PF named name with the given VFs (which may be none: a PF
// whose driver reports no VF information).
func (r *Recorder) AddPF(name string, index int, vfs ...netlink.VfInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := &netlink.Device{LinkAttrs: netlink.NewLinkAttrs()}
	d.Name, d.Index = name, index
	d.Vfs = slices.Clone(vfs)
	r.pfs[name] = d
}

// Fail makes every later call of method fail with err (nil: succeed again).
func (r *Recorder) Fail(method string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		delete(r.fail, method)
	} else {
		r.fail[method] = err
	}
}

// Calls returns every call so far, in order.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Sets returns the setter calls so far (every call but LinkByName), each
// formatted by Call.String.
func (r *Recorder) Sets() []string {
	var out []string
	for _, c := range r.Calls() {
		if c.Method != "LinkByName" {
			out = append(out, c.String())
		}
	}
	return out
}

// Reset forgets the recorded calls.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

// VF returns the current settings of VF vf of pf.
func (r *Recorder) VF(pf string, vf int) (netlink.VfInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d, ok := r.pfs[pf]; ok {
		for _, v := range d.Vfs {
			if v.ID == vf {
				return v, true
			}
		}
	}
	return netlink.VfInfo{}, false
}

// LinkByName returns a copy of the PF with its VFs' current settings.
func (r *Recorder) LinkByName(name string) (netlink.Link, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{Method: "LinkByName", Link: name, VF: -1})
	if err := r.fail["LinkByName"]; err != nil {
		return nil, err
	}
	d, ok := r.pfs[name]
	if !ok {
		return nil, fmt.Errorf("link %s not found: %w", name, unix.ENODEV)
	}
	c := *d
	c.Vfs = slices.Clone(d.Vfs)
	return &c, nil
}

// set records a setter call and, unless it is to fail, runs update on the
// VF (a VF that the PF does not list is an EINVAL, as from the kernel).
func (r *Recorder) set(method string, pf netlink.Link, vf int, update func(*netlink.VfInfo), args ...any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{Method: method, Link: pf.Attrs().Name, VF: vf, Args: args})
	if err := r.fail[method]; err != nil {
		return err
	}
	d, ok := r.pfs[pf.Attrs().Name]
	if !ok {
		return unix.ENODEV
	}
	for i := range d.Vfs {
		if d.Vfs[i].ID == vf {
			update(&d.Vfs[i])
			return nil
		}
	}
	return unix.EINVAL
}

// LinkSetVfHardwareAddr records the call and sets the VF's MAC.
func (r *Recorder) LinkSetVfHardwareAddr(pf netlink.Link, vf int, mac net.HardwareAddr) error {
	return r.set("LinkSetVfHardwareAddr", pf, vf, func(v *netlink.VfInfo) { v.Mac = slices.Clone(mac) }, mac)
}

// LinkSetVfVlanQosProto records the call and sets the VF's VLAN.
func (r *Recorder) LinkSetVfVlanQosProto(pf netlink.Link, vf, vlan, qos, proto int) error {
	return r.set("LinkSetVfVlanQosProto", pf, vf, func(v *netlink.VfInfo) {
		v.Vlan, v.Qos, v.VlanProto = vlan, qos, proto
	}, vlan, qos, fmt.Sprintf("%#04x", proto))
}

// LinkSetVfSpoofchk records the call and sets the VF's spoof check.
func (r *Recorder) LinkSetVfSpoofchk(pf netlink.Link, vf int, on bool) error {
	return r.set("LinkSetVfSpoofchk", pf, vf, func(v *netlink.VfInfo) { v.Spoofchk = on }, on)
}

// LinkSetVfTrust records the call and sets the VF's trust.
func (r *Recorder) LinkSetVfTrust(pf netlink.Link, vf int, on bool) error {
	return r.set("LinkSetVfTrust", pf, vf, func(v *netlink.VfInfo) {
		v.Trust = 0
		if on {
			v.Trust = 1
		}
	}, on)
}

// LinkSetVfState records the call and sets the VF's link state.
func (r *Recorder) LinkSetVfState(pf netlink.Link, vf int, state uint32) error {
	return r.set("LinkSetVfState", pf, vf, func(v *netlink.VfInfo) { v.LinkState = state }, state)
}

// LinkSetVfRate records the call and sets the VF's rates.
func (r *Recorder) LinkSetVfRate(pf netlink.Link, vf, minRate, maxRate int) error {
	return r.set("LinkSetVfRate", pf, vf, func(v *netlink.VfInfo) {
		v.MinTxRate, v.MaxTxRate = uint32(minRate), uint32(maxRate)
	}, minRate, maxRate)
}

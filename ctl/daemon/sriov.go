package daemon

import (
	"errors"
	"net"
	"slices"
	"strconv"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/sriov"
)

func vfIndex(s string) (int, error) {
	vf, err := strconv.Atoi(s)
	if err != nil || vf < 0 || vf > 4095 {
		return 0, ctl.Errorf(ctl.CodeInvalid, "VF %q: want a VF index", s)
	}
	return vf, nil
}

// sriovMove hands a VF netdev to a container namespace and records it.
func (d *Daemon) sriovMove(args []string) (any, error) {
	pf := args[0]
	vf, err := vfIndex(args[1])
	if err != nil {
		return nil, err
	}
	if err := d.state.vfFree(pf, vf, ""); err != nil {
		return nil, err
	}
	opts, err := ctl.ParseOptions(args[2:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, append([]string{"netns", "ifname", "ip", "gw", "mtu"}, sriov.Options...)...); err != nil {
		return nil, err
	}
	if opts["netns"] == "" {
		return nil, ctl.Errorf(ctl.CodeUsage, "sriov/move needs netns=PATH")
	}
	link := netdev.LinkConfig{Name: orDefault(opts["ifname"], "eth0"), Up: true}
	if link.MAC, link.Addrs, link.Gateways, err = addrOptions(opts); err != nil {
		return nil, err
	}
	if link.MTU, err = intOpt(opts, "mtu", 0, 68, 9000); err != nil {
		return nil, err
	}
	vfOpts := map[string]string{}
	for _, k := range sriov.Options {
		if v, ok := opts[k]; ok && k != "mac" {
			vfOpts[k] = v
		}
	}
	vfCfg, err := sriov.ParseOptions(vfOpts)
	if err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
	}
	m, err := d.sriov.MoveToNetns(pf, vf, sriov.MoveOptions{Netns: opts["netns"], Link: link, VF: vfCfg})
	if err != nil {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
	}
	next := d.state.clone()
	rec := VFMove{PF: pf, VF: vf, Netns: m.Netns, Name: m.Name, Index: m.Index, OrigName: m.OrigName,
		OrigMTU: m.OrigMTU, OrigUp: m.OrigUp}
	if m.OrigMAC != nil {
		rec.OrigMAC = m.OrigMAC.String()
	}
	next.VFMoves = append(next.VFMoves, rec)
	if err := d.commit(next); err != nil {
		m.Restore()
		return nil, err
	}
	return rec, nil
}

// sriovRestore brings a handed-off VF netdev back to the host.
func (d *Daemon) sriovRestore(args []string) (any, error) {
	pf := args[0]
	vf, err := vfIndex(args[1])
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(d.state.VFMoves, func(m VFMove) bool { return m.PF == pf && m.VF == vf })
	if i < 0 {
		return nil, ctl.Errorf(ctl.CodeNotFound, "VF %d of %s was not handed to a container", vf, pf)
	}
	rec := d.state.VFMoves[i]
	mac, _ := net.ParseMAC(rec.OrigMAC)
	m := d.sriov.Resume(rec.PF, rec.VF, rec.Netns, rec.Name, rec.Index, rec.OrigName, mac, rec.OrigMTU, rec.OrigUp)
	if err := m.Restore(); err != nil {
		if !errors.Is(err, sriov.ErrNoNetdev) {
			return nil, ctl.Errorf(ctl.CodeInvalid, "%v", err)
		}
		// The container's namespace is gone and the VF has no netdev in
		// the host (unbound): there is nothing to bring back, and a kept
		// record would refuse every later sriov/move of the VF.
		d.log.Warn("sriov/restore: nothing to restore, the hand-off record is dropped", "pf", pf, "vf", vf, "err", err)
	}
	next := d.state.clone()
	next.VFMoves = slices.Delete(next.VFMoves, i, i+1)
	return nil, d.commit(next)
}

// vfFree refuses a VF (pf, vf) that is in use: handed to a container by
// sriov/move, or the VF of a type=sriov port other than port (a VF's
// netdev is one device: a second user takes it from the first, whose
// port goes down).
func (s *State) vfFree(pf string, vf int, port string) error {
	for _, m := range s.VFMoves {
		if m.PF == pf && m.VF == vf {
			return ctl.Errorf(ctl.CodeExists, "VF %d of %s is already in %s as %s (sriov/restore it first)", vf, pf, m.Netns, m.Name)
		}
	}
	for _, p := range s.Ports {
		if p.Type == TypeSRIOV && p.Name != port && p.Options["pf"] == pf && p.Options["vf"] == strconv.Itoa(vf) {
			return ctl.Errorf(ctl.CodeExists, "VF %d of %s is port %s's (del-port it first)", vf, pf, p.Name)
		}
	}
	return nil
}

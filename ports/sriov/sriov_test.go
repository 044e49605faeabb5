package sriov_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports/sriov"
	"github.com/vecswitch/vecswitch/ports/sriov/sriovtest"
)

const pf = "ens1f0"

// fixture is a PF with four VFs: 0 and 2 bound to netdevs, 1 unbound
// (vfio-pci), 3 bound; netlink reports settings for all four.
func fixture(t *testing.T) (*sriov.Host, *sriovtest.Recorder, *sriovtest.Sysfs) {
	sys := sriovtest.NewSysfs(t)
	sys.AddPF(pf, "0000:03:00.0", 8)
	sys.AddVF(pf, 0, "0000:03:02.0", "ens1f0v0")
	sys.AddVF(pf, 1, "0000:03:02.1", "")
	sys.AddVF(pf, 2, "0000:03:02.2", "ens1f0v2")
	sys.AddVF(pf, 3, "0000:03:02.3", "ens1f0v3")
	rec := sriovtest.NewRecorder()
	rec.AddPF(pf, 7,
		netlink.VfInfo{ID: 0, Mac: net.HardwareAddr{2, 0, 0, 0, 0, 0x10}, Vlan: 100, Qos: 3, VlanProto: 0x8100,
			Spoofchk: true, Trust: 0, LinkState: 0, MinTxRate: 10, MaxTxRate: 1000},
		netlink.VfInfo{ID: 1, Mac: net.HardwareAddr{0, 0, 0, 0, 0, 0}, Spoofchk: true, LinkState: 2},
		netlink.VfInfo{ID: 2, Vlan: 5, VlanProto: 0x88a8, Trust: 1, LinkState: 1, TxRate: 500},
		netlink.VfInfo{ID: 3},
	)
	return &sriov.Host{Netlink: rec, Sysfs: sys.Root}, rec, sys
}

func TestDiscover(t *testing.T) {
	h, _, sys := fixture(t)
	num, total, err := h.NumVFs(pf)
	require.NoError(t, err)
	require.Equal(t, 4, num)
	require.Equal(t, 8, total)

	vfs, err := h.Discover(pf)
	require.NoError(t, err)
	require.Equal(t, []sriov.VF{
		{Index: 0, PCI: "0000:03:02.0", Netdev: "ens1f0v0", Netlink: true, MAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x10},
			VLAN: 100, QoS: 3, Proto: sriov.Proto8021Q, SpoofCheck: true, LinkState: sriov.StateAuto, MinTxRate: 10, MaxTxRate: 1000},
		{Index: 1, PCI: "0000:03:02.1", Netlink: true, MAC: net.HardwareAddr{0, 0, 0, 0, 0, 0}, SpoofCheck: true, LinkState: sriov.StateDisable},
		{Index: 2, PCI: "0000:03:02.2", Netdev: "ens1f0v2", Netlink: true, VLAN: 5, Proto: sriov.Proto8021AD, Trust: true,
			LinkState: sriov.StateEnable, MaxTxRate: 500},
		{Index: 3, PCI: "0000:03:02.3", Netdev: "ens1f0v3", Netlink: true, LinkState: sriov.StateAuto},
	}, vfs)

	// A rebind shows up at the next discovery.
	sys.BindVF("0000:03:02.1", "ens1f0v1")
	v, err := h.Lookup(pf, 1)
	require.NoError(t, err)
	require.Equal(t, "ens1f0v1", v.Netdev)

	_, err = h.Lookup(pf, 4)
	require.ErrorIs(t, err, sriov.ErrNoVF)
	require.EqualError(t, err, "sriov: pf ens1f0 vf 4: find vf: no such VF")
}

func TestDiscoverSysfsOnly(t *testing.T) {
	sys := sriovtest.NewSysfs(t)
	sys.AddPF(pf, "0000:03:00.0", 4)
	sys.AddVF(pf, 1, "0000:03:02.1", "")
	sys.AddVF(pf, 0, "0000:03:02.0", "ens1f0v0")
	rec := sriovtest.NewRecorder()
	rec.AddPF(pf, 7) // the driver reports no VF information
	vfs, err := (&sriov.Host{Netlink: rec, Sysfs: sys.Root}).Discover(pf)
	require.NoError(t, err)
	require.Equal(t, []sriov.VF{{Index: 0, PCI: "0000:03:02.0", Netdev: "ens1f0v0"}, {Index: 1, PCI: "0000:03:02.1"}}, vfs)
	require.Equal(t, sriov.VFConfig{}, vfs[0].Config(), "nothing known, nothing to restore")

	// SR-IOV capable, none enabled.
	sys.AddPF("ens2f0", "0000:04:00.0", 4)
	rec.AddPF("ens2f0", 8)
	vfs, err = (&sriov.Host{Netlink: rec, Sysfs: sys.Root}).Discover("ens2f0")
	require.NoError(t, err)
	require.Empty(t, vfs)
}

func TestDiscoverNetlinkOnly(t *testing.T) {
	rec := sriovtest.NewRecorder()
	rec.AddPF(pf, 7, netlink.VfInfo{ID: 0, Trust: 1}, netlink.VfInfo{ID: 1})
	h := &sriov.Host{Netlink: rec, Sysfs: t.TempDir()}
	vfs, err := h.Discover(pf)
	require.NoError(t, err)
	require.Len(t, vfs, 2)
	require.True(t, vfs[0].Trust)
	require.Empty(t, vfs[0].PCI)

	rec.AddPF("eth9", 9)
	_, err = h.Discover("eth9")
	require.ErrorIs(t, err, sriov.ErrNotSRIOV)
	_, _, err = h.NumVFs("eth9")
	require.ErrorIs(t, err, sriov.ErrNotSRIOV)

	_, err = h.Discover("nosuch")
	require.Error(t, err)
	require.Contains(t, err.Error(), "sriov: pf nosuch: find pf")
}

// full sets every setting.
func full() sriov.VFConfig {
	return sriov.VFConfig{
		MAC:        net.HardwareAddr{2, 0xaa, 0, 0, 0, 3},
		VLAN:       &sriov.VLAN{ID: 300, QoS: 5, Proto: sriov.Proto8021AD},
		SpoofCheck: ptr(false),
		Trust:      ptr(true),
		LinkState:  sriov.StateEnable,
		MinTxRate:  ptr(100),
		MaxTxRate:  ptr(2000),
	}
}

func TestApplyEverySetting(t *testing.T) {
	h, rec, _ := fixture(t)
	require.NoError(t, h.Apply(pf, 3, full()))
	require.Equal(t, []string{
		"LinkSetVfHardwareAddr ens1f0 vf=3 02:aa:00:00:00:03",
		"LinkSetVfVlanQosProto ens1f0 vf=3 300 5 0x88a8",
		"LinkSetVfSpoofchk ens1f0 vf=3 false",
		"LinkSetVfTrust ens1f0 vf=3 true",
		"LinkSetVfState ens1f0 vf=3 1",
		"LinkSetVfRate ens1f0 vf=3 100 2000",
	}, rec.Sets())
	calls := rec.Calls()
	require.Equal(t, "LinkByName", calls[0].Method, "the PF is looked up once, first")
	require.Len(t, calls, 7)

	v, err := h.Lookup(pf, 3)
	require.NoError(t, err)
	require.Equal(t, full(), v.Config(), "the fake driver now reports what was set")

	// Default protocol, other states.
	rec.Reset()
	require.NoError(t, h.Apply(pf, 0, sriov.VFConfig{VLAN: &sriov.VLAN{ID: 7}, LinkState: sriov.StateAuto}))
	require.NoError(t, h.Apply(pf, 0, sriov.VFConfig{LinkState: sriov.StateDisable}))
	require.Equal(t, []string{
		"LinkSetVfVlanQosProto ens1f0 vf=0 7 0 0x8100",
		"LinkSetVfState ens1f0 vf=0 0",
		"LinkSetVfState ens1f0 vf=0 2",
	}, rec.Sets())
}

func TestApplyUnsetNotSent(t *testing.T) {
	h, rec, _ := fixture(t)
	require.NoError(t, h.Apply(pf, 2, sriov.VFConfig{}))
	require.Empty(t, rec.Calls(), "an empty config touches nothing")

	require.NoError(t, h.Apply(pf, 2, sriov.VFConfig{Trust: ptr(false)}))
	require.Equal(t, []string{"LinkSetVfTrust ens1f0 vf=2 false"}, rec.Sets())

	rec.Reset()
	require.NoError(t, h.Apply(pf, 2, sriov.VFConfig{SpoofCheck: ptr(true), MAC: net.HardwareAddr{2, 0, 0, 0, 0, 9}}))
	require.Equal(t, []string{
		"LinkSetVfHardwareAddr ens1f0 vf=2 02:00:00:00:00:09",
		"LinkSetVfSpoofchk ens1f0 vf=2 true",
	}, rec.Sets())
}

// TestApplyOneRate: the kernel takes both rates at once; the other keeps
// its current value.
func TestApplyOneRate(t *testing.T) {
	h, rec, _ := fixture(t)
	require.NoError(t, h.Apply(pf, 0, sriov.VFConfig{MaxTxRate: ptr(3000)}))
	require.NoError(t, h.Apply(pf, 0, sriov.VFConfig{MinTxRate: ptr(50)}))
	require.NoError(t, h.Apply(pf, 2, sriov.VFConfig{MinTxRate: ptr(20)})) // old-style TxRate 500
	require.Equal(t, []string{
		"LinkSetVfRate ens1f0 vf=0 10 3000",
		"LinkSetVfRate ens1f0 vf=0 50 3000",
		"LinkSetVfRate ens1f0 vf=2 20 500",
	}, rec.Sets())
}

func TestApplyErrors(t *testing.T) {
	h, rec, _ := fixture(t)
	rec.Fail("LinkSetVfTrust", unix.EOPNOTSUPP)
	rec.Fail("LinkSetVfRate", unix.EINVAL)
	err := h.Apply(pf, 3, full())
	require.ErrorIs(t, err, sriov.ErrRefused)
	require.ErrorIs(t, err, unix.EOPNOTSUPP)
	require.ErrorIs(t, err, unix.EINVAL)
	require.Equal(t, "sriov: pf ens1f0 vf 3: set trust on: operation not supported\n"+
		"sriov: pf ens1f0 vf 3: set min_tx_rate 100 max_tx_rate 2000: invalid argument", err.Error())
	require.Len(t, rec.Sets(), 6, "a refused setting does not keep the others from being sent")

	// Each failing setter is named.
	for method, want := range map[string]string{
		"LinkSetVfHardwareAddr": "set mac 02:aa:00:00:00:03",
		"LinkSetVfVlanQosProto": "set vlan 300 qos 5 proto 802.1ad",
		"LinkSetVfSpoofchk":     "set spoofchk off",
		"LinkSetVfState":        "set state enable",
	} {
		rec := sriovtest.NewRecorder()
		rec.AddPF(pf, 7, netlink.VfInfo{ID: 3})
		rec.Fail(method, unix.EPERM)
		err := (&sriov.Host{Netlink: rec, Sysfs: t.TempDir()}).Apply(pf, 3, full())
		require.EqualError(t, err, "sriov: pf ens1f0 vf 3: "+want+": operation not permitted")
		var e *sriov.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, 3, e.VF)
	}

	// A VF the PF does not have: the kernel's EINVAL, per setting.
	rec.Fail("LinkSetVfTrust", nil)
	rec.Fail("LinkSetVfRate", nil)
	err = h.Apply(pf, 9, sriov.VFConfig{Trust: ptr(true)})
	require.EqualError(t, err, "sriov: pf ens1f0 vf 9: set trust on: invalid argument")

	rec.Fail("LinkByName", unix.ENODEV)
	err = h.Apply(pf, 0, sriov.VFConfig{Trust: ptr(true)})
	require.ErrorIs(t, err, unix.ENODEV)
	require.Contains(t, err.Error(), "sriov: pf ens1f0 vf 0: find pf")

	// Invalid configs are refused before the kernel is asked.
	rec.Reset()
	err = h.Apply(pf, 0, sriov.VFConfig{VLAN: &sriov.VLAN{ID: 5000}})
	require.ErrorIs(t, err, sriov.ErrInvalid)
	require.Contains(t, err.Error(), "sriov: pf ens1f0 vf 0: options: vlan=5000")
	require.ErrorIs(t, h.Apply(pf, -1, sriov.VFConfig{Trust: ptr(true)}), sriov.ErrInvalid)
	require.Empty(t, rec.Calls())
}

// TestRestoreAtStartup: the daemon stores the options and, after a
// restart, parses and applies them again: the same calls reach the PF,
// both on a PF that kept its settings and on one that lost them (a reset
// of the NIC or a host reboot).
func TestRestoreAtStartup(t *testing.T) {
	stored := map[string]string{"pf": pf, "vf": "2", "mac": "02:00:00:00:02:02", "vlan": "42", "qos": "1",
		"spoofchk": "on", "trust": "off", "state": "auto", "max_tx_rate": "750"}
	boot := func(h *sriov.Host) {
		pc, err := sriov.ParsePortOptions("pf0vf2", stored)
		require.NoError(t, err)
		require.NoError(t, h.Apply(pc.PF, pc.VF, pc.Config))
	}
	h, rec, _ := fixture(t)
	boot(h)
	first := rec.Sets()
	require.Equal(t, []string{
		"LinkSetVfHardwareAddr ens1f0 vf=2 02:00:00:00:02:02",
		"LinkSetVfVlanQosProto ens1f0 vf=2 42 1 0x8100",
		"LinkSetVfSpoofchk ens1f0 vf=2 true",
		"LinkSetVfTrust ens1f0 vf=2 false",
		"LinkSetVfState ens1f0 vf=2 0",
		"LinkSetVfRate ens1f0 vf=2 0 750",
	}, first)

	rec.Reset()
	boot(h) // restart: settings still there
	require.Equal(t, first, rec.Sets())

	h2, rec2, _ := fixture(t) // reboot: fresh driver state
	boot(h2)
	require.Equal(t, first, rec2.Sets())
	got, _ := rec2.VF(pf, 2)
	require.Equal(t, 42, got.Vlan)
	require.Equal(t, uint32(750), got.MaxTxRate)
}

// TestNewPortFailures covers what NewPort checks before it attaches, and
// that it puts the VF's settings back when the attach fails.
func TestNewPortFailures(t *testing.T) {
	h, rec, _ := fixture(t)
	_, err := h.NewPort(sriov.PortConfig{Name: "p", PF: pf, VF: 1})
	require.ErrorIs(t, err, sriov.ErrNoNetdev)
	require.Contains(t, err.Error(), "0000:03:02.1")
	_, err = h.NewPort(sriov.PortConfig{Name: "p", PF: pf, VF: 7})
	require.ErrorIs(t, err, sriov.ErrNoVF)
	_, err = h.NewPort(sriov.PortConfig{PF: pf, VF: 0})
	require.ErrorIs(t, err, sriov.ErrInvalid)
	require.Empty(t, rec.Sets())

	// ens1f0v0 does not exist on this machine: the attach fails, and the
	// trust and VLAN set for the port are put back as they were.
	_, err = h.NewPort(sriov.PortConfig{Name: "p", PF: pf, VF: 0, Config: sriov.VFConfig{Trust: ptr(true), VLAN: &sriov.VLAN{ID: 9}}})
	require.Error(t, err)
	require.Contains(t, err.Error(), "sriov: pf ens1f0 vf 0: attach ens1f0v0")
	require.Equal(t, []string{
		"LinkSetVfVlanQosProto ens1f0 vf=0 9 0 0x8100",
		"LinkSetVfTrust ens1f0 vf=0 true",
		"LinkSetVfVlanQosProto ens1f0 vf=0 100 3 0x8100",
		"LinkSetVfTrust ens1f0 vf=0 false",
	}, rec.Sets())
}

func TestMoveToNetnsChecks(t *testing.T) {
	h, rec, _ := fixture(t)
	_, err := h.MoveToNetns(pf, 0, sriov.MoveOptions{})
	require.ErrorIs(t, err, sriov.ErrInvalid)
	_, err = h.MoveToNetns(pf, 1, sriov.MoveOptions{Netns: "/nonexistent"})
	require.ErrorIs(t, err, sriov.ErrNoNetdev)
	require.Empty(t, rec.Sets())
}

package sriov_test

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports/sriov"
)

func ptr[T any](v T) *T { return &v }

func TestParseOptions(t *testing.T) {
	good := []struct {
		name string
		in   map[string]string
		want sriov.VFConfig
	}{
		{"none", map[string]string{"pf": "ens1f0", "vf": "3", "queues": "2"}, sriov.VFConfig{}},
		{"empty values are absent", map[string]string{"mac": "", "vlan": "", "trust": ""}, sriov.VFConfig{}},
		{"mac", map[string]string{"mac": "02:00:00:00:00:05"}, sriov.VFConfig{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 5}}},
		{"vlan", map[string]string{"vlan": "100"}, sriov.VFConfig{VLAN: &sriov.VLAN{ID: 100}}},
		{"vlan qos proto", map[string]string{"vlan": "4095", "qos": "7", "proto": "802.1AD"},
			sriov.VFConfig{VLAN: &sriov.VLAN{ID: 4095, QoS: 7, Proto: sriov.Proto8021AD}}},
		{"clear vlan", map[string]string{"vlan": "0"}, sriov.VFConfig{VLAN: &sriov.VLAN{}}},
		{"proto 802.1q", map[string]string{"vlan": "5", "proto": "802.1q"}, sriov.VFConfig{VLAN: &sriov.VLAN{ID: 5, Proto: sriov.Proto8021Q}}},
		{"switches", map[string]string{"spoofchk": "off", "trust": "on"}, sriov.VFConfig{SpoofCheck: ptr(false), Trust: ptr(true)}},
		{"state", map[string]string{"state": "disable"}, sriov.VFConfig{LinkState: sriov.StateDisable}},
		{"rates", map[string]string{"min_tx_rate": "100", "max_tx_rate": "1000"}, sriov.VFConfig{MinTxRate: ptr(100), MaxTxRate: ptr(1000)}},
		{"max only", map[string]string{"max_tx_rate": "0"}, sriov.VFConfig{MaxTxRate: ptr(0)}},
		{"min above unlimited max", map[string]string{"min_tx_rate": "100", "max_tx_rate": "0"}, sriov.VFConfig{MinTxRate: ptr(100), MaxTxRate: ptr(0)}},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sriov.ParseOptions(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	bad := []struct {
		name string
		in   map[string]string
		want string // the option named in the error
	}{
		{"mac junk", map[string]string{"mac": "zz"}, "mac=zz"},
		{"mac multicast", map[string]string{"mac": "01:00:5e:00:00:01"}, "mac=01:00:5e:00:00:01"},
		{"mac long", map[string]string{"mac": "00:00:00:00:fe:80:00:00"}, "mac=00:00:00:00:fe:80:00:00"},
		{"vlan range", map[string]string{"vlan": "4096"}, "vlan=4096"},
		{"vlan negative", map[string]string{"vlan": "-1"}, "vlan=-1"},
		{"vlan junk", map[string]string{"vlan": "ten"}, "vlan=ten"},
		{"qos range", map[string]string{"vlan": "1", "qos": "8"}, "qos=8"},
		{"qos without vlan", map[string]string{"qos": "3"}, "qos=3: needs vlan="},
		{"proto without vlan", map[string]string{"proto": "802.1ad"}, "proto=802.1ad: needs vlan="},
		{"proto junk", map[string]string{"vlan": "1", "proto": "qinq"}, "proto=qinq"},
		{"spoofchk", map[string]string{"spoofchk": "maybe"}, "spoofchk=maybe"},
		{"trust", map[string]string{"trust": "2"}, "trust=2"},
		{"state", map[string]string{"state": "up"}, "state=up"},
		{"min rate", map[string]string{"min_tx_rate": "-5"}, "min_tx_rate=-5"},
		{"max rate", map[string]string{"max_tx_rate": "fast"}, "max_tx_rate=fast"},
		{"min above max", map[string]string{"min_tx_rate": "200", "max_tx_rate": "100"}, "min_tx_rate=200 is above max_tx_rate=100"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.name, func(t *testing.T) {
			_, err := sriov.ParseOptions(tc.in)
			require.ErrorIs(t, err, sriov.ErrInvalid)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParsePortOptions(t *testing.T) {
	pc, err := sriov.ParsePortOptions("pf0vf3", map[string]string{"pf": "ens1f0", "vf": "3", "trust": "on", "queues": "2"})
	require.NoError(t, err)
	require.Equal(t, "pf0vf3", pc.Name)
	require.Equal(t, "ens1f0", pc.PF)
	require.Equal(t, 3, pc.VF)
	require.Equal(t, sriov.VFConfig{Trust: ptr(true)}, pc.Config)

	pc, err = sriov.ParsePortOptions("p", map[string]string{"pf": "ens1f0", "vf": "0", "representor": "ens1f0_0"})
	require.NoError(t, err)
	require.Equal(t, "ens1f0_0", pc.Representor)

	for _, tc := range []struct {
		in   map[string]string
		want string
	}{
		{map[string]string{"vf": "1"}, "needs pf="},
		{map[string]string{"pf": "ens1f0"}, "needs vf="},
		{map[string]string{"pf": "ens1f0", "vf": "-1"}, "vf=-1"},
		{map[string]string{"pf": "ens1f0", "vf": "x"}, "vf=x"},
		{map[string]string{"pf": "a/b", "vf": "1"}, "pf=a/b"},
		{map[string]string{"pf": "ens1f0", "vf": "1", "representor": strings.Repeat("r", 16)}, "representor="},
		{map[string]string{"pf": "ens1f0", "vf": "1", "vlan": "9999"}, "vlan=9999"},
	} {
		_, err := sriov.ParsePortOptions("p", tc.in)
		require.ErrorIs(t, err, sriov.ErrInvalid, "%v", tc.in)
		require.Contains(t, err.Error(), tc.want)
	}
}

func TestErrorFormat(t *testing.T) {
	e := &sriov.Error{PF: "ens1f0", VF: 3, Op: "set trust on", Kind: sriov.ErrRefused, Err: errors.New("boom")}
	require.Equal(t, "sriov: pf ens1f0 vf 3: set trust on: boom", e.Error())
	e = &sriov.Error{PF: "ens1f0", VF: -1, Op: "discover", Kind: sriov.ErrNotSRIOV}
	require.Equal(t, "sriov: pf ens1f0: discover: not an SR-IOV physical function", e.Error())
	// No PF, no VF (an option error): no empty part ("sriov:: options").
	e = &sriov.Error{VF: -1, Op: "options", Kind: sriov.ErrInvalid, Err: errors.New("trust=maybe: want on or off")}
	require.Equal(t, "sriov: options: trust=maybe: want on or off", e.Error())
	e = &sriov.Error{VF: 2, Op: "move"}
	require.Equal(t, "sriov: vf 2: move", e.Error())
}

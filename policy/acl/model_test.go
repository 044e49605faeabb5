package acl

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	ok := Rule{Name: "r", Proto: ProtoTCP, Ports: Port(80)}
	with := func(f func(r *Rule)) []Group {
		r := ok
		f(&r)
		return []Group{{Name: "g", Rules: []Rule{r}}, {Name: "h"}}
	}
	for _, tc := range []struct {
		name   string
		groups []Group
		err    error
	}{
		{"valid", with(func(r *Rule) {}), nil},
		{"empty group name", []Group{{Name: ""}}, ErrEmptyName},
		{"duplicate group", []Group{{Name: "g"}, {Name: "g"}}, ErrDuplicateGroup},
		{"empty rule name", with(func(r *Rule) { r.Name = "" }), ErrEmptyName},
		{"duplicate rule", []Group{{Name: "g", Rules: []Rule{ok, ok}}}, ErrDuplicateRule},
		{"same rule name in two groups", []Group{{Name: "g", Rules: []Rule{ok}}, {Name: "h", Rules: []Rule{ok}}}, nil},
		{"host bits", with(func(r *Rule) { r.Remote = pfx("10.0.0.1/24") }), ErrBadCIDR},
		{"bad prefix length", with(func(r *Rule) { r.Remote = netip.PrefixFrom(ip("10.0.0.0"), 33) }), ErrBadCIDR},
		{"mapped prefix", with(func(r *Rule) { r.Remote = pfx("::ffff:10.0.0.0/104") }), ErrBadCIDR},
		{"v6 prefix", with(func(r *Rule) { r.Remote = pfx("2001:db8::/32") }), nil},
		{"reversed ports", with(func(r *Rule) { r.Ports = PortRange{90, 80} }), ErrPortRange},
		{"reversed src ports", with(func(r *Rule) { r.SrcPorts = PortRange{2, 1} }), ErrPortRange},
		{"ports without proto", with(func(r *Rule) { r.Proto = ProtoAny }), ErrPortsNeedProto},
		{"ports with icmp", with(func(r *Rule) { r.Proto = ProtoICMP }), ErrPortsNeedProto},
		{"ports with sctp", with(func(r *Rule) { r.Proto = ProtoSCTP }), nil},
		{"icmp type on tcp", with(func(r *Rule) { r.ICMP = &ICMPMatch{Type: 8} }), ErrICMPNeedsProto},
		{"icmp type", with(func(r *Rule) { r.Proto, r.Ports, r.ICMP = ProtoICMP, PortRange{}, &ICMPMatch{Type: 8} }), nil},
		{"both remotes", with(func(r *Rule) { r.Remote, r.RemoteGroup = pfx("10.0.0.0/8"), "h" }), ErrRemoteConflict},
		{"unknown remote group", with(func(r *Rule) { r.RemoteGroup = "nope" }), ErrUnknownGroup},
		{"remote group", with(func(r *Rule) { r.RemoteGroup = "g" }), nil},
		{"family vs cidr", with(func(r *Rule) { r.Family, r.Remote = 6, pfx("10.0.0.0/8") }), ErrFamily},
		{"bad family", with(func(r *Rule) { r.Family = 5 }), ErrFamily},
		{"icmp with v6 cidr", with(func(r *Rule) { r.Proto, r.Ports, r.Remote = ProtoICMP, PortRange{}, pfx("2001:db8::/32") }), ErrFamily},
		{"icmpv6 with family 4", with(func(r *Rule) { r.Proto, r.Ports, r.Family = ProtoICMPv6, PortRange{}, 4 }), ErrFamily},
		{"bad direction", with(func(r *Rule) { r.Direction = 2 }), ErrBadDirection},
		{"bad action", with(func(r *Rule) { r.Action = 7 }), ErrBadAction},
		{"bad member", []Group{{Name: "g", Addrs: []netip.Addr{{}}}}, ErrBadAddress},
		{"zoned member", []Group{{Name: "g", Addrs: []netip.Addr{ip("fe80::1%eth0")}}}, ErrBadAddress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Model{Groups: tc.groups}
			err := m.Validate()
			_, cerr := Compile(m)
			if tc.err == nil {
				require.NoError(t, err)
				require.NoError(t, cerr)
				return
			}
			require.ErrorIs(t, err, tc.err)
			require.ErrorIs(t, cerr, tc.err)
			var re *RuleError
			require.True(t, errors.As(err, &re))
			require.Equal(t, tc.groups[0].Name, re.Group)
			t.Log(err)
		})
	}
}

func TestCompileEmpty(t *testing.T) {
	c, err := Compile(&Model{})
	require.NoError(t, err)
	k := tcp("1.1.1.1", "2.2.2.2", 1, 2)
	v, idx := c.Lookup(Ingress, 0, &k)
	require.Equal(t, VerdictUnfiltered, v)
	require.Equal(t, NoRule, idx)
	require.Zero(t, c.Rules())
}

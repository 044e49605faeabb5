package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/policy/acl"
)

// TestSGICMPType: a rule naming an ICMP type (and code) lets only those
// messages start flows; replies of allowed queries still pass.
func TestSGICMPType(t *testing.T) {
	g := SecurityGroup{Name: "web", Ports: []string{"web"}, Rules: []SGRule{
		{Name: "echo", Direction: "ingress", Proto: "icmp", ICMP: "8", Action: "allow"},
		{Name: "out", Direction: "egress", Action: "allow"},
	}}
	r := newSGRig(t, Options{}, g)
	require.True(t, r.pass("cli", "web", echoFrame(macWeb, macCli, ipCli, ipWeb, 8, 7)), "echo request allowed")
	require.True(t, r.pass("web", "cli", echoFrame(macCli, macWeb, ipWeb, ipCli, 0, 7)), "its reply")
	require.False(t, r.pass("cli", "web", echoFrame(macWeb, macCli, ipCli, ipWeb, 13, 8)), "timestamp request: no rule")
	require.EqualValues(t, 1, ruleCount(t, r.s, "web", "echo"))

	// A type and code: 13/1 matches nothing a timestamp request carries
	// (code 0), 13/0 does.
	g.Rules[0] = SGRule{Name: "ts", Direction: "ingress", Proto: "icmp", ICMP: "13/1", Action: "allow"}
	cfg := sgBridge()
	cfg.SecurityGroups = []SecurityGroup{g}
	r.reconf(cfg)
	require.False(t, r.pass("cli", "web", echoFrame(macWeb, macCli, ipCli, ipWeb, 13, 9)))
	g.Rules[0].ICMP = "13/0"
	cfg.SecurityGroups = []SecurityGroup{g}
	r.reconf(cfg)
	require.True(t, r.pass("cli", "web", echoFrame(macWeb, macCli, ipCli, ipWeb, 13, 10)))

	for icmp, want := range map[string]error{"256": ErrBadICMP, "8/x": ErrBadICMP, "": nil, "-1": ErrBadICMP, "3/4/5": ErrBadICMP} {
		bad := g
		bad.Rules = []SGRule{{Name: "x", Direction: "ingress", Proto: "icmp", ICMP: icmp, Action: "allow"}}
		cfg.SecurityGroups = []SecurityGroup{bad}
		err := r.s.Reconfigure(cfg)
		if want == nil {
			require.NoError(t, err)
			continue
		}
		require.ErrorIs(t, err, want, "icmp %q", icmp)
		require.ErrorIs(t, err, ErrInvalidConfig)
	}
	bad := g
	bad.Rules = []SGRule{{Name: "x", Direction: "ingress", Proto: "tcp", ICMP: "8", Action: "allow"}}
	cfg.SecurityGroups = []SecurityGroup{bad}
	require.ErrorIs(t, r.s.Reconfigure(cfg), acl.ErrICMPNeedsProto)
}

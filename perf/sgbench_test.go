package perf

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/vswitch"
)

func TestSGBenchConfig(t *testing.T) {
	var c SGBenchConfig
	require.NoError(t, c.normalize(2))
	require.Equal(t, DefaultSGPaths, c.Paths)
	require.Equal(t, 1000, c.Rules)
	require.Equal(t, 100, c.Groups)
	require.Equal(t, 5*time.Second, c.ConnWindow)
	require.Equal(t, []int{1}, c.Streams)
	for _, bad := range []SGBenchConfig{
		{Paths: []string{PathBridgeVXLAN}},
		{Rules: 1},
		{Rules: 10, Groups: 11},
		{Conns: 300},
		{ConnWindow: time.Millisecond},
		{Streams: []int{0}},
		{Duration: time.Millisecond},
		{CPUGen: 2},
	} {
		require.Error(t, bad.normalize(2), "%+v", bad)
	}
	require.Equal(t, PathBridgeNft, SGPeer(PathTapSG))
	require.Equal(t, PathBridgeNft, SGPeer(PathAFPacketSG))
	require.Equal(t, PathBridge, SGPeer(PathTap))
}

// TestSGBenchGroups: 1,000 rules in 100 groups of 10, both ports in every
// group, valid for the switch, the test's ports allowed only by the last
// two; and the nftables translation has one rule per rule, egress rules
// jumping to the ingress chain.
func TestSGBenchGroups(t *testing.T) {
	gs := SGBenchGroups(1000, 100, []string{"a", "b"})
	require.Len(t, gs, 100)
	n := 0
	for _, g := range gs {
		require.Len(t, g.Rules, 10)
		require.Equal(t, []string{"a", "b"}, g.Ports)
		n += len(g.Rules)
	}
	require.Equal(t, 1000, n)
	cfg := vswitch.Config{Bridges: []vswitch.Bridge{{Name: "br0", Ports: []vswitch.Port{{Name: "a"}, {Name: "b"}}}}, SecurityGroups: gs}
	require.NoError(t, cfg.Validate())
	last := gs[99].Rules[8:]
	require.Equal(t, SGAllowPorts, last[0].Ports)
	require.Equal(t, SGAllowPorts, last[1].Ports)
	for _, g := range gs {
		for _, r := range g.Rules[:len(g.Rules)-2] {
			pr, err := vswitch.ParseSGPorts(r.Ports)
			require.NoError(t, err)
			require.Less(t, pr.Hi, uint16(5000), "%s/%s", g.Name, r.Name)
		}
	}
	require.Len(t, SGBenchGroups(1000, 3, nil), 3)
	require.Len(t, SGBenchGroups(1000, 3, nil)[0].Rules, 334)

	for _, fam := range []string{"inet", "bridge"} {
		rs, err := NftRuleset(fam, "vsbsgtest", gs)
		require.NoError(t, err)
		require.Equal(t, 500, strings.Count(rs, "goto sg-ingress\n"))
		_, in, ok := strings.Cut(rs, "chain sg-ingress {")
		require.True(t, ok)
		require.Equal(t, 500, strings.Count(in, "accept\n"), fam)
		require.Equal(t, 500+3, strings.Count(in, "\n"), fam) // the header's, two "}"
		require.Contains(t, rs, "\t\tip daddr 198.18.0.0/24 tcp dport 5201-5210 goto sg-ingress\n\t}\n")
		require.Contains(t, rs, "\t\tip saddr 198.18.0.0/24 tcp dport 5201-5210 accept\n\t}\n")
		require.Equal(t, fam == "bridge", strings.Contains(rs, "meta protocol != { ip, ip6 } accept"))
	}
	_, err := NftRuleset("inet", "x", []vswitch.SecurityGroup{{Name: "g", Rules: []vswitch.SGRule{{Name: "r", Direction: "ingress", Action: "deny"}}}})
	require.ErrorIs(t, err, ErrNftUnsupported)
	_, err = NftRuleset("ip", "x", nil)
	require.Error(t, err)
}

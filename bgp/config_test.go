package bgp

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBadConfig: every bad global or peer setting is refused with the
// matching sentinel inside a *ConfigError, and refusals change nothing.
func TestBadConfig(t *testing.T) {
	rid := netip.MustParseAddr("192.0.2.1")
	for _, c := range []struct {
		cfg  Config
		want error
	}{
		{Config{AS: 0, RouterID: rid}, ErrBadAS},
		{Config{AS: 23456, RouterID: rid}, ErrBadAS},
		{Config{AS: 65000}, ErrBadRouterID},
		{Config{AS: 65000, RouterID: netip.MustParseAddr("2001:db8::1")}, ErrBadRouterID},
		{Config{AS: 65000, RouterID: netip.IPv4Unspecified()}, ErrBadRouterID},
		{Config{AS: 65000, RouterID: rid, ListenPort: -1}, ErrBadPort},
		{Config{AS: 65000, RouterID: rid, ListenPort: 70000}, ErrBadPort},
		{Config{AS: 65000, RouterID: rid, ListenPort: 179, ListenAddrs: []netip.Addr{{}}}, ErrBadAddress},
		{Config{AS: 65000, RouterID: rid, GracefulRestart: GracefulRestart{Enabled: true, RestartTime: time.Hour * 2}}, ErrBadRestartTime},
		{Config{AS: 65000, RouterID: rid, GracefulRestart: GracefulRestart{Enabled: true, RestartTime: 1500 * time.Millisecond}}, ErrBadRestartTime},
	} {
		s, err := Start(c.cfg)
		require.ErrorIs(t, err, c.want, "%+v", c.cfg)
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "%T", err)
		require.Nil(t, s)
	}

	// An address the host does not have: the listener fails, Start says so.
	s, err := Start(Config{AS: 65000, RouterID: rid, ListenPort: 1179, ListenAddrs: []netip.Addr{netip.MustParseAddr("192.0.2.77")}})
	require.Error(t, err)
	require.Nil(t, s)

	s, err = Start(Config{AS: 65000, RouterID: rid}) // not listening
	require.NoError(t, err)
	defer s.Stop()
	good := Peer{Addr: netip.MustParseAddr("192.0.2.2"), AS: 65001, HoldTime: 3 * time.Second, MaxPrefixes: 100}
	require.NoError(t, s.AddPeer(good))
	before, err := s.Peers()
	require.NoError(t, err)
	require.Len(t, before, 1)
	require.Equal(t, good, before[0].Peer)
	require.NotEqual(t, StateEstablished, before[0].State)

	peer := func(f func(*Peer)) Peer { p := good; p.Addr = netip.MustParseAddr("192.0.2.3"); f(&p); return p }
	for _, c := range []struct {
		p    Peer
		want error
	}{
		{peer(func(p *Peer) { p.Addr = netip.Addr{} }), ErrBadAddress},
		{peer(func(p *Peer) { p.Addr = netip.IPv4Unspecified() }), ErrBadAddress},
		{peer(func(p *Peer) { p.Addr = netip.MustParseAddr("224.0.0.5") }), ErrBadAddress},
		{peer(func(p *Peer) { p.Addr = netip.MustParseAddr("255.255.255.255") }), ErrBadAddress},
		{peer(func(p *Peer) { p.Addr = netip.MustParseAddr("fe80::1%eth0") }), ErrBadAddress},
		{peer(func(p *Peer) { p.Addr = netip.MustParseAddr("::ffff:192.0.2.9") }), ErrBadAddress},
		{peer(func(p *Peer) { p.AS = 0 }), ErrBadAS},
		{peer(func(p *Peer) { p.MaxPrefixes = -1 }), ErrBadMaxPrefixes},
		{peer(func(p *Peer) { p.HoldTime = time.Second }), ErrBadHoldTime},
		{peer(func(p *Peer) { p.HoldTime = 3500 * time.Millisecond }), ErrBadHoldTime},
		{peer(func(p *Peer) { p.HoldTime = -time.Second }), ErrBadHoldTime},
		{peer(func(p *Peer) { p.Password = string(make([]byte, 81)) }), ErrBadPassword},
		{peer(func(p *Peer) { p.VRF = "a b" }), ErrBadVRF},
		{peer(func(p *Peer) { p.VRF = string(make([]byte, 65)) }), ErrBadVRF},
		{peer(func(p *Peer) { p.Passive = true }), ErrBadPort}, // passive without a listener
		{good, ErrDuplicatePeer},
	} {
		err := s.AddPeer(c.p)
		require.ErrorIs(t, err, c.want, "%+v", c.p)
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "%T", err)
	}
	require.ErrorIs(t, s.DeletePeer(netip.MustParseAddr("192.0.2.3")), ErrUnknownPeer)
	require.ErrorIs(t, s.ResetPeer(netip.MustParseAddr("192.0.2.3")), ErrUnknownPeer)
	after, err := s.Peers()
	require.NoError(t, err)
	require.Len(t, after, 1)
	require.Equal(t, before[0].Peer, after[0].Peer)

	v4, v6 := netip.MustParsePrefix("10.1.0.0/26"), netip.MustParsePrefix("fd00:1::/64")
	require.ErrorIs(t, s.Announce(netip.Prefix{}, netip.Addr{}, ""), ErrBadPrefix)
	require.ErrorIs(t, s.Announce(netip.MustParsePrefix("::ffff:10.0.0.0/120"), netip.Addr{}, ""), ErrBadPrefix)
	require.ErrorIs(t, s.Announce(v4, netip.MustParseAddr("fd00::1"), ""), ErrBadNextHop)
	require.ErrorIs(t, s.Announce(v6, netip.MustParseAddr("10.0.0.1"), ""), ErrBadNextHop)
	require.ErrorIs(t, s.Announce(v4, netip.MustParseAddr("224.0.0.1"), ""), ErrBadNextHop)
	require.ErrorIs(t, s.Announce(v4, netip.Addr{}, "bad vrf"), ErrBadVRF)
	require.ErrorIs(t, s.Withdraw(v4, ""), ErrNotAnnounced)
	require.NoError(t, s.Announce(netip.MustParsePrefix("10.1.0.7/26"), netip.Addr{}, "")) // masked
	require.NoError(t, s.Announce(v6, netip.MustParseAddr("fd00::1"), "blue"))
	require.ErrorIs(t, s.Withdraw(v6, ""), ErrNotAnnounced) // wrong VRF
	require.NoError(t, s.Withdraw(v4, ""))
	require.NoError(t, s.Withdraw(v6, "blue"))
	require.ErrorIs(t, s.Withdraw(v4, ""), ErrNotAnnounced)

	require.NoError(t, s.DeletePeer(good.Addr))
	s.Stop()
	s.Stop()
	require.ErrorIs(t, s.AddPeer(good), ErrStopped)
	require.ErrorIs(t, s.Announce(v4, netip.Addr{}, ""), ErrStopped)
	_, err = s.Peers()
	require.ErrorIs(t, err, ErrStopped)
}

package daemon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/vswitch"
)

// scriptPeer is a BGP peer scripted byte by byte: it listens on port 179
// of one address in a test namespace, the daemon's speaker dials it, and
// it answers OPEN and KEEPALIVE, then sends whatever UPDATE the test
// writes, well-formed or not.
type scriptPeer struct {
	t    *testing.T
	addr netip.Addr
	ln   *net.TCPListener
	c    net.Conn // the current session
}

const scriptAS = 65100

func listenScriptPeer(t *testing.T, ns *nettest.NS, addr netip.Addr) *scriptPeer {
	t.Helper()
	p := &scriptPeer{t: t, addr: addr}
	err := netdev.Do(ns.Path(), func() error {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, 179).String())
		if err == nil {
			p.ln = ln.(*net.TCPListener)
		}
		return err
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		p.ln.Close()
		if p.c != nil {
			p.c.Close()
		}
	})
	return p
}

// accept takes the speaker's next connection and brings the session up:
// the speaker's OPEN, ours (hold time 0: no keepalives needed either
// way), KEEPALIVEs both ways.
func (p *scriptPeer) accept(timeout time.Duration) {
	t := p.t
	t.Helper()
	require.NoError(t, p.ln.SetDeadline(time.Now().Add(timeout)))
	c, err := p.ln.Accept()
	require.NoError(t, err, "peer %s: no connection from the speaker", p.addr)
	if p.c != nil {
		p.c.Close()
	}
	p.c = c
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	m, err := p.read()
	require.NoError(t, err)
	require.Equal(t, uint8(bgp.BGP_MSG_OPEN), m.Header.Type)
	caps := bgp.NewOptionParameterCapability([]bgp.ParameterCapabilityInterface{
		bgp.NewCapMultiProtocol(bgp.RF_IPv4_UC), bgp.NewCapMultiProtocol(bgp.RF_IPv6_UC),
		bgp.NewCapFourOctetASNumber(scriptAS),
	})
	open, err := bgp.NewBGPOpenMessage(scriptAS, 0, p.addr, []bgp.OptionParameterInterface{caps})
	require.NoError(t, err)
	for _, m := range []*bgp.BGPMessage{open, bgp.NewBGPKeepAliveMessage()} {
		b, err := m.Serialize()
		require.NoError(t, err)
		p.send(b)
	}
	m, err = p.read()
	require.NoError(t, err)
	require.Equal(t, uint8(bgp.BGP_MSG_KEEPALIVE), m.Header.Type, "peer %s: %+v", p.addr, m.Body)
	require.NoError(t, c.SetDeadline(time.Time{}))
}

func (p *scriptPeer) send(b []byte) {
	p.t.Helper()
	_, err := p.c.Write(b)
	require.NoError(p.t, err)
}

// read returns the next message; bytes the parser refuses come back as
// an error.
func (p *scriptPeer) read() (*bgp.BGPMessage, error) {
	hdr := make([]byte, bgp.BGP_HEADER_LENGTH)
	if _, err := io.ReadFull(p.c, hdr); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[16:18]))
	if n < bgp.BGP_HEADER_LENGTH {
		return nil, fmt.Errorf("message length %d", n)
	}
	msg := make([]byte, n)
	copy(msg, hdr)
	if _, err := io.ReadFull(p.c, msg[bgp.BGP_HEADER_LENGTH:]); err != nil {
		return nil, err
	}
	return bgp.ParseBGPMessage(msg)
}

// notification waits for the speaker's NOTIFICATION, skipping
// KEEPALIVEs, and then for it to close the connection.
func (p *scriptPeer) notification() *bgp.BGPNotification {
	t := p.t
	t.Helper()
	require.NoError(t, p.c.SetDeadline(time.Now().Add(10*time.Second)))
	for {
		m, err := p.read()
		require.NoError(t, err, "peer %s: no NOTIFICATION", p.addr)
		if n, ok := m.Body.(*bgp.BGPNotification); ok {
			_, err := p.c.Read(make([]byte, 1))
			require.ErrorIs(t, err, io.EOF, "peer %s: connection open after the NOTIFICATION", p.addr)
			return n
		}
		require.Equal(t, uint8(bgp.BGP_MSG_KEEPALIVE), m.Header.Type, "peer %s", p.addr)
	}
}

// open reports whether the session's connection is still open: nothing
// but KEEPALIVEs arrive within a short wait.
func (p *scriptPeer) open() bool {
	for {
		p.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		m, err := p.read()
		if isTimeout(err) {
			p.c.SetReadDeadline(time.Time{})
			return true
		}
		if err != nil || m.Header.Type != bgp.BGP_MSG_KEEPALIVE {
			p.t.Logf("peer %s: %v %+v", p.addr, err, m)
			return false
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// UPDATE messages built by hand, so that they can lie.

func bgpAttr(flags, typ byte, v ...byte) []byte {
	return append([]byte{flags, typ, byte(len(v))}, v...)
}

func attrOrigin(o byte) []byte { return bgpAttr(0x40, 1, o) }

func attrASPath() []byte { return bgpAttr(0x40, 2, 2, 1, 0, 0, scriptAS>>8, scriptAS&0xff) } // AS_SEQUENCE of 4-byte ASes

func attrNextHop(a netip.Addr) []byte { return bgpAttr(0x40, 3, a.AsSlice()...) }

// attrMPReach is MP_REACH_NLRI for IPv6 unicast.
func attrMPReach(nh netip.Addr, pfx netip.Prefix) []byte {
	v := append([]byte{0, 2, 1, 16}, nh.AsSlice()...)
	v = append(v, 0)
	return bgpAttr(0x80, 14, append(v, nlri(pfx)...)...)
}

func nlri(p netip.Prefix) []byte {
	return append([]byte{byte(p.Bits())}, p.Addr().AsSlice()[:(p.Bits()+7)/8]...)
}

func update(withdrawn, attrs, reach []byte) []byte {
	b := make([]byte, 16, 64)
	for i := range b {
		b[i] = 0xff
	}
	b = binary.BigEndian.AppendUint16(b, 0) // length, set below
	b = append(b, bgp.BGP_MSG_UPDATE)
	b = binary.BigEndian.AppendUint16(b, uint16(len(withdrawn)))
	b = append(b, withdrawn...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(attrs)))
	b = append(b, attrs...)
	b = append(b, reach...)
	binary.BigEndian.PutUint16(b[16:], uint16(len(b)))
	return b
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// goodUpdate announces pfx via nh with the mandatory attributes.
func goodUpdate(pfx netip.Prefix, nh netip.Addr) []byte {
	return update(nil, cat(attrOrigin(0), attrASPath(), attrNextHop(nh)), nlri(pfx))
}

// TestBGPMalformedUpdates: scripted peers, each in an established
// session with a running daemon, send malformed or dubious UPDATEs. What
// GoBGP does (v4, whose neighbors default to RFC 7606 error handling),
// asserted here:
//   - bad ORIGIN, missing NEXT_HOP, NEXT_HOP 0.0.0.0: "treat as withdraw":
//     the prefixes the UPDATE carries leave the FIB (also one the peer
//     announced before), the session and the peer's other routes stay;
//   - a NEXT_HOP attribute length that overruns the attributes: also
//     "treated as withdraw" (GoBGP logs so), but it withdraws nothing: a
//     prefix the peer announced before keeps its old route;
//   - a truncated NLRI, or a path attribute length that overruns the
//     message: the session is reset with a NOTIFICATION (UPDATE Message
//     Error: 3/10 invalid network field, 3/1 malformed attribute list), so
//     all the peer's routes leave the FIB; the speaker dials again after
//     its 5 s idle hold and the peer's well-formed routes install;
//   - well-formed UPDATEs whose next hop the switch cannot use (IPv4
//     link-local, IPv6 link-local or ::) are accepted by GoBGP and never
//     installed; a default route with a usable next hop is a route like
//     any other (the daemon has no import filter).
//
// Throughout, the daemon answers its control socket, and a peer in a VRF
// has its route in that VRF's FIB only.
func TestBGPMalformedUpdates(t *testing.T) {
	nettest.NeedRoot(t)
	ns, host, _ := peerNS(t, 177, "vbm")
	n := host.As4()[2] // the random third byte, for the other addresses
	nh := ns.Netlink(t)
	eth0, err := nh.LinkByName("eth0")
	require.NoError(t, err)

	m := startMem(t, t.TempDir())
	blueNet := netip.AddrFrom4([4]byte{10, 176, n, 1})
	for _, c := range [][]string{
		{"add-br", "up"}, {"rif/add", "ru", "bridge=up", "addr=" + host.String() + "/24"},
		{"vrf/add", "blue"}, {"rif/add", "rb", "bridge=up", "vlan=7", "vrf=blue", "addr=" + blueNet.String() + "/24"},
		{"bgp/set", "as=65000", "router-id=" + host.String(), "listen-port=0"},
	} {
		m.ok(t, nil, c[0], c[1:]...)
	}

	pfx := func(a, b byte) netip.Prefix { return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, a, b, 0}), 24) }
	// Peer i first announces 10.244.i.0/24 (kept unless its session is
	// reset) and 10.246.i.0/24; its bad UPDATE carries 10.245.i.0/24 and
	// 10.246.i.0/24.
	type badCase struct {
		name string
		bad  func(self netip.Addr, nlri []byte) []byte
		// reset: the session is reset with NOTIFICATION 3/subcode;
		// otherwise the UPDATE is treated as withdraw, and withdraws its
		// NLRI unless ignored (GoBGP does not find them).
		reset, ignored bool
		subcode        uint8
	}
	cases := []badCase{
		{name: "bad ORIGIN (5)", bad: func(self netip.Addr, r []byte) []byte {
			return update(nil, cat(attrOrigin(5), attrASPath(), attrNextHop(self)), r)
		}},
		{name: "no NEXT_HOP", bad: func(self netip.Addr, r []byte) []byte {
			return update(nil, cat(attrOrigin(0), attrASPath()), r)
		}},
		{name: "NEXT_HOP 0.0.0.0", bad: func(self netip.Addr, r []byte) []byte {
			return update(nil, cat(attrOrigin(0), attrASPath(), attrNextHop(netip.IPv4Unspecified())), r)
		}},
		{name: "NEXT_HOP length lies (32, 4 bytes there)", bad: func(self netip.Addr, r []byte) []byte {
			lie := append([]byte{0x40, 3, 32}, self.AsSlice()...)
			return update(nil, cat(attrOrigin(0), attrASPath(), lie), r)
		}, ignored: true},
		{name: "truncated NLRI (/24, 2 bytes)", bad: func(self netip.Addr, r []byte) []byte {
			return update(nil, cat(attrOrigin(0), attrASPath(), attrNextHop(self)), r[:3])
		}, reset: true, subcode: bgp.BGP_ERROR_SUB_INVALID_NETWORK_FIELD},
		{name: "path attribute length lies (beyond the message)", bad: func(self netip.Addr, r []byte) []byte {
			b := update(nil, cat(attrOrigin(0), attrASPath(), attrNextHop(self)), r)
			binary.BigEndian.PutUint16(b[21:], uint16(len(b))) // the attributes' length field
			return b
		}, reset: true, subcode: bgp.BGP_ERROR_SUB_MALFORMED_ATTRIBUTE_LIST},
	}

	// One scripted peer per case, on addresses .3, .4...; then the peer
	// whose dubious UPDATEs are accepted, and the VRF peer.
	var peers []*scriptPeer
	for i := range len(cases) + 2 {
		a := netip.AddrFrom4([4]byte{10, 177, n, byte(3 + i)})
		require.NoError(t, nh.AddrAdd(eth0, &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(24, 32)}}))
		peers = append(peers, listenScriptPeer(t, ns, a))
		args := []string{a.String(), fmt.Sprint("as=", scriptAS), "hold-time=9"}
		if i == len(cases)+1 {
			args = append(args, "vrf=blue")
		}
		m.ok(t, nil, "bgp/neighbor-add", args...)
	}
	for _, p := range peers {
		p.accept(30 * time.Second)
	}
	acc, vrfPeer := peers[len(cases)], peers[len(cases)+1]

	// listRoutes lists the bgp routes of every VRF: VRF/prefix -> next
	// hops.
	listRoutes := func() (map[string][]string, error) {
		var rs []vswitch.RouteEntry
		if err := m.call("route/show", nil, &rs); err != nil {
			return nil, err
		}
		out := map[string][]string{}
		for _, r := range rs {
			if r.Type != "bgp" {
				continue
			}
			k := vrfName(r.VRF) + "/" + r.Prefix
			for _, v := range r.Via {
				out[k] = append(out[k], v.Addr)
			}
		}
		return out, nil
	}
	routes := func() map[string][]string {
		t.Helper()
		out, err := listRoutes()
		require.NoError(t, err, "route/show")
		return out
	}
	// neighbors says what state each session is in, for failure messages.
	neighbors := func() string {
		var v ctl.BGPShowView
		if err := m.call("bgp/show", nil, &v); err != nil {
			return err.Error()
		}
		out := ""
		for _, nb := range v.Neighbors {
			out += fmt.Sprintf("\n  %s: %s, received %d, last down %q", nb.Addr, nb.State, nb.Received, nb.LastDown)
		}
		return out
	}
	// waitRoutes waits until the FIB has want's routes (nil: absent). It
	// polls in the test's goroutine (a require in Eventually's condition
	// goroutine cannot end the test: it stalled the wait to its end), and
	// a failure shows the FIB as last seen, not as it was when the wait
	// began, with the sessions' states.
	waitRoutes := func(what string, want map[string][]string) {
		t.Helper()
		t0 := time.Now()
		for {
			got, err := listRoutes()
			if err == nil && func() bool {
				for k, v := range want {
					if v == nil {
						if _, there := got[k]; there {
							return false
						}
					} else if fmt.Sprint(got[k]) != fmt.Sprint(v) {
						return false
					}
				}
				return true
			}() {
				return
			}
			if time.Since(t0) > 20*time.Second {
				t.Fatalf("%s: not there after %v: want %v, FIB has %v (route/show error: %v); the speaker learned %d routes; sessions:%s",
					what, time.Since(t0), want, got, err, m.d.bgp.learned.len(), neighbors())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	v4 := func(p netip.Prefix) string { return "default/" + p.String() }

	// Good routes first: installed.
	before := map[string][]string{}
	for i, p := range peers[:len(cases)+1] {
		p.send(update(nil, cat(attrOrigin(0), attrASPath(), attrNextHop(p.addr)), cat(nlri(pfx(244, byte(i))), nlri(pfx(246, byte(i))))))
		before[v4(pfx(244, byte(i)))] = []string{p.addr.String()}
		before[v4(pfx(246, byte(i)))] = []string{p.addr.String()}
	}
	blueNH := netip.AddrFrom4([4]byte{10, 176, n, 2})
	vrfPeer.send(update(nil, cat(attrOrigin(0), attrASPath(), attrNextHop(blueNH)), nlri(pfx(248, 0))))
	before["blue/"+pfx(248, 0).String()] = []string{blueNH.String()}
	before[v4(pfx(248, 0))] = nil // a blue route, not in the default VRF
	waitRoutes("good routes", before)

	// The malformed UPDATEs.
	for i, c := range cases {
		peers[i].send(c.bad(peers[i].addr, cat(nlri(pfx(245, byte(i))), nlri(pfx(246, byte(i))))))
	}
	// The dubious ones: learned, not installed. A well-formed route sent
	// after them shows when the speaker has handled them.
	dflt := netip.MustParsePrefix("0.0.0.0/0")
	ll6, zero6 := netip.MustParsePrefix("2001:db8:245::/48"), netip.MustParsePrefix("2001:db8:246::/48")
	acc.send(update(nil, cat(attrOrigin(0), attrASPath(), attrNextHop(netip.MustParseAddr("169.254.0.1"))), nlri(dflt)))
	acc.send(update(nil, cat(attrOrigin(0), attrASPath(), attrMPReach(netip.MustParseAddr("fe80::1"), ll6)), nil))
	acc.send(update(nil, cat(attrOrigin(0), attrASPath(), attrMPReach(netip.IPv6Unspecified(), zero6)), nil))
	acc.send(update(nil, cat(attrOrigin(0), attrASPath(), attrNextHop(acc.addr)), nlri(pfx(247, 99))))

	after := map[string][]string{v4(pfx(247, 99)): {acc.addr.String()}}
	for i, c := range cases {
		p := peers[i]
		after[v4(pfx(245, byte(i)))] = nil // the malformed route: never
		after[v4(pfx(246, byte(i)))] = nil // announced before: withdrawn
		if c.ignored {
			after[v4(pfx(246, byte(i)))] = []string{p.addr.String()} // kept as it was
		}
		if !c.reset {
			after[v4(pfx(244, byte(i)))] = []string{p.addr.String()}
			continue
		}
		note := p.notification()
		t.Logf("%s: NOTIFICATION %d/%d data %x", c.name, note.ErrorCode, note.ErrorSubcode, note.Data)
		require.Equal(t, uint8(bgp.BGP_ERROR_UPDATE_MESSAGE_ERROR), note.ErrorCode, c.name)
		require.Equal(t, c.subcode, note.ErrorSubcode, c.name)
		after[v4(pfx(244, byte(i)))] = nil // gone with the session
	}
	waitRoutes("after the malformed UPDATEs", after)
	for i, c := range cases {
		if !c.reset {
			require.True(t, peers[i].open(), "%s: the session went down", c.name)
		}
	}
	got := routes()
	for _, k := range []string{v4(dflt), "default/" + ll6.String(), "default/" + zero6.String()} {
		require.NotContains(t, got, k, "unusable next hop installed")
	}
	require.True(t, acc.open(), "the session of the dubious UPDATEs went down")
	var v ctl.BGPShowView
	m.ok(t, &v, "bgp/show")
	require.True(t, v.Running, v.Error)
	for _, nb := range v.Neighbors {
		t.Logf("neighbor %s: %s, received %d, last down %q", nb.Addr, nb.State, nb.Received, nb.LastDown)
		if nb.Addr == acc.addr.String() {
			require.Equal(t, "established", nb.State)
			require.Equal(t, 6, nb.Received) // 244, 246, 0/0, two IPv6, 247.99
		}
	}
	// Learned: 244.0-3, 246.3, blue's, and the accepted peer's 244, 246,
	// 0/0, the link-local IPv6 one and 247.99 (a path with next hop ::
	// has no next hop: the speaker drops it). Installed: all but 0/0 and
	// the IPv6 one.
	require.Equal(t, 11, v.Learned)
	require.Equal(t, 9, v.Installed)

	// A default route with a usable next hop is installed like any other,
	// and withdrawn.
	acc.send(update(nil, cat(attrOrigin(0), attrASPath(), attrNextHop(acc.addr)), nlri(dflt)))
	waitRoutes("default route", map[string][]string{v4(dflt): {acc.addr.String()}})
	acc.send(update(nlri(dflt), nil, nil))
	waitRoutes("default route withdrawn", map[string][]string{v4(dflt): nil})

	// The reset peers come back (the speaker dials again) and their
	// well-formed routes install.
	t0 := time.Now()
	want := map[string][]string{}
	for i, c := range cases {
		if !c.reset {
			continue
		}
		p := peers[i]
		p.accept(30 * time.Second)
		p.send(update(nil, cat(attrOrigin(0), attrASPath(), attrNextHop(p.addr)), nlri(pfx(247, byte(i)))))
		want[v4(pfx(247, byte(i)))] = []string{p.addr.String()}
	}
	waitRoutes("after the reconnect", want)
	t.Logf("sessions back and routes installed %v after the resets", time.Since(t0))
	m.ok(t, &v, "bgp/show")
	for _, nb := range v.Neighbors {
		require.Equal(t, "established", nb.State, "%+v", nb)
	}
}

package afxdp

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vecswitch/vecswitch/internal/nettest"
	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vishvananda/netlink"
)

func newPool(t *testing.T) *pipeline.Pool {
	p, err := pipeline.NewPool(pipeline.PoolConfig{Frames: 4096})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// TestPingThroughAFXDP pings from a namespace to an address that only our
// AF_XDP rx/tx path answers: the ping succeeds only if frames come in on the
// socket and our replies go out intact.
func TestPingThroughAFXDP(t *testing.T) {
	nettest.NeedRoot(t)
	for _, mode := range []string{"native", "generic"} {
		t.Run(mode, func(t *testing.T) {
			ns := nettest.NewNS(t)
			host := "vsx" + nettest.Suffix()
			nettest.Veth(t, host, ns, "10.77.0.1/24", 1)
			p, err := New(Config{Ifname: host, Attach: mode, RingSize: 512})
			require.NoError(t, err)
			t.Cleanup(func() { p.Close() })
			require.Equal(t, mode == "native", p.NativeXDP())
			pool := newPool(t)
			rx, err := p.OpenRx(0, pool)
			require.NoError(t, err)
			tx, err := p.OpenTx(0, pool)
			require.NoError(t, err)

			r := nettest.NewResponder(net.IP{10, 77, 0, 2}, net.HardwareAddr{2, 0, 0, 0x77, 0, 2})
			ping := ns.Command("ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.0.2")
			out := make(chan error, 1)
			var pingOut []byte
			go func() { var err error; pingOut, err = ping.CombinedOutput(); out <- err }()
			perr := r.Serve(t, rx, tx, pool, out, 15*time.Second)
			require.NoError(t, perr, "ping failed: %s", pingOut)
			require.GreaterOrEqual(t, r.Seen["arp"], 1)
			require.GreaterOrEqual(t, r.Seen["echo"], 3)

			require.NoError(t, rx.Close())
			require.NoError(t, tx.Close())
			pool.Reclaim()
			require.Equal(t, pool.Size(), pool.Available(), "every buffer came back after close")
			st := p.Stats()
			require.False(t, st.Down)
			require.NoError(t, p.Close())
		})
	}
}

// TestRxTxAllocations checks that AF_XDP rx and tx allocate nothing, with
// traffic flowing (a flood ping from the namespace).
func TestRxTxAllocations(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	host := "vsa" + nettest.Suffix()
	nettest.Veth(t, host, ns, "10.78.0.1/24", 1)
	p, err := New(Config{Ifname: host, RingSize: 512})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	pool := newPool(t)
	rx, err := p.OpenRx(0, pool)
	require.NoError(t, err)
	tx, err := p.OpenTx(0, pool)
	require.NoError(t, err)
	// Neighbour entry for a silent peer, so the namespace sends IP frames
	// (not only ARP) as fast as ping -f goes.
	out, err := ns.Command("ip", "neigh", "replace", "10.78.0.2", "lladdr", "02:00:00:00:00:02", "dev", "eth0").CombinedOutput()
	require.NoError(t, err, "%s", out)
	ping := ns.Command("ping", "-f", "-c", "200000", "-W", "1", "10.78.0.2")
	var pingOut bytes.Buffer
	ping.Stdout, ping.Stderr = &pingOut, &pingOut
	require.NoError(t, ping.Start())
	stopPing := sync.OnceFunc(func() { ping.Process.Kill(); ping.Wait() })
	t.Cleanup(stopPing)
	ids := make([]pipeline.BufID, pipeline.VectorSize)
	// Wait for the flood to start.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		n, _ := rx.Rx(ids)
		for _, id := range ids[:n] {
			echoReply(pool.Packet(id))
		}
		tx.Tx(ids[:n])
		if n > 0 {
			break
		}
	}
	got := 0
	// Rounds until frames arrived during one: on a loaded machine ping
	// may not run at all during a round (each is a few milliseconds of
	// polling), and a round without frames measures nothing.
	for round := 0; round < 50 && got == 0; round++ {
		allocs := testing.AllocsPerRun(100000, func() {
			n, _ := rx.Rx(ids)
			got += n
			for _, id := range ids[:n] {
				echoReply(pool.Packet(id)) // so ping -f goes as fast as we answer
			}
			tx.Tx(ids[:n])
			tx.(interface{ Reclaim() }).Reclaim()
		})
		require.Zero(t, allocs)
	}
	stopPing() // before reading its output
	require.Positive(t, got, "no frame arrived during the measurement; ping said: %s", pingOut.String())
	require.NoError(t, rx.Close())
	require.NoError(t, tx.Close())
	pool.Reclaim()
	require.Equal(t, pool.Size(), pool.Available())
}

// TestDeviceGone deletes the device under the port: the port goes down,
// says so once, and closes cleanly.
func TestDeviceGone(t *testing.T) {
	nettest.NeedRoot(t)
	ns := nettest.NewNS(t)
	host := "vsg" + nettest.Suffix()
	nettest.Veth(t, host, ns, "10.79.0.1/24", 1)
	p, err := New(Config{Ifname: host, RingSize: 256})
	require.NoError(t, err)
	pool := newPool(t)
	rx, err := p.OpenRx(0, pool)
	require.NoError(t, err)
	tx, err := p.OpenTx(0, pool)
	require.NoError(t, err)
	ids := make([]pipeline.BufID, 8)
	rx.Rx(ids[:1]) // prime the fill ring

	l, err := netlink.LinkByName(host)
	require.NoError(t, err)
	require.NoError(t, netlink.LinkDel(l))

	frame := make([]byte, 60)
	for i := 0; i < 100 && !p.Down(); i++ {
		require.Equal(t, 8, pool.AllocN(ids))
		for _, id := range ids {
			pool.SetPacket(id, frame)
		}
		tx.Tx(ids)
		time.Sleep(time.Millisecond)
	}
	require.True(t, p.Down(), "the port did not notice its device is gone")
	_, err = rx.Rx(ids)
	require.ErrorIs(t, err, ErrDown)
	n, err := rx.Rx(ids)
	require.NoError(t, err, "ErrDown is reported once")
	require.Zero(t, n)
	require.NoError(t, rx.Close())
	require.NoError(t, tx.Close())
	require.NoError(t, p.Close())
	pool.Reclaim()
	require.Equal(t, pool.Size(), pool.Available())
}

// echoReply turns an Ethernet/IPv4/ICMP echo request into its reply in
// place, by hand (no allocation): swap MACs and addresses, set the type to
// 0 and patch the ICMP checksum (RFC 1624).
func echoReply(f []byte) {
	if len(f) < 14+20+8 || f[12] != 0x08 || f[13] != 0 || f[23] != 1 {
		return
	}
	ihl := int(f[14]&0xF) * 4
	if len(f) < 14+ihl+8 || f[14+ihl] != 8 {
		return
	}
	for i := range 6 {
		f[i], f[6+i] = f[6+i], f[i]
	}
	for i := range 4 {
		f[26+i], f[30+i] = f[30+i], f[26+i]
	}
	icmp := f[14+ihl:]
	icmp[0] = 0
	sum := uint32(icmp[2])<<8 | uint32(icmp[3])
	sum += 0x0800
	sum = sum&0xFFFF + sum>>16
	icmp[2], icmp[3] = byte(sum>>8), byte(sum)
}

// TestDeviceInfo: the ioctl lookup agrees with the standard library's,
// and a missing device is an error that names it.
func TestDeviceInfo(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	require.NoError(t, err)
	idx, mtu, err := deviceInfo("lo")
	require.NoError(t, err)
	require.Equal(t, lo.Index, idx)
	require.Equal(t, lo.MTU, mtu)
	_, _, err = deviceInfo("vsnodev0")
	require.ErrorContains(t, err, "vsnodev0")
	_, _, err = deviceInfo("a-name-far-too-long-for-linux")
	require.Error(t, err)
}

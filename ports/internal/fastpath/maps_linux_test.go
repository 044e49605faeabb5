package fastpath

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestMaps(t *testing.T, cfg MapsConfig) *Maps {
	t.Helper()
	needKernel(t)
	m, err := NewMaps(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

func mac(i byte) MAC { return MAC{0x02, 0, 0, 0, 0, i} }

// lo is the port of the tests without traffic: the DEVMAP takes only
// existing devices, and index 1 is lo in every namespace. Nothing is
// attached to it or changed on it.
const lo = 1

// TestMapsEntries: the control API without traffic — checks, slots,
// moves, flushes, limits, Close.
func TestMapsEntries(t *testing.T) {
	m := newTestMaps(t, MapsConfig{MaxEntries: 4, MaxPorts: 2})
	_, err := m.SetEntry(1, mac(1), Entry{Ifindex: lo})
	assert.ErrorIs(t, err, ErrUnknownPort)
	require.NoError(t, m.SetPort(lo, PortConfig{Domain: 1}))
	_, err = m.SetEntry(1, MAC{0x01, 0, 0x5e, 0, 0, 1}, Entry{Ifindex: lo})
	assert.ErrorIs(t, err, ErrBadConfig, "multicast MAC")
	_, err = m.SetEntry(1, MAC{}, Entry{Ifindex: lo})
	assert.ErrorIs(t, err, ErrBadConfig, "zero MAC")
	_, err = m.SetEntry(1, mac(1), Entry{Ifindex: lo, VID: 4095})
	assert.ErrorIs(t, err, ErrBadConfig, "VID 4095")
	assert.ErrorIs(t, m.SetPort(lo, PortConfig{VLANs: map[uint16]Domain{0: 1}}), ErrBadConfig)
	assert.ErrorIs(t, m.SetPort(0, PortConfig{}), ErrBadConfig)

	slots := map[Slot]bool{}
	for i := range 4 {
		s, err := m.SetEntry(Domain(i%2), mac(byte(i+1)), Entry{Ifindex: lo})
		require.NoError(t, err)
		slots[s] = true
	}
	assert.Len(t, slots, 4, "distinct slots")
	_, err = m.SetEntry(1, mac(9), Entry{Ifindex: lo})
	assert.ErrorIs(t, err, ErrFull)

	// A move keeps the slot; setting the same entry again changes nothing.
	e, s1, ok := m.Entry(0, mac(1))
	require.True(t, ok)
	assert.Equal(t, Entry{Ifindex: lo}, e)
	s2, err := m.SetEntry(0, mac(1), Entry{Ifindex: lo, VID: 7})
	require.NoError(t, err)
	assert.Equal(t, s1, s2)
	e, _, _ = m.Entry(0, mac(1))
	assert.Equal(t, uint16(7), e.VID)

	// A deleted entry's slot is quarantined until a grace period, which
	// SetEntry waits for when nothing else is free.
	require.NoError(t, m.DelEntry(0, mac(1)))
	require.NoError(t, m.DelEntry(0, mac(1)), "twice")
	gp := m.GracePeriods()
	s3, err := m.SetEntry(1, mac(9), Entry{Ifindex: lo})
	require.NoError(t, err)
	assert.Equal(t, s1, s3, "the only free slot")
	assert.Greater(t, m.GracePeriods(), gp)
	h, err := m.EntryHits(s3)
	require.NoError(t, err)
	assert.Zero(t, h, "counters of a reused slot")

	n, err := m.FlushDomain(1)
	require.NoError(t, err)
	assert.Equal(t, 3, n) // mac(2), mac(4), mac(9)
	assert.Equal(t, 1, m.Len())
	n, err = m.FlushAll()
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Zero(t, m.Len())

	require.NoError(t, m.Close())
	_, err = m.SetEntry(1, mac(1), Entry{Ifindex: lo})
	assert.ErrorIs(t, err, ErrClosed)
	assert.NoError(t, m.Close(), "twice")
}

// TestMapsRecycling: between an operation that frees a hash element and
// one that takes one, the Maps wait for a grace period — and only then.
func TestMapsRecycling(t *testing.T) {
	m := newTestMaps(t, MapsConfig{})
	require.NoError(t, m.SetPort(lo, PortConfig{Domain: 1}))
	gp := m.GracePeriods()
	for i := range 10 {
		_, err := m.SetEntry(1, mac(byte(i+1)), Entry{Ifindex: lo})
		require.NoError(t, err)
	}
	assert.Equal(t, gp, m.GracePeriods(), "inserts alone need no grace period")
	for i := range 5 {
		require.NoError(t, m.DelEntry(1, mac(byte(i+1))))
	}
	assert.Equal(t, gp, m.GracePeriods(), "deletes alone need none")
	_, err := m.SetEntry(1, mac(20), Entry{Ifindex: lo})
	require.NoError(t, err)
	assert.Equal(t, gp+1, m.GracePeriods(), "insert after deletes")
	_, err = m.SetEntry(1, mac(21), Entry{Ifindex: lo})
	require.NoError(t, err)
	assert.Equal(t, gp+1, m.GracePeriods())
	_, err = m.SetEntry(1, mac(21), Entry{Ifindex: lo, VID: 3}) // a move frees the old element
	require.NoError(t, err)
	_, err = m.SetEntry(1, mac(22), Entry{Ifindex: lo})
	require.NoError(t, err)
	assert.Equal(t, gp+2, m.GracePeriods(), "insert after a move")

	start := time.Now()
	require.NoError(t, m.Sync())
	t.Logf("one grace period: %v", time.Since(start))
}

// TestMapsPorts: port configuration, VLAN accounting, DelPort.
func TestMapsPorts(t *testing.T) {
	m := newTestMaps(t, MapsConfig{MaxPorts: 1, MaxVLANs: 2})
	require.NoError(t, m.SetPort(lo, PortConfig{Domain: 3, VLANs: map[uint16]Domain{10: 4, 20: 5}}))
	assert.ErrorIs(t, m.SetPort(2, PortConfig{}), ErrFull, "ports")
	assert.ErrorIs(t, m.SetPort(lo, PortConfig{VLANs: map[uint16]Domain{10: 4, 20: 5, 30: 6}}), ErrFull, "VLANs")
	require.NoError(t, m.SetPort(lo, PortConfig{Domain: 3, VLANs: map[uint16]Domain{10: 4, 30: 6}}))
	cfg, ok := m.Port(lo)
	require.True(t, ok)
	assert.Equal(t, PortConfig{Domain: 3, VLANs: map[uint16]Domain{10: 4, 30: 6}}, cfg)
	c, err := m.PortCounters(lo)
	require.NoError(t, err)
	assert.Zero(t, c)

	_, err = m.SetEntry(4, mac(1), Entry{Ifindex: lo, VID: 10})
	require.NoError(t, err)
	require.NoError(t, m.DelPort(lo))
	require.NoError(t, m.DelPort(lo), "twice")
	assert.Zero(t, m.Len(), "entries of a removed port")
	_, ok = m.Port(lo)
	assert.False(t, ok)
	// Its slot and VLANs are free again.
	require.NoError(t, m.SetPort(lo, PortConfig{VLANs: map[uint16]Domain{1: 1, 2: 2}}))
}

package acl

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLookupAllocations checks that Lookup and Count allocate nothing on
// every path: unfiltered, rule verdicts, default deny, IPv4 and IPv6, one
// and several summary words.
func TestLookupAllocations(t *testing.T) {
	c, err := Compile(testModel())
	require.NoError(t, err)
	keys := []Key{
		tcp("8.8.8.8", "10.0.0.1", 40000, 80),
		tcp("2001:db8:ff:1::1", "2001:db8::1", 1, 22),
		icmp("172.16.5.1", "10.0.0.5", 8, 0),
		udp("1.1.1.1", "10.0.0.1", 53, 5000),
	}
	ctr := c.NewCounters(nil)
	var sum int32
	require.Zero(t, testing.AllocsPerRun(100, func() {
		for i := range keys {
			for port := uint16(0); port < 10; port++ {
				for dir := Ingress; dir <= Egress; dir++ {
					v, idx := c.Lookup(dir, port, &keys[i])
					ctr.Count(idx, 100)
					sum += int32(v) + idx
				}
			}
		}
		ctr.Publish()
	}))

	g := newRandGen(7)
	big, err := Compile(g.modelN(1, 6000))
	require.NoError(t, err)
	require.Zero(t, testing.AllocsPerRun(100, func() {
		for i := range keys {
			_, idx := big.Lookup(Ingress, 0, &keys[i])
			sum += idx
		}
	}))
	require.NotZero(t, sum)
}

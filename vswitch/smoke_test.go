package vswitch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	r := newRig(t, Options{})
	r.attach("a", "b", "c")
	require.NoError(t, r.s.Reconfigure(Config{Bridges: []Bridge{{Name: "br0", Ports: []Port{{Name: "a"}, {Name: "b"}, {Name: "c"}}}}}))
	r.send("a", frame(macN(2), macN(1), -1))
	require.Equal(t, []string{"b", "c"}, r.receivers())
	r.send("b", frame(macN(1), macN(2), -1))
	require.Equal(t, []string{"a"}, r.receivers())
	r.send("a", frame(macN(2), macN(1), -1))
	require.Equal(t, []string{"b"}, r.receivers())
}

package tap_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ports/netdev"
	"github.com/vecswitch/vecswitch/ports/tap"
)

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  tap.Config
	}{
		{"no name", tap.Config{}},
		{"ifname too long", tap.Config{Name: "p", Ifname: "a-very-long-ifname"}},
		{"ifname with slash", tap.Config{Name: "p", Ifname: "a/b"}},
		{"negative queues", tap.Config{Name: "p", Queues: -1}},
		{"too many queues", tap.Config{Name: "p", Queues: tap.MaxQueues + 1}},
		{"batch too big", tap.Config{Name: "p", BatchSize: 257}},
		{"MTU too big", tap.Config{Name: "p", MTU: tap.MaxMTU + 1}},
		{"MTU too small", tap.Config{Name: "p", MTU: 60}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tap.New(tc.cfg)
			require.Error(t, err)
			if tc.cfg.Name != "" {
				require.ErrorIs(t, err, netdev.ErrInvalid)
			}
		})
	}
}

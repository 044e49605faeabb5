package daemon

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// TestBoolOpt: offload= and force= take on/off (what the help says) and
// the true/false, yes/no, 1/0 spellings; anything else is refused with a
// message that names what is taken (it said "want true or false" to a
// user who had read offload=on|off).
func TestBoolOpt(t *testing.T) {
	for _, v := range []string{"on", "true", "yes", "1"} {
		b, err := boolOpt("offload", v)
		require.NoError(t, err, v)
		require.True(t, b, v)
	}
	for _, v := range []string{"", "off", "false", "no", "0"} {
		b, err := boolOpt("offload", v)
		require.NoError(t, err, v)
		require.False(t, b, v)
	}
	_, err := boolOpt("offload", "maybe")
	var ce *ctl.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, ctl.CodeInvalid, ce.Code)
	require.Equal(t, "offload=maybe: want on or off (or true or false)", ce.Message)
}

// TestAddPortHelpNamesEveryOption: the add-port help (vsctl --help) names
// every option the daemon takes for each port type but sriov (whose VF
// settings it sums up); peer=here was missing.
func TestAddPortHelpNamesEveryOption(t *testing.T) {
	spec, ok := ctl.SpecOf("add-port")
	require.True(t, ok)
	for _, typ := range []string{TypeAFXDP, TypeVeth, TypeTap, TypeVhost} {
		for _, o := range append(append(typeOptions[typ], switchOptions...), commonOptions...) {
			require.True(t, strings.Contains(spec.Help, o+"="), "%s option %s= is not in the add-port help", typ, o)
		}
	}
	require.Contains(t, spec.Help, "peer=here")
}

package vswitch

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVLANSetText(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      bool
	}{
		{in: "", want: ""},
		{in: "10", want: "10"},
		{in: "1-4094", want: "1-4094"},
		{in: "30-40, 20,1-10,5", want: "1-10,20,30-40"},
		{in: "3,2,1,1", want: "1-3"},
		{in: "1-3,4-6", want: "1-6"},
		{in: "0", err: true},
		{in: "4095", err: true},
		{in: "5-3", err: true},
		{in: "x", err: true},
		{in: "1-", err: true},
		{in: "-1", err: true},
	} {
		got, err := ParseVLANSet(tc.in)
		if tc.err {
			require.Error(t, err, "%q", tc.in)
			continue
		}
		require.NoError(t, err, "%q", tc.in)
		require.Equal(t, tc.want, got.String(), "%q", tc.in)
	}
	all, err := ParseVLANSet("1-4094")
	require.NoError(t, err)
	require.Len(t, all, MaxVLAN)
	require.True(t, all.Contains(4094))
	require.False(t, all.Contains(0))
	require.Equal(t, "1-3,7", VLANSet{7, 3, 1, 2, 2}.String(), "unsorted sets print sorted")
}

// TestVLANSetJSON: a port's trunks are stored as ranges, and old
// configurations (an array of numbers) still load.
func TestVLANSetJSON(t *testing.T) {
	all, err := ParseVLANSet("1-4094")
	require.NoError(t, err)
	b, err := json.Marshal(Port{Name: "t", Mode: Trunk, Trunks: all})
	require.NoError(t, err)
	require.Equal(t, `{"name":"t","mode":"trunk","trunks":"1-4094"}`, string(b))
	b, err = json.Marshal(Port{Name: "a"})
	require.NoError(t, err)
	require.Equal(t, `{"name":"a"}`, string(b))

	var p Port
	require.NoError(t, json.Unmarshal([]byte(`{"name":"t","mode":"trunk","trunks":[10,20,21,22]}`), &p))
	require.Equal(t, VLANSet{10, 20, 21, 22}, p.Trunks)
	require.NoError(t, json.Unmarshal([]byte(`{"name":"t","mode":"trunk","trunks":"10,20-22"}`), &p))
	require.Equal(t, VLANSet{10, 20, 21, 22}, p.Trunks)
	require.Error(t, json.Unmarshal([]byte(`{"trunks":{}}`), &p))
	require.Error(t, json.Unmarshal([]byte(`{"trunks":"1-x"}`), &p))

	// A whole old configuration still applies.
	var cfg Config
	require.NoError(t, json.Unmarshal([]byte(`{"bridges":[{"name":"br0","ports":[{"name":"t","mode":"trunk","trunks":[30,10,20]}]}]}`), &cfg))
	n, err := cfg.normalizeL2()
	require.NoError(t, err)
	require.Equal(t, "10,20,30", n.Bridges[0].Ports[0].Trunks.String())
}

// FuzzVLANSet: whatever the text, parsing never panics; an accepted set
// is sorted, in range, and survives printing and JSON unchanged.
func FuzzVLANSet(f *testing.F) {
	for _, s := range []string{"", "1", "1-4094", "10,20,30-40", " 5 - 7 ,3", "0", "4095", "9-1", ",,", "1-2-3", "+1", "00012"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVLANSet(s)
		if err != nil {
			return
		}
		require.True(t, slices.IsSorted(v))
		require.Len(t, slices.Compact(slices.Clone(v)), len(v), "duplicates")
		for _, id := range v {
			require.True(t, id >= 1 && id <= MaxVLAN, "%d", id)
		}
		again, err := ParseVLANSet(v.String())
		require.NoError(t, err, "%q", v.String())
		require.Equal(t, v, again)
		require.False(t, strings.Contains(v.String(), " "))
		b, err := json.Marshal(v)
		require.NoError(t, err)
		var back VLANSet
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, v, back)
	})
}

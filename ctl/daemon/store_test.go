package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStore(t *testing.T) {
	dir := t.TempDir()
	st, err := NewStore(filepath.Join(dir, "state"), "config.json")
	require.NoError(t, err)
	var v map[string]int
	found, err := st.Load(&v)
	require.NoError(t, err)
	require.False(t, found)
	require.NoError(t, st.Save(map[string]int{"a": 1}))
	require.NoError(t, st.Save(map[string]int{"a": 2}))
	found, err = st.Load(&v)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, 2, v["a"])
	var names []string
	ents, _ := os.ReadDir(filepath.Join(dir, "state"))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"config.json", "config.json.journal", "config.json.prev"}, names, "no temporary file left")
	b, err := os.ReadFile(st.PrevPath())
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1}`, string(b), "the previous copy is the one before the last save")
	require.NoError(t, os.WriteFile(st.Path(), []byte("{torn"), 0o600))
	_, err = st.Load(&v)
	require.ErrorContains(t, err, "corrupt")
	// A damaged document never replaces the previous good copy.
	require.NoError(t, st.Save(map[string]int{"a": 3}))
	b, err = os.ReadFile(st.PrevPath())
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1}`, string(b))
}

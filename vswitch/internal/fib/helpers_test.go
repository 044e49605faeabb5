package fib

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func newTable4(t testing.TB, l Limits) *Table4 {
	t.Helper()
	tb, err := NewTable4(l)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, tb.Close()) })
	return tb
}

func newTable6(t testing.TB, l Limits) *Table6 {
	t.Helper()
	tb, err := NewTable6(l)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, tb.Close()) })
	return tb
}

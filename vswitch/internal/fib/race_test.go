//go:build race

package fib

// raceEnabled: tests avoid the few prefixes (a /1 writes 8M entries) that
// take minutes with every atomic store instrumented.
const raceEnabled = true

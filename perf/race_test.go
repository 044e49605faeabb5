//go:build race

package perf

// raceEnabled: under the race detector a worker's first passes over fresh
// memory fault its shadow in, slowly enough to lose frames in the warm-up
// of an end-to-end run (both Vecswitch paths, seen in CI and
// reproduced with go test -race); the steady state is still checked.
const raceEnabled = true

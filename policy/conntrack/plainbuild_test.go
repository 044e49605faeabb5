package conntrack

import (
	"os/exec"
	"testing"
)

// TestPlainBuild runs this package's tests again without the race
// detector when the suite runs with it (the README's `go test -race
// ./...`): Commit fills an entry with plain stores in a normal build
// (fill_plain.go) and with atomic ones under -race (fill_race.go), so
// the concurrency tests must run in both builds to test what ships.
func TestPlainBuild(t *testing.T) {
	if !raceEnabled {
		t.Skip("this run is the plain build (no -race): the package's tests run in it already")
	}
	out, err := exec.Command("go", "test", "-count=1", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go test without -race: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

package dockertest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// PluginSpecDir is where dockerd looks for remote plugins' .spec files
// (shared by every dockerd on the machine).
const PluginSpecDir = "/etc/docker/plugins"

// WritePluginSpec writes PluginSpecDir/NAME.spec holding
// "unix://SOCKETPATH", which tells dockerd that the network or IPAM
// driver NAME (as in `docker network create -d NAME --ipam-driver
// NAME`) listens on that socket; dockerd reads it when the name is first
// used. It returns the file's path and removes the file at cleanup,
// and PluginSpecDir too if it made it and it is then empty. The name
// must be unique on the machine (cnitest.UniqueName("vst-")): a name
// already there fails the test rather than take another test's driver.
func WritePluginSpec(t testing.TB, name, socketPath string) string {
	t.Helper()
	path := filepath.Join(PluginSpecDir, name+".spec")
	_, err := os.Stat(PluginSpecDir)
	madeDir := errors.Is(err, os.ErrNotExist)
	var f *os.File
	for try := 0; ; try++ {
		if err := os.MkdirAll(PluginSpecDir, 0o755); err != nil {
			t.Fatalf("dockertest: %v", err)
		}
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		// Another test's cleanup may remove the empty directory between
		// the two calls: make it again.
		if !errors.Is(err, os.ErrNotExist) || try == 3 {
			break
		}
	}
	if err != nil {
		t.Fatalf("dockertest: plugin spec: %v", err)
	}
	t.Cleanup(func() {
		if err := os.Remove(path); err != nil {
			t.Errorf("dockertest: %v", err)
		}
		if madeDir {
			os.Remove(PluginSpecDir) // fails while other specs are there
		}
	})
	_, err = f.WriteString("unix://" + socketPath + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("dockertest: plugin spec: %v", err)
	}
	return path
}

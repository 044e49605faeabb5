package daemon

import "path/filepath"

// SetAside keeps a damaged state file for its operator: it links path to
// path.corrupt-TIME (another suffix if that exists: an earlier one is
// never replaced), syncs the directory and returns the name. path stays
// until a good copy is stored in its place, so there is no moment
// without the file. The Docker driver's store keeps its damaged files so,
// as restoreState keeps config.json's.
func SetAside(path string) (string, error) {
	aside, err := linkAside(path, ".corrupt-")
	if err != nil {
		return "", err
	}
	return aside, syncDir(filepath.Dir(path))
}

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

// NewPlainStore is a Store without a journal: each Save writes the whole
// document (keeping NAME.prev), and nothing else. For small documents
// always saved whole, such as the Docker driver's state: a journal there
// would only be a second copy written on every save and never read.
func NewPlainStore(dir, name string) (*Store, error) {
	s, err := NewStore(dir, name)
	if err != nil {
		return nil, err
	}
	s.journaled = false
	return s, nil
}

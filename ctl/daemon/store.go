package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Store keeps one JSON document durably in a directory: Save writes a
// temporary file, syncs it, renames it over the old one and syncs the
// directory, so a crash at any point leaves either the old or the new
// document, never a torn one. Before the rename, the old document (if it
// is valid JSON) becomes NAME.prev (a hard link, atomically replacing the
// previous one): if the document is later damaged from outside, the copy
// before the last change is there to fall back on (see Daemon).
type Store struct {
	dir  string
	name string
	// noPrev: Save keeps no NAME.prev (a cache with nothing to fall back
	// on: newCacheStore).
	noPrev bool
}

// NewStore uses dir (created 0700 if missing) and file name.
func NewStore(dir, name string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ctl: state directory: %w", err)
	}
	return &Store{dir: dir, name: name}, nil
}

// newCacheStore keeps a document in dir (which exists) without a
// previous copy.
func newCacheStore(dir, name string) *Store {
	return &Store{dir: dir, name: name, noPrev: true}
}

// Path is the document's path.
func (s *Store) Path() string { return filepath.Join(s.dir, s.name) }

// PrevPath is the previous good copy's path (NAME.prev).
func (s *Store) PrevPath() string { return s.Path() + ".prev" }

// Load decodes the document into v; found is false if there is none yet.
func (s *Store) Load(v any) (found bool, err error) {
	b, err := os.ReadFile(s.Path())
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("ctl: read %s: %w", s.Path(), err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("ctl: %s is corrupt: %w", s.Path(), err)
	}
	return true, nil
}

// Save writes v durably.
func (s *Store) Save(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("ctl: encode state: %w", err)
	}
	tmp, err := os.CreateTemp(s.dir, s.name+".tmp-*")
	if err != nil {
		return fmt.Errorf("ctl: save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("ctl: save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("ctl: save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("ctl: save state: %w", err)
	}
	if !s.noPrev {
		if err := s.keepPrevious(); err != nil {
			return fmt.Errorf("ctl: save state: %w", err)
		}
	}
	if err := os.Rename(tmp.Name(), s.Path()); err != nil {
		return fmt.Errorf("ctl: save state: %w", err)
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("ctl: save state: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("ctl: save state: sync directory: %w", err)
	}
	return nil
}

// keepPrevious makes the current document NAME.prev, if it is valid JSON
// (a damaged one never replaces a good previous copy).
func (s *Store) keepPrevious() error {
	b, err := os.ReadFile(s.Path())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil || !json.Valid(b) {
		return nil // unreadable or damaged: keep the previous copy as it is
	}
	link := s.Path() + ".prev-tmp"
	os.Remove(link)
	if err := os.Link(s.Path(), link); err != nil {
		return fmt.Errorf("keep previous copy: %w", err)
	}
	// If the two were links to one file already, rename does nothing and
	// leaves link: remove it either way.
	defer os.Remove(link)
	if err := os.Rename(link, s.PrevPath()); err != nil {
		return fmt.Errorf("keep previous copy: %w", err)
	}
	return nil
}

package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Store keeps one JSON document durably in a directory: Save writes a
// temporary file, syncs it, renames it over the old one and syncs the
// directory, so a crash at any point leaves either the old or the new
// document, never a torn one. Before the rename, the old document (if it
// is valid JSON) becomes NAME.prev (a hard link, atomically replacing the
// previous one): if the document is later damaged from outside, the copy
// before the last save is there to fall back on (see Daemon).
//
// A store made by NewStore also keeps a journal (journal.go): Commit
// appends what changed to NAME.journal and syncs it, a cost that does not
// grow with the document; Save (a compaction) writes the whole document
// and a new journal. Commit saves instead when it has no journal to
// append to (none yet, or the files are not the ones it wrote: another
// process changed them) and when the journal has grown as large as the
// document.
type Store struct {
	dir  string
	name string
	// noPrev: Save keeps no NAME.prev (a cache with nothing to fall back
	// on: newCacheStore).
	noPrev bool
	// journaled: Save writes a journal too, and Commit appends to it.
	journaled bool
	j         *journalWriter // the open journal, nil if none
	// valid, if set, says whether the document's bytes are one to keep
	// as NAME.prev (default: valid JSON).
	valid func([]byte) bool
	// frozen: the directory belongs to another process now (a takeover's
	// successor): Save and Commit refuse.
	frozen bool
}

// journalWriter is the journal Commit appends to.
type journalWriter struct {
	f        *os.File
	fi       os.FileInfo // its identity when opened
	size     int64       // its length: what this store wrote
	snapSize int64       // the snapshot's length
	changes  int         // change records in it
}

// NewStore uses dir (created 0700 if missing) and file name, with a
// journal.
func NewStore(dir, name string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ctl: state directory: %w", err)
	}
	return &Store{dir: dir, name: name, journaled: true}, nil
}

// newCacheStore keeps a document in dir (which exists) without a
// previous copy. Its temporary files left by a crash are removed
// (removeTemps): it is made at start, with the state directory locked.
func newCacheStore(dir, name string) *Store {
	s := &Store{dir: dir, name: name, noPrev: true}
	s.removeTemps()
	return s
}

// removeTemps removes the temporary files a Save cut short by a crash
// leaves (its removal is deferred, which a kill -9 skips): NAME.tmp-N and
// NAME.journal.tmp-N (os.CreateTemp's digits, from writeFile),
// NAME.prev-tmp (keepPrevious) and NAME.restore-tmp (replaceWithCopy).
// Only those names, only in the store's directory; called at start, with
// the directory locked, before anything is written. It returns the names
// removed.
func (s *Store) removeTemps() []string {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		if !e.Type().IsRegular() || !s.isTemp(e.Name()) {
			continue
		}
		if os.Remove(filepath.Join(s.dir, e.Name())) == nil {
			removed = append(removed, e.Name())
		}
	}
	return removed
}

// isTemp reports whether name is one of the store's temporary files.
func (s *Store) isTemp(name string) bool {
	switch name {
	case s.name + ".prev-tmp", s.name + ".restore-tmp":
		return true
	}
	for _, base := range []string{s.name, s.name + journalSuffix} {
		if n, ok := strings.CutPrefix(name, base+".tmp-"); ok && n != "" && strings.Trim(n, "0123456789") == "" {
			return true
		}
	}
	return false
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

// JournalPath is the journal's path (NAME.journal).
func (s *Store) JournalPath() string { return s.Path() + journalSuffix }

// errFrozen refuses a write to a state directory handed over.
var errFrozen = errors.New("the state directory was handed over to another vswitchd")

// Save writes v durably, whole; with a journal, it also starts a new
// journal holding a copy of it (a compaction).
func (s *Store) Save(v any) error { return s.compact(v, !s.noPrev) }

// compact is Save; rotate makes the document saved before NAME.prev.
func (s *Store) compact(v any, rotate bool) error {
	if s.frozen {
		return fmt.Errorf("ctl: save state: %w", errFrozen)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("ctl: encode state: %w", err)
	}
	b = append(b, '\n')
	if err := s.writeFile(s.Path(), b, rotate); err != nil {
		return fmt.Errorf("ctl: save state: %w", err)
	}
	if !s.journaled {
		return nil
	}
	s.closeJournal()
	// A crash here leaves the new snapshot with the old journal, which
	// is not its own: not applied (journal.go).
	jb := append([]byte(journalMagic), journalFrame(recSnapshot, b)...)
	if err := s.writeFile(s.JournalPath(), jb, false); err != nil {
		// The snapshot is stored: the change is not lost. The next
		// Commit saves again (no journal is open).
		return nil
	}
	s.openJournal(int64(len(jb)), int64(len(b)), 0)
	return nil
}

// writeFile replaces path by b durably: a temporary file, synced,
// renamed over it, and the directory synced. prev keeps the old file as
// NAME.prev first.
func (s *Store) writeFile(path string, b []byte, prev bool) error {
	tmp, err := os.CreateTemp(s.dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if prev {
		if err := s.keepPrevious(); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// openJournal opens the journal for appending, size bytes long (with
// changes change records) and belonging to a snapshot of snapSize bytes.
// If it cannot, no journal is open (the next Commit saves).
func (s *Store) openJournal(size, snapSize int64, changes int) {
	f, err := os.OpenFile(s.JournalPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() != size {
		f.Close()
		return
	}
	s.j = &journalWriter{f: f, fi: fi, size: size, snapSize: snapSize, changes: changes}
}

func (s *Store) closeJournal() {
	if s.j != nil {
		s.j.f.Close()
		s.j = nil
	}
}

// Commit stores the change from old to new (pointers to the document
// last stored and to the next one): one journal record, synced, when a
// journal is open; a Save otherwise, and when the journal has grown to
// the document's size. No change stores nothing.
func (s *Store) Commit(old, new any) error {
	if s.frozen {
		return fmt.Errorf("ctl: save state: %w", errFrozen)
	}
	if s.j == nil || !s.journalIntact() {
		s.closeJournal()
		return s.Save(new)
	}
	ops, err := diffDoc(old, new)
	if err != nil {
		return s.Save(new)
	}
	if len(ops) == 0 {
		return nil
	}
	payload, err := json.Marshal(journalChange{Ops: ops})
	if err != nil {
		return fmt.Errorf("ctl: encode change: %w", err)
	}
	rec := journalFrame(recChange, payload)
	if changed := s.j.size - s.j.snapSize + int64(len(rec)); changed > max(s.j.snapSize, minCompactBytes) {
		return s.Save(new)
	}
	if err := s.appendRecord(rec); err != nil {
		return fmt.Errorf("ctl: save state: %w", err)
	}
	return nil
}

// journalIntact reports whether the journal file is still the one this
// store opened, as long as it wrote it (another process may have
// compacted the directory: a takeover's successor that gave up).
func (s *Store) journalIntact() bool {
	fi, err := os.Stat(s.JournalPath())
	if err != nil || !os.SameFile(fi, s.j.fi) {
		return false
	}
	cur, err := s.j.f.Stat()
	return err == nil && cur.Size() == s.j.size
}

// appendRecord writes one record at the journal's end and syncs it. A
// failed write is cut off again, so that no torn record stays in front
// of the next; if even that fails, the journal is closed (the next
// Commit saves whole).
func (s *Store) appendRecord(rec []byte) error {
	_, err := s.j.f.Write(rec)
	if err == nil {
		err = s.j.f.Sync()
	}
	if err != nil {
		if terr := s.j.f.Truncate(s.j.size); terr != nil || s.j.f.Sync() != nil {
			s.closeJournal()
		}
		return err
	}
	s.j.size += int64(len(rec))
	s.j.changes++
	return nil
}

// adoptJournal takes over the journal found at start (readJournal) for
// appending: it ends cleanly at jf.end, with jf's records, and belongs
// to the snapshot.
func (s *Store) adoptJournal(jf *journalFile) {
	s.closeJournal()
	s.openJournal(jf.end, int64(len(jf.snapshot)), len(jf.changes))
}

// JournalChanges is how many change records the open journal holds
// (0 if none is open).
func (s *Store) JournalChanges() int {
	if s.j == nil {
		return 0
	}
	return s.j.changes
}

// Appending reports whether a journal is open for Commit to append to.
func (s *Store) Appending() bool { return s.j != nil }

// Freeze closes the journal and refuses every later write: the state
// directory belongs to another process now.
func (s *Store) Freeze() {
	s.closeJournal()
	s.frozen = true
}

// Close closes the journal.
func (s *Store) Close() { s.closeJournal() }

// keepPrevious makes the current document NAME.prev, if it is valid JSON
// (a damaged one never replaces a good previous copy).
func (s *Store) keepPrevious() error {
	b, err := os.ReadFile(s.Path())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil || !json.Valid(b) || s.valid != nil && !s.valid(b) {
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

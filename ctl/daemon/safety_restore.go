package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// A damaged configuration never blocks a start for good. restoreState
// tries config.json with its journal's changes (journal.go), then the
// journal alone (its copy of config.json as stored, with every change
// since), then config.json.prev (the snapshot before the last
// compaction). A file is usable if it reads, decodes as a State of this
// format version, and the switch accepts it. If config.json is not usable
// and another copy is, config.json is set aside as config.json.corrupt-TIME
// (never deleted), the other copy is used and compacted into config.json's
// place, and the daemon says so loudly (an ERROR log line naming the
// files). If none is usable the daemon refuses to start and names them: it
// never starts empty over a configuration it could not read.
//
// A missing config.json is a first start, or one that removed it on
// purpose: the daemon starts empty. If config.json.prev or a journal is
// there, it belongs to the configuration that is gone and is not used,
// but it is never lost either: it is moved to NAME.kept-TIME (a name no
// later save writes to) before anything is saved, and a WARN log line
// names it. Left in place, the new configuration's saves would have
// replaced it.

// errStateVersion marks a state file of another format version: written
// by another vswitchd, not damaged. It is never set aside.
var errStateVersion = errors.New("format version")

// restoreState loads the stored configuration into d.state and applies it
// to the switch (before any port is attached): config.json with the
// changes its journal holds (journal.go), which is then compacted into
// it, so that config.json is whole again and the journal empty.
func (d *Daemon) restoreState() error {
	cur, prev := d.store.Path(), d.store.PrevPath()
	// Only a file that loads becomes the previous copy: one of another
	// shape replaced a good config.json.prev at the first save after it.
	d.store.valid = validState
	if removed := d.store.removeTemps(); len(removed) > 0 {
		d.log.Info("temporary files of a save cut short (a crash) removed", "dir", d.store.dir, "files", removed)
	}
	st, err := d.tryState(cur)
	switch {
	case err == nil:
		d.state = st
		d.compactAtStart()
		return nil
	case errors.Is(err, os.ErrNotExist):
		for _, old := range []string{prev, d.store.JournalPath()} {
			if _, perr := os.Lstat(old); perr != nil {
				continue
			}
			kept, kerr := moveAside(old, ".kept-")
			if kerr != nil {
				return fmt.Errorf("ctl: %s is missing and %s could not be set aside (the new configuration's saves would replace it; move it away to start empty): %w", cur, old, kerr)
			}
			d.log.Warn("no stored configuration: starting empty; a file of the configuration that is gone is set aside, not used (to use it: the previous copy, copy it to the configuration file; a journal, see docs/vswitchd.md) and restart", "missing", cur, "kept", kept)
		}
		d.state = State{Version: stateVersion}
		// Publish the empty configuration too: a switch never configured
		// has no tables, and its idle workers wake every millisecond
		// instead of sleeping (an idle vswitchd used 5 % of a core).
		if err := d.sw.Reconfigure(d.state.switchConfig()); err != nil {
			return fmt.Errorf("ctl: empty configuration: %w", err)
		}
		return nil
	case errors.Is(err, errStateVersion):
		return err
	}
	// config.json is unusable: its journal holds a copy of it as it was
	// stored, and every change since.
	jst, jerr := d.tryJournalAlone()
	if jerr == nil {
		aside, aerr := setAside(cur)
		if aerr != nil {
			return fmt.Errorf("ctl: %s is unusable (%v) and could not be set aside: %w", cur, err, aerr)
		}
		d.state = jst
		d.log.Error("STORED CONFIGURATION UNUSABLE: started from the copy in its journal, with every change since; the unusable file is kept",
			"used", d.store.JournalPath(), "unusable", aside, "err", err)
		d.compactAtStart()
		return nil
	}
	pst, perr := d.tryState(prev)
	if perr != nil {
		if errors.Is(perr, os.ErrNotExist) {
			perr = errors.New("no such file")
		}
		return fmt.Errorf("ctl: no usable stored configuration, not starting (the files are left as they are: repair one, or move them away to start empty): %s: %w; journal %s: %v; previous copy %s: %v", cur, err, d.store.JournalPath(), jerr, prev, perr)
	}
	aside, aerr := setAside(cur)
	if aerr != nil {
		return fmt.Errorf("ctl: %s is unusable (%v) and could not be set aside: %w", cur, err, aerr)
	}
	if rerr := replaceWithCopy(prev, cur); rerr != nil {
		return fmt.Errorf("ctl: %s is unusable (%v; kept as %s) and %s could not replace it: %w", cur, err, aside, prev, rerr)
	}
	d.state = pst
	d.log.Error("STORED CONFIGURATION UNUSABLE: started from the previous copy, the changes stored after it are lost; the unusable file is kept",
		"used", prev, "unusable", aside, "err", err)
	d.compactAtStart()
	return nil
}

// tryState reads path as a State and applies it to the switch. For
// config.json, the changes in its journal are applied first.
func (d *Daemon) tryState(path string) (State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return State{}, err
	}
	st, err := decodeState(path, b)
	if err != nil {
		return st, err
	}
	if path == d.store.Path() {
		st = d.replayJournal(b, st)
	}
	return st, d.acceptState(&st)
}

// decodeState decodes a stored State of this format version, strictly:
// a field this vswitchd does not know (a misspelled key: security_group
// for security_groups, which dropped every group; or another file put
// there, such as the --config flags file), data after the object, or no
// format version ({}, {"foo": 1}) is damage, not an empty or partial
// configuration. No field of State or of what it holds was ever removed,
// so every file an older vswitchd wrote decodes; one removed later must
// be accepted explicitly here (a field of its own, ignored).
func decodeState(path string, b []byte) (State, error) {
	var st State
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return st, errors.New("corrupt: not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return State{}, fmt.Errorf("corrupt: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return State{}, errors.New("corrupt: data after the configuration object")
	}
	if st.Version == 0 {
		// Every vswitchd has written "version": 1.
		return State{}, fmt.Errorf("corrupt: no format version (\"version\": %d): not a vswitchd configuration", stateVersion)
	}
	if st.Version != stateVersion {
		return st, fmt.Errorf("ctl: %s has %w %d; this vswitchd reads %d", path, errStateVersion, st.Version, stateVersion)
	}
	return st, nil
}

// validState reports whether b decodes as a stored State (decodeState):
// only such a file becomes the previous copy (Store.keepPrevious).
func validState(b []byte) bool {
	_, err := decodeState("", b)
	return err == nil
}

// acceptState checks a stored State and applies it to the switch.
func (d *Daemon) acceptState(st *State) error {
	if err := checkPortState(st); err != nil {
		return err
	}
	if err := checkEndpointState(st); err != nil {
		return err
	}
	if err := d.sw.Reconfigure(st.switchConfig()); err != nil {
		return fmt.Errorf("not accepted by the switch: %w", err)
	}
	return nil
}

// replayJournal applies to st, decoded from snapshot (config.json's
// bytes), the changes of the journal that belongs to it. A journal that
// belongs to another snapshot (a compaction cut short by a crash, after
// config.json was replaced: its changes are in it; or config.json
// replaced by hand while vswitchd was stopped) is not applied. A torn or
// damaged record ends the journal: it and what follows are dropped, and
// the log says so. The store appends to the journal only if it was
// clean, with no change in it; otherwise the start compacts.
func (d *Daemon) replayJournal(snapshot []byte, st State) State {
	path := d.store.JournalPath()
	jf, err := readJournal(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return st // an older vswitchd's directory, or a first save pending
	case err != nil:
		d.log.Warn("configuration journal unreadable: not applied; changes stored in it since the last compaction are lost", "journal", path, "err", err)
		return st
	case !bytes.Equal(jf.snapshot, snapshot):
		if len(jf.changes) > 0 {
			d.log.Warn("configuration journal not applied: it belongs to another copy of the configuration (a compaction cut short, whose changes are in config.json; or config.json replaced while vswitchd was stopped)",
				"journal", path, "changes", len(jf.changes))
		}
		return st
	}
	n, aerr := applyChanges(&st, jf.changes)
	if aerr != nil {
		// Applied in part: start again from the snapshot with the
		// changes before the one that does not apply.
		st, _ = decodeState(d.store.Path(), snapshot)
		applyChanges(&st, jf.changes[:n])
		d.log.Warn("configuration journal: a change does not apply to the configuration; it and those after it are dropped",
			"journal", path, "applied", n, "dropped", len(jf.changes)-n, "err", aerr)
	}
	if jf.tornAt >= 0 {
		d.log.Warn("configuration journal: torn or damaged record dropped, with anything after it (a crash in the middle of a write leaves one: that change was never acknowledged)",
			"journal", path, "offset", jf.tornAt, "reason", jf.tornWhy, "applied", n)
	}
	if n > 0 {
		d.log.Info("configuration journal applied", "journal", path, "changes", n)
		d.startChanges = n
	}
	if aerr == nil && jf.tornAt < 0 && len(jf.changes) == 0 {
		d.store.adoptJournal(jf)
	}
	return st
}

// tryJournalAlone reads the configuration from the journal alone: its
// copy of the snapshot with its changes (config.json is unusable).
func (d *Daemon) tryJournalAlone() (State, error) {
	path := d.store.JournalPath()
	jf, err := readJournal(path)
	if err != nil {
		return State{}, err
	}
	st, err := decodeState(path, jf.snapshot)
	if err != nil {
		return st, err
	}
	if n, aerr := applyChanges(&st, jf.changes); aerr != nil || jf.tornAt >= 0 {
		return st, fmt.Errorf("the journal's changes do not all apply (%d of %d; %v; %s)", n, len(jf.changes), aerr, jf.tornWhy)
	}
	return st, d.acceptState(&st)
}

// compactAtStart writes the configuration just loaded as config.json and
// starts a new journal, unless the journal found is clean and empty (it
// is then appended to). A failure is logged: the first change saves
// whole again.
func (d *Daemon) compactAtStart() {
	if d.store.Appending() {
		return
	}
	// config.json becomes config.json.prev only if changes were applied
	// to it: otherwise it holds what the new one will, and the previous
	// copy, an older one, is kept.
	if err := d.store.compact(&d.state, d.startChanges > 0); err != nil {
		d.log.Warn("stored configuration not compacted at start: the first change will try again", "err", err)
	}
}

// compactStore, at stop, folds the journal into config.json, so that a
// stopped vswitchd leaves its whole configuration there. Not after a
// takeover: the directory is the successor's (the store is frozen).
func (d *Daemon) compactStore() {
	if d.store.JournalChanges() == 0 || d.store.frozen {
		return
	}
	if err := d.store.Save(&d.state); err != nil {
		d.log.Warn("stored configuration not compacted at stop: its journal is applied at the next start", "err", err)
	}
}

// checkPortState rejects a stored configuration whose ports and bridges
// do not name each other, so that restoreState falls back to the
// previous copy. The daemon keeps two lists: its ports (how to make each
// driver, and the bridge it is in; "" for a routed port) and each
// bridge's switch ports. The switch checks only the second; a port whose
// bridge is not there, or that is in another bridge than it says, would
// forward while show and set-port could not find it.
func checkPortState(st *State) error {
	bridges := make(map[string]bool, len(st.Bridges))
	for _, b := range st.Bridges {
		bridges[b.Name] = true
	}
	spec := make(map[string]*PortSpec, len(st.Ports))
	for i := range st.Ports {
		p := &st.Ports[i]
		if p.Name == "" {
			return fmt.Errorf("ports[%d]: no name", i)
		}
		if _, dup := spec[p.Name]; dup {
			return fmt.Errorf("port %s is configured twice", p.Name)
		}
		if p.Bridge != "" && !bridges[p.Bridge] {
			return fmt.Errorf("port %s: its bridge %s is not configured", p.Name, p.Bridge)
		}
		spec[p.Name] = p
	}
	listed := make(map[string]bool, len(st.Ports)) // by the bridge it names
	for _, b := range st.Bridges {
		for _, bp := range b.Ports {
			p := spec[bp.Name]
			switch {
			case p == nil:
				return fmt.Errorf("bridge %s: its port %s is not configured", b.Name, bp.Name)
			case p.Bridge == "":
				return fmt.Errorf("bridge %s: its port %s is configured as a routed port (in no bridge)", b.Name, bp.Name)
			case p.Bridge != b.Name:
				return fmt.Errorf("bridge %s: its port %s is configured in bridge %s", b.Name, bp.Name, p.Bridge)
			}
			listed[bp.Name] = true
		}
	}
	for _, p := range st.Ports {
		if p.Bridge != "" && !listed[p.Name] {
			return fmt.Errorf("port %s: its bridge %s does not list it", p.Name, p.Bridge)
		}
	}
	// A binding names a configured port: sg/bind refuses any other, and
	// a removed port leaves its groups (unbindPort). One naming no port
	// would be joined, silently, by a port added later under that name.
	for _, g := range st.SecurityGroups {
		for _, name := range g.Ports {
			if spec[name] == nil {
				return fmt.Errorf("security group %s: its port %s is not configured", g.Name, name)
			}
		}
	}
	for _, ep := range st.Endpoints {
		if p := spec[ep.Port]; p != nil && p.Bridge != ep.Bridge { // no port: checkEndpointState
			return fmt.Errorf("endpoint %s/%s/%s: its port %s is in bridge %q, the endpoint in %q", ep.Network, ep.ContainerID, ep.IfName, ep.Port, p.Bridge, ep.Bridge)
		}
	}
	return nil
}

// setAside links path to path.corrupt-TIME (another suffix if that
// exists: an earlier aside file is never replaced) and returns the name.
// path stays until replaceWithCopy puts the good copy in its place, so
// there is no moment without a configuration file.
func setAside(path string) (string, error) {
	return linkAside(path, ".corrupt-")
}

// moveAside renames path to path+kind+TIME (never over an existing file,
// as setAside), syncs the directory and returns the new name.
func moveAside(path, kind string) (string, error) {
	aside, err := linkAside(path, kind)
	if err != nil {
		return "", err
	}
	if err := os.Remove(path); err != nil {
		return "", err
	}
	return aside, syncDir(filepath.Dir(path))
}

// linkAside links path to path+kind+TIME, or that name with another
// suffix if it exists, and returns the name.
func linkAside(path, kind string) (string, error) {
	base := path + kind + time.Now().UTC().Format("20060102T150405Z")
	for i := 0; i < 100; i++ {
		aside := base
		if i > 0 {
			aside += "-" + strconv.Itoa(i)
		}
		err := os.Link(path, aside)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return aside, nil
	}
	return "", fmt.Errorf("too many %s%s* files", path, kind)
}

// replaceWithCopy atomically puts a copy of src's file at dst (written,
// synced, renamed over dst), and syncs the directory. A copy, not a hard
// link: with one file under both names, an operator editing config.json
// in place would change the previous copy too.
func replaceWithCopy(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := dst + ".restore-tmp"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

// syncDir makes the directory's entries durable.
func syncDir(path string) error {
	dir, err := os.Open(path)
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

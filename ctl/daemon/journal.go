package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The journal (NAME.journal beside the snapshot NAME, config.json) makes
// a change cost what the change is, not what the whole configuration is:
// a command appends one record saying what it changed and syncs it
// before it returns, instead of rewriting the whole document. This is
// OVSDB's design (an append-only log, compacted into a snapshot).
//
// File layout: the magic line, then records. A record is a header line
// "TYPE LENGTH CRC32C\n", LENGTH bytes of payload and "\n". The first
// record (type S) is a copy of the snapshot the journal belongs to, byte
// for byte; each later record (type C) is one committed change, a JSON
// object {"ops":[...]} of field operations on the document (diffDoc):
// set a field to a value, or splice a list field (delete some elements
// at an index, insert others there). A change of one route of ten
// thousand is one splice of one element.
//
// Compaction (Store.Save) writes a new snapshot (temporary file, sync,
// rename, sync the directory), then a new journal holding a copy of it
// the same way. A crash at any point leaves a pair that loads: before the
// snapshot's rename, the old snapshot and its journal; between the two
// renames, the new snapshot and the old journal, whose copy is not the
// new snapshot, so it is not applied (everything in it is in the new
// snapshot); after, the new pair. A crash during an append leaves a torn
// last record (its command never returned): the load detects it (short,
// bad checksum, no end) and drops it and anything after it, with a log
// line. The copy of the snapshot in the journal is also what a start
// falls back to if config.json itself is damaged (restoreState).

// journalMagic begins every journal file.
const journalMagic = "vecswitch journal 1\n"

// Record types.
const (
	recSnapshot = 'S'
	recChange   = 'C'
)

// journalSuffix names the journal beside its snapshot.
const journalSuffix = ".journal"

// minCompactBytes: the journal is compacted into a new snapshot once its
// changes reach the snapshot's size, and not before they reach this much
// (a small configuration is not rewritten every few commands). Each
// compaction rewrites the snapshot once for at least as many bytes of
// changes, so its cost per change stays the change's size.
const minCompactBytes = 1 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// journalFrame encodes one record.
func journalFrame(typ byte, payload []byte) []byte {
	b := make([]byte, 0, len(payload)+32)
	b = append(b, typ, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	b = fmt.Appendf(b, "%08x", crc32.Checksum(payload, crcTable))
	b = append(b, '\n')
	b = append(b, payload...)
	return append(b, '\n')
}

// journalFile is a journal as read back.
type journalFile struct {
	snapshot []byte   // the first record: a copy of its snapshot
	changes  [][]byte // the intact change records' payloads, in order
	// end is the offset just past the last intact record; if the file
	// is longer, tornAt == end and tornWhy says what is wrong there.
	end     int64
	tornAt  int64 // -1: the file ends cleanly
	tornWhy string
}

// errJournalUnusable wraps a journal that has no intact snapshot record.
var errJournalUnusable = errors.New("journal unusable")

// readJournal reads path. A file that does not exist is os.ErrNotExist;
// one without its magic line or an intact first record is
// errJournalUnusable; damage after that is reported in tornAt, never as
// an error: the intact records before it are returned.
func readJournal(path string) (*journalFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte(journalMagic)) {
		return nil, fmt.Errorf("%w: %s does not begin with %q", errJournalUnusable, path, strings.TrimSpace(journalMagic))
	}
	off := int64(len(journalMagic))
	typ, payload, n, why := nextRecord(b[off:])
	if why != "" || typ != recSnapshot {
		if why == "" {
			why = fmt.Sprintf("record type %q, want %q", typ, recSnapshot)
		}
		return nil, fmt.Errorf("%w: %s: its snapshot record at offset %d: %s", errJournalUnusable, path, off, why)
	}
	jf := &journalFile{snapshot: payload, tornAt: -1}
	off += n
	for off < int64(len(b)) {
		typ, payload, n, why := nextRecord(b[off:])
		if why == "" && typ != recChange {
			why = fmt.Sprintf("record type %q, want %q", typ, recChange)
		}
		if why != "" {
			jf.tornAt, jf.tornWhy = off, why
			break
		}
		jf.changes = append(jf.changes, payload)
		off += n
	}
	jf.end = off
	if jf.tornAt >= 0 {
		jf.end = jf.tornAt
	}
	return jf, nil
}

// nextRecord decodes the record at the start of b: its type, payload
// and length in bytes, or why it is not a whole, intact record.
func nextRecord(b []byte) (typ byte, payload []byte, n int64, why string) {
	nl := bytes.IndexByte(b[:min(len(b), 64)], '\n')
	if nl < 0 {
		return 0, nil, 0, fmt.Sprintf("torn record header (%d bytes, no end of line)", len(b))
	}
	f := strings.Fields(string(b[:nl]))
	if len(f) != 3 || len(f[0]) != 1 {
		return 0, nil, 0, fmt.Sprintf("malformed record header %q", b[:nl])
	}
	size, err1 := strconv.ParseInt(f[1], 10, 64)
	sum, err2 := strconv.ParseUint(f[2], 16, 32)
	if err1 != nil || err2 != nil || size < 0 {
		return 0, nil, 0, fmt.Sprintf("malformed record header %q", b[:nl])
	}
	rest := b[nl+1:]
	if int64(len(rest)) < size+1 {
		return 0, nil, 0, fmt.Sprintf("torn record: %d bytes of payload announced, %d there", size, max(0, len(rest)-1))
	}
	payload = rest[:size]
	if rest[size] != '\n' {
		return 0, nil, 0, "record not terminated"
	}
	if crc32.Checksum(payload, crcTable) != uint32(sum) {
		return 0, nil, 0, "record checksum mismatch"
	}
	return f[0][0], payload, int64(nl+1) + size + 1, ""
}

// journalChange is a change record's payload.
type journalChange struct {
	Ops []journalOp `json:"ops"`
}

// journalOp changes one top-level field of the document (by its JSON
// name). Op "set": the field becomes Value. Op "splice": of the list
// field, Del elements at index At are replaced by the elements of Ins.
type journalOp struct {
	Op    string          `json:"op"`
	Field string          `json:"f"`
	Value json.RawMessage `json:"value,omitempty"`
	At    int             `json:"at,omitempty"`
	Del   int             `json:"del,omitempty"`
	Ins   json.RawMessage `json:"ins,omitempty"`
}

// docFields maps a document struct's JSON field names to field indexes
// (exported fields with a JSON name; json:"-" and unexported ones are
// not stored, so not journaled).
func docFields(t reflect.Type) (names []string, index []int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		index = append(index, i)
	}
	return names, index
}

// diffDoc says, as journal ops, what changed from old to new, two
// pointers to the same struct type: a list field with elements changed,
// added or removed in one stretch is a splice of that stretch (its
// unchanged head and tail are not written), any other changed field is
// set whole. Elements are compared with reflect.DeepEqual, which is
// stricter than their JSON (never looser): a field it calls equal
// encodes the same.
func diffDoc(old, new any) ([]journalOp, error) {
	ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(new).Elem()
	if ov.Type() != nv.Type() || ov.Kind() != reflect.Struct {
		return nil, fmt.Errorf("journal: diff of %T and %T", old, new)
	}
	names, index := docFields(ov.Type())
	var ops []journalOp
	for k, i := range index {
		of, nf := ov.Field(i), nv.Field(i)
		if of.Kind() == reflect.Slice && of.Len() > 0 && nf.Len() > 0 {
			at, del, ins := spliceOf(of, nf)
			if del == 0 && ins.Len() == 0 {
				continue
			}
			b, err := json.Marshal(ins.Interface())
			if err != nil {
				return nil, fmt.Errorf("journal: encode %s: %w", names[k], err)
			}
			ops = append(ops, journalOp{Op: "splice", Field: names[k], At: at, Del: del, Ins: b})
			continue
		}
		if reflect.DeepEqual(of.Interface(), nf.Interface()) {
			continue
		}
		b, err := json.Marshal(nf.Interface())
		if err != nil {
			return nil, fmt.Errorf("journal: encode %s: %w", names[k], err)
		}
		ops = append(ops, journalOp{Op: "set", Field: names[k], Value: b})
	}
	return ops, nil
}

// spliceOf finds the one stretch in which lists a and b differ: b is a
// with del elements at at replaced by ins.
func spliceOf(a, b reflect.Value) (at, del int, ins reflect.Value) {
	la, lb := a.Len(), b.Len()
	p := 0
	for p < la && p < lb && reflect.DeepEqual(a.Index(p).Interface(), b.Index(p).Interface()) {
		p++
	}
	s := 0
	for s < la-p && s < lb-p && reflect.DeepEqual(a.Index(la-1-s).Interface(), b.Index(lb-1-s).Interface()) {
		s++
	}
	return p, la - p - s, b.Slice(p, lb-s)
}

// applyChange applies one change record's payload to doc, a pointer to
// the document struct: all of it, or, if the record does not decode or
// does not fit the document, none of it (an error).
func applyChange(doc any, payload []byte) error {
	var ch journalChange
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ch); err != nil {
		return fmt.Errorf("undecodable change: %w", err)
	}
	dv := reflect.ValueOf(doc).Elem()
	names, index := docFields(dv.Type())
	fields := make([]reflect.Value, len(ch.Ops))
	values := make([]reflect.Value, len(ch.Ops))
	seen := map[string]bool{}
	for i, op := range ch.Ops {
		k := slices.Index(names, op.Field)
		if k < 0 {
			return fmt.Errorf("change of unknown field %q", op.Field)
		}
		if seen[op.Field] {
			return fmt.Errorf("field %s changed twice in one record", op.Field)
		}
		seen[op.Field] = true
		f := dv.Field(index[k])
		switch op.Op {
		case "set":
			v := reflect.New(f.Type())
			if err := unmarshalStrict(op.Value, v.Interface()); err != nil {
				return fmt.Errorf("change of %s: %w", op.Field, err)
			}
			values[i] = v.Elem()
		case "splice":
			if f.Kind() != reflect.Slice {
				return fmt.Errorf("splice of %s, not a list", op.Field)
			}
			if op.At < 0 || op.Del < 0 || op.At+op.Del > f.Len() {
				return fmt.Errorf("splice of %s at %d deleting %d: the list has %d elements", op.Field, op.At, op.Del, f.Len())
			}
			ins := reflect.New(f.Type())
			if len(op.Ins) > 0 {
				if err := unmarshalStrict(op.Ins, ins.Interface()); err != nil {
					return fmt.Errorf("change of %s: %w", op.Field, err)
				}
			}
			out := reflect.MakeSlice(f.Type(), 0, f.Len()-op.Del+ins.Elem().Len())
			out = reflect.AppendSlice(out, f.Slice(0, op.At))
			out = reflect.AppendSlice(out, ins.Elem())
			out = reflect.AppendSlice(out, f.Slice(op.At+op.Del, f.Len()))
			values[i] = out
		default:
			return fmt.Errorf("unknown operation %q on %s", op.Op, op.Field)
		}
		fields[i] = f
	}
	for i, f := range fields {
		f.Set(values[i])
	}
	return nil
}

// unmarshalStrict decodes a change's value as decodeState decodes the
// snapshot: a field the document does not know is an error (the record
// is not applied, and the log says so), never dropped silently. The
// records are the daemon's own (diffDoc), so this only refuses one
// written by a vswitchd that knows fields this one does not.
func unmarshalStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the value")
	}
	return nil
}

// applyChanges applies a journal's change records to doc in order, and
// returns how many applied; err says why the next one did not (doc then
// holds the n before it).
func applyChanges(doc any, changes [][]byte) (n int, err error) {
	for i, c := range changes {
		if err := applyChange(doc, c); err != nil {
			return i, err
		}
	}
	return len(changes), nil
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// The --config file is a JSON object whose keys are the flag names
// ("state-dir", "pool-frames", ...; "_" may stand for "-", as in the
// "state_dir" spelling of earlier versions) and whose values are strings,
// numbers or booleans, parsed as the flag would parse them. An unknown
// key, a key given twice, or another kind of value is an error: a typo
// must not silently leave a setting at its default.

// setting is one key of the config file: the flag it sets and the value
// as flag text.
type setting struct{ flag, value string }

// parseConfig parses a config file's bytes; valid are the flag names a
// file may set.
func parseConfig(b []byte, valid []string) ([]setting, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("want a JSON object of settings, {\"state-dir\": \"/var/lib/vswitch\", ...}")
	}
	var out []setting
	seen := map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := t.(string)
		if !ok {
			return nil, errors.New("want a key")
		}
		name := strings.ReplaceAll(key, "_", "-")
		if !slices.Contains(valid, name) {
			return nil, fmt.Errorf("unknown key %q (valid keys: %s)", key, strings.Join(valid, ", "))
		}
		if prev, ok := seen[name]; ok {
			return nil, fmt.Errorf("key %q given twice (also as %q)", key, prev)
		}
		seen[name] = key
		v, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var text string
		switch v := v.(type) {
		case string:
			text = v
		case json.Number:
			text = v.String()
		case bool:
			text = fmt.Sprint(v)
		default:
			return nil, fmt.Errorf("key %q: want a string, number or true/false", key)
		}
		out = append(out, setting{name, text})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more after the JSON object")
	}
	return out, nil
}

// configKeys are the flags a config file may set: all but --config and
// --takeover (an action of one start: in a file it would make every start
// a takeover, and a start with nothing to take over fail).
func configKeys(fs *flag.FlagSet) []string {
	var keys []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "config" && f.Name != "takeover" && f.Name != "detach" {
			keys = append(keys, f.Name)
		}
	})
	return keys
}

// loadConfig applies the file's settings to fs's flags, then parses the
// command line args again: the flags given there override the file.
func loadConfig(path string, fs *flag.FlagSet, args []string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	settings, err := parseConfig(b, configKeys(fs))
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	for _, s := range settings {
		if err := fs.Set(s.flag, s.value); err != nil {
			return fmt.Errorf("config %s: key %q: %s", path, s.flag, valueError(fs.Lookup(s.flag), s.value, err))
		}
	}
	return fs.Parse(args)
}

// valueError says what flag f wants, given value, which it refused with
// err (the flag package's "parse error" says neither).
func valueError(f *flag.Flag, value string, err error) string {
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case bool:
			return fmt.Sprintf("want true or false, not %q", value)
		case int:
			return fmt.Sprintf("want a whole number, not %q", value)
		}
	}
	return fmt.Sprintf("%q: %v", value, err)
}

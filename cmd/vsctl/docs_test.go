package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ctl"
)

// vswitchdDoc is the page that lists every vsctl command.
const vswitchdDoc = "../../docs/vswitchd.md"

// TestDocsListEveryCommand: docs/vswitchd.md's command list (the "## vsctl"
// section) has an entry for every command vsctl --help lists (ctl.Specs),
// and each entry names every option its usage and help name, so a
// command or an option added without documentation fails here. An entry
// is a list item whose first code span begins with the command as vsctl
// --help spells it ("- `route/add PREFIX ...`: ..."), continued by its
// indented lines. add-port's options may be under "## Port types"
// instead. An entry for a command vsctl does not have fails too.
func TestDocsListEveryCommand(t *testing.T) {
	b, err := os.ReadFile(vswitchdDoc)
	require.NoError(t, err)
	doc := string(b)
	vsctlSection := mdSection(doc, "## vsctl")
	require.NotEmpty(t, vsctlSection, "%s has no \"## vsctl\" section", vswitchdDoc)
	portTypes := mdSection(doc, "## Port types")
	require.NotEmpty(t, portTypes, "%s has no \"## Port types\" section", vswitchdDoc)
	entries := mdEntries(vsctlSection)

	known := map[string]bool{}
	key := regexp.MustCompile(`([a-z][a-z_-]*)=`)
	for _, s := range ctl.Specs {
		name := displayName(s.Name)
		known[name] = true
		entry, ok := entries[name]
		if !ok {
			t.Errorf("%s: no entry for %q (a list item \"- `%s`: what it does\" in its group of the vsctl section)", vswitchdDoc, name, strings.TrimSpace(name+" "+s.Usage))
			continue
		}
		where := entry
		if s.Name == "add-port" {
			where += portTypes
		}
		named := map[string]bool{"key": true} // add-port's [key=value...]
		for _, m := range key.FindAllStringSubmatch(s.Usage+" "+s.Help, -1) {
			if named[m[1]] {
				continue
			}
			named[m[1]] = true
			if !strings.Contains(where, m[1]+"=") {
				what := fmt.Sprintf("the entry for %q", name)
				if s.Name == "add-port" {
					what += " (nor \"## Port types\")"
				}
				t.Errorf("%s: %s: no %s= (vsctl %s --help names it)", vswitchdDoc, what, m[1], name)
			}
		}
	}
	for name := range entries {
		if strings.Contains(name, "/") && !known[name] {
			t.Errorf("%s: an entry for %q, which vsctl --help does not list", vswitchdDoc, name)
		}
	}
}

// TestDocsLinksResolve: every link of docs/vswitchd.md to a section
// (file.md#anchor or #anchor) names a heading that exists, as GitHub
// makes anchors.
func TestDocsLinksResolve(t *testing.T) {
	b, err := os.ReadFile(vswitchdDoc)
	require.NoError(t, err)
	link := regexp.MustCompile(`\]\(([A-Za-z0-9_./-]*)#([^)\s]+)\)`)
	links := link.FindAllStringSubmatch(string(b), -1)
	require.NotEmpty(t, links)
	for _, m := range links {
		file := vswitchdDoc
		if m[1] != "" {
			file = filepath.Join(filepath.Dir(vswitchdDoc), m[1])
		}
		target, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s: link %s#%s: %v", vswitchdDoc, m[1], m[2], err)
			continue
		}
		if !mdAnchors(string(target))[m[2]] {
			t.Errorf("%s: link %s#%s: no such heading in %s", vswitchdDoc, m[1], m[2], file)
		}
	}
}

// mdSection returns the text under heading (a whole line, "## vsctl") up
// to the next heading of the same or a higher level, outside code blocks.
func mdSection(doc, heading string) string {
	level := strings.Index(heading, " ")
	var out []string
	in, fence := false, false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "```") {
			fence = !fence
		}
		if !fence && strings.HasPrefix(line, "#") {
			l := strings.IndexFunc(line, func(r rune) bool { return r != '#' })
			if line == heading {
				in = true
				continue
			}
			if in && l > 0 && l <= level {
				break
			}
		}
		if in {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// mdEntries maps the command of each list item of section (the first word
// of its first code span, which may go on over the item's next lines;
// "show runtime" for show-runtime) to the item's text with its
// continuation lines.
func mdEntries(section string) map[string]string {
	entries := map[string]string{}
	var item []string
	flush := func() {
		text := strings.Join(item, "\n")
		item = nil
		span, ok := strings.CutPrefix(text, "- `")
		if !ok {
			return
		}
		end := strings.Index(span, "`")
		if end < 0 {
			return
		}
		f := strings.Fields(span[:end])
		if len(f) == 0 {
			return
		}
		name := f[0]
		if (name == "show" || name == "set") && len(f) > 1 && !strings.ContainsAny(f[1], "=[") {
			name += " " + f[1]
		}
		entries[name] += text
	}
	for _, line := range strings.Split(section, "\n") {
		switch {
		case strings.HasPrefix(line, "- "):
			flush()
			item = []string{line}
		case strings.HasPrefix(line, "  ") && item != nil:
			item = append(item, line)
		default:
			flush()
		}
	}
	flush()
	return entries
}

// mdAnchors returns the anchors GitHub makes for doc's headings: lower
// case, punctuation other than - and _ dropped, spaces made hyphens, a
// repeated one suffixed -1, -2...
func mdAnchors(doc string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	fence := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "```") {
			fence = !fence
		}
		if fence || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var a strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				a.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				a.WriteRune(r)
			}
		}
		s := a.String()
		if n := seen[s]; n > 0 {
			anchors[s+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[s] = true
		}
		seen[s]++
	}
	return anchors
}

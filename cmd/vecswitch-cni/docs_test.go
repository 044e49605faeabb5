package main

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecswitch/vecswitch/ipam"
)

// TestDocumentedConflists: the conflists the README and docs/cni.md show
// are what this plugin accepts, and their pools parse.
func TestDocumentedConflists(t *testing.T) {
	for file, re := range map[string]*regexp.Regexp{
		"../../README.md":   regexp.MustCompile(`(?s)<<'JSON'\n(.*?)\nJSON\n`),
		"../../docs/cni.md": regexp.MustCompile("(?s)## The conflist\n\n```json\n(.*?)\n```"),
	} {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		m := re.FindSubmatch(b)
		require.NotNil(t, m, "%s: no conflist found", file)
		var list struct {
			CNIVersion string            `json:"cniVersion"`
			Name       string            `json:"name"`
			Plugins    []json.RawMessage `json:"plugins"`
		}
		require.NoError(t, json.Unmarshal(m[1], &list), file)
		require.Len(t, list.Plugins, 1, file)
		// As libcni runs a plugin of a list: name and version injected.
		var plugin map[string]any
		require.NoError(t, json.Unmarshal(list.Plugins[0], &plugin), file)
		plugin["name"], plugin["cniVersion"] = list.Name, list.CNIVersion
		conf, err := json.Marshal(plugin)
		require.NoError(t, err)
		c, ic, err := parseConf(conf)
		require.NoError(t, err, file)
		require.Equal(t, "vecswitch-cni", c.Type, file)
		require.NotNil(t, ic, "%s: vecswitch IPAM", file)
		def, err := ic.poolDef()
		require.NoError(t, err, file)
		require.NotNil(t, def, file)
		p, err := ipam.ParsePool(ic.Pool, *def)
		require.NoError(t, err, file)
		require.Len(t, p.Ranges, 2, "%s: dual stack", file)
	}
}

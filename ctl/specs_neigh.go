package ctl

// neighSpecs are the neighbor table's commands beyond specs_l3.go's,
// appended to Specs.
var neighSpecs = []Spec{
	{Name: "neigh/stats", Help: "the ARP/ND table's size and limits (the table, one interface's share) and counters: entries static, stale (learned from packets the switch did not ask for: evicted first) and reachable, per interface; learned, updated, aged, evicted (for a newer entry), full (refused)", Read: true},
}

func init() { Specs = append(Specs, neighSpecs...) }

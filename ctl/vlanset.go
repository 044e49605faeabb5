package ctl

import "github.com/vecswitch/vecswitch/internal/vlanset"

// VLANSet is a set of VLAN IDs (vswitch.VLANSet, the same type): on the
// wire a string of ranges, "1-10,20,30-40"; decoding also takes an array
// of numbers. internal/vlanset holds the one implementation both share.
type VLANSet = vlanset.Set

// ParseVLANSet parses "10,20,30-40" (spaces around items are ignored,
// overlaps merge) into a sorted set without duplicates. Every ID must be
// in 0..4095; which of them a port may use is the daemon's to check.
func ParseVLANSet(s string) (VLANSet, error) { return vlanset.Parse(s, 0, 4095) }

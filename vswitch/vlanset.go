package vswitch

import "github.com/vecswitch/vecswitch/internal/vlanset"

// VLANSet is a set of VLAN IDs, as a trunk's list of tagged VLANs
// (Port.Trunks): a sorted list in memory, ranges ("1-10,20,30-40") as text
// and JSON, the older array form still read (internal/vlanset, shared with
// ctl.VLANSet).
type VLANSet = vlanset.Set

// ParseVLANSet parses a list of VLAN IDs and ranges such as "10,20,30-40"
// (spaces around items are ignored, overlaps merge). Every ID must be in
// 1..MaxVLAN. The result is sorted, without duplicates.
func ParseVLANSet(s string) (VLANSet, error) { return vlanset.Parse(s, 1, MaxVLAN) }

package ctl

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// VLANSet is a set of VLAN IDs (vswitch.VLANSet): on the wire a string of
// ranges, "1-10,20,30-40"; decoding also takes an array of numbers.
type VLANSet []uint16

// maxVLANSetText bounds the text ParseVLANSet reads.
const maxVLANSetText = 64 << 10

// ParseVLANSet parses "10,20,30-40" (spaces around items are ignored,
// overlaps merge) into a sorted set without duplicates. Every ID must be
// in 0..4095; which of them a port may use is the daemon's to check.
func ParseVLANSet(s string) (VLANSet, error) {
	if len(s) > maxVLANSetText {
		return nil, fmt.Errorf("VLAN list longer than %d bytes", maxVLANSetText)
	}
	var out VLANSet
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		a, b, isRange := strings.Cut(f, "-")
		first, err1 := strconv.Atoi(strings.TrimSpace(a))
		last, err2 := first, error(nil)
		if isRange {
			last, err2 = strconv.Atoi(strings.TrimSpace(b))
		}
		if err1 != nil || err2 != nil || first < 0 || last > 4095 || first > last {
			return nil, fmt.Errorf("%q is not a VLAN or range within 0-4095", f)
		}
		for v := first; v <= last; v++ {
			out = append(out, uint16(v))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// String writes the set as ranges, lowest first ("" for an empty set).
func (v VLANSet) String() string {
	if !slices.IsSorted(v) {
		v = slices.Sorted(slices.Values(v))
	}
	var b strings.Builder
	for i := 0; i < len(v); {
		j := i
		for j+1 < len(v) && (v[j+1] == v[j] || v[j+1] == v[j]+1) {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(v[i])))
		if v[j] != v[i] {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(v[j])))
		}
		i = j + 1
	}
	return b.String()
}

// MarshalJSON writes the set as a JSON string of ranges (String).
func (v VLANSet) MarshalJSON() ([]byte, error) { return json.Marshal(v.String()) }

// UnmarshalJSON reads a string of ranges or an array of numbers.
func (v *VLANSet) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		set, err := ParseVLANSet(s)
		if err != nil {
			return err
		}
		*v = set
		return nil
	}
	var list []uint16
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("VLAN set: want a string of ranges (\"1-10,20\") or an array of numbers")
	}
	*v = VLANSet(list)
	return nil
}

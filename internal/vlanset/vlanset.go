// Package vlanset is the set of VLAN IDs that the switch's configuration
// (vswitch.VLANSet: a trunk's tagged VLANs) and the control API
// (ctl.VLANSet: the same on the wire) share — one parser, one printer, one
// JSON form, so the two never disagree. It imports nothing of ours.
package vlanset

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Set is a set of VLAN IDs, as a trunk's list of tagged VLANs
// (vswitch.Port.Trunks). In memory it is the plain list of IDs (the compiled tables
// index by ID, and normalization sorts it and removes duplicates); written
// out, as text (String) or JSON, it is kept as ranges, "1-10,20,30-40", so
// "all VLANs" is 6 bytes and not 4,094 numbers. JSON decoding also takes
// the older form, an array of numbers.
type Set []uint16

// Parse parses a list of VLAN IDs and ranges such as "10,20,30-40"
// (spaces around items are ignored, overlaps merge). Every ID must be in
// lo..hi. The result is sorted, without duplicates.
func Parse(s string, lo, hi int) (Set, error) { return parseSet(s, lo, hi) }

// maxSetText bounds the text parseSet reads: the longest useful
// list ("1,3,5,...,4093") is under 10 KB.
const maxSetText = 64 << 10

func parseSet(s string, lo, hi int) (Set, error) {
	if len(s) > maxSetText {
		return nil, fmt.Errorf("VLAN list longer than %d bytes", maxSetText)
	}
	if lo < 0 || hi > 0xFFFF {
		return nil, fmt.Errorf("VLAN range %d-%d outside 0-65535", lo, hi)
	}
	// Ranges are marked in a bitmap first, so that a list that repeats
	// "1-4094" many times costs no more than once, and the result comes
	// out sorted without a sort.
	var in [0x10000 / 64]uint64
	n := 0
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		a, b, isRange := strings.Cut(f, "-")
		first, err1 := strconv.Atoi(strings.TrimSpace(a))
		last, err2 := first, error(nil)
		if isRange {
			last, err2 = strconv.Atoi(strings.TrimSpace(b))
		}
		if err1 != nil || err2 != nil || first < lo || last > hi || first > last {
			return nil, fmt.Errorf("%q is not a VLAN or range within %d-%d", f, lo, hi)
		}
		for v := first; v <= last; v++ {
			if in[v/64]&(1<<(v%64)) == 0 {
				in[v/64] |= 1 << (v % 64)
				n++
			}
		}
	}
	if n == 0 {
		return nil, nil
	}
	out := make(Set, 0, n)
	for v := lo; v <= hi; v++ {
		if in[v/64]&(1<<(v%64)) != 0 {
			out = append(out, uint16(v))
		}
	}
	return out, nil
}

// sortedSet sorts v in place and removes duplicates.
func sortedSet(v Set) Set {
	slices.Sort(v)
	return slices.Compact(v)
}

// String writes the set as ranges, lowest first: "1-10,20,30-40" ("" for an
// empty set). An unsorted set is sorted first (on a copy).
func (v Set) String() string {
	if !slices.IsSorted(v) {
		v = sortedSet(slices.Clone(v))
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

// Contains reports whether the (sorted) set holds id.
func (v Set) Contains(id uint16) bool {
	_, ok := slices.BinarySearch(v, id)
	return ok
}

// MarshalJSON writes the set as a JSON string of ranges (String).
func (v Set) MarshalJSON() ([]byte, error) { return json.Marshal(v.String()) }

// UnmarshalJSON reads a string of ranges or, as older configurations
// stored it, an array of numbers. It checks only that each ID fits in 16
// bits; whether a VLAN is in range is the configuration's validation.
func (v *Set) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		set, err := parseSet(s, 0, 0xFFFF)
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
	*v = Set(list)
	return nil
}

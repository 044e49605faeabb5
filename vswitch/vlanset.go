package vswitch

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// VLANSet is a set of VLAN IDs, as a trunk's list of tagged VLANs
// (Port.Trunks). In memory it is the plain list of IDs (the compiled tables
// index by ID, and normalization sorts it and removes duplicates); written
// out, as text (String) or JSON, it is kept as ranges, "1-10,20,30-40", so
// "all VLANs" is 6 bytes and not 4,094 numbers. JSON decoding also takes
// the older form, an array of numbers.
type VLANSet []uint16

// ParseVLANSet parses a list of VLAN IDs and ranges such as "10,20,30-40"
// (spaces around items are ignored, overlaps merge). Every ID must be in
// 1..MaxVLAN. The result is sorted, without duplicates.
func ParseVLANSet(s string) (VLANSet, error) { return parseVLANSet(s, 1, MaxVLAN) }

// maxVLANSetText bounds the text parseVLANSet reads: the longest useful
// list ("1,3,5,...,4093") is under 10 KB.
const maxVLANSetText = 64 << 10

func parseVLANSet(s string, lo, hi int) (VLANSet, error) {
	if len(s) > maxVLANSetText {
		return nil, fmt.Errorf("VLAN list longer than %d bytes", maxVLANSetText)
	}
	var spans [][2]int // parsed first, expanded once merged
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
		spans = append(spans, [2]int{first, last})
	}
	slices.SortFunc(spans, func(x, y [2]int) int { return x[0] - y[0] })
	var out VLANSet
	next := lo // lowest ID not yet in out
	for _, sp := range spans {
		for v := max(sp[0], next); v <= sp[1]; v++ {
			out = append(out, uint16(v))
		}
		next = max(next, sp[1]+1)
	}
	return out, nil
}

// sortedSet sorts v in place and removes duplicates.
func sortedSet(v VLANSet) VLANSet {
	slices.Sort(v)
	return slices.Compact(v)
}

// String writes the set as ranges, lowest first: "1-10,20,30-40" ("" for an
// empty set). An unsorted set is sorted first (on a copy).
func (v VLANSet) String() string {
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
func (v VLANSet) Contains(id uint16) bool {
	_, ok := slices.BinarySearch(v, id)
	return ok
}

// MarshalJSON writes the set as a JSON string of ranges (String).
func (v VLANSet) MarshalJSON() ([]byte, error) { return json.Marshal(v.String()) }

// UnmarshalJSON reads a string of ranges or, as older configurations
// stored it, an array of numbers. It checks only that each ID fits in 16
// bits; whether a VLAN is in range is the configuration's validation.
func (v *VLANSet) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		set, err := parseVLANSet(s, 0, 0xFFFF)
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

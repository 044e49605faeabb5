package ctl

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// ParseCPUs parses a CPU list ("1", "0,2-3") or a hex mask ("0x6", like
// OVS's pmd-cpu-mask) into sorted, distinct CPU numbers.
func ParseCPUs(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	seen := map[int]bool{}
	if hexs, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		m, err := strconv.ParseUint(hexs, 16, 64)
		if err != nil || m == 0 {
			return nil, fmt.Errorf("cpu mask %q: want a non-zero hex mask", s)
		}
		var out []int
		for m != 0 {
			c := bits.TrailingZeros64(m)
			out = append(out, c)
			m &^= 1 << c
		}
		return out, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(f), "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a || b > 4095 {
			return nil, fmt.Errorf("cpu list %q: %q is not a CPU or range", s, f)
		}
		for c := a; c <= b; c++ {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}

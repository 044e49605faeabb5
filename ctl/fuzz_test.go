package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// FuzzDecodeRequest: any request line decodes or is a bad request, never
// a panic; one that decodes dispatches to a typed answer, and re-encodes
// to a line that decodes the same.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"cmd":"echo","args":["a","b"]}`, `{"v":1,"cmd":"fail"}`, `{"v":2,"cmd":"echo"}`,
		`{"v":1,"cmd":"echo","extra":1}`, `{"v":1,"cmd":"crash"}`, `[1,2]`, `{"v":"1"}`, `{}`, ``, `null`,
		`{"v":1,"cmd":"echo","args":null} trailing`,
	} {
		f.Add([]byte(s))
	}
	reg := testRegistry()
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := DecodeRequest(line)
		if err != nil {
			if err.Code != CodeBadRequest {
				t.Fatalf("decode error %v is not bad-request", err)
			}
			return
		}
		resp := reg.Dispatch(context.Background(), &req)
		if resp.OK == (resp.Error != nil) || resp.V != Version {
			t.Fatalf("response %+v: want ok xor error, version %d", resp, Version)
		}
		b, merr := json.Marshal(req)
		if merr != nil {
			t.Fatal(merr)
		}
		again, err := DecodeRequest(b)
		if err != nil || again.V != req.V || again.Cmd != req.Cmd || !slices.Equal(again.Args, req.Args) {
			t.Fatalf("round trip of %+v: %+v, %v", req, again, err)
		}
	})
}

// FuzzParseCPUs: a CPU list or mask parses to distinct CPUs in 0..4095
// (a list keeps its order), or fails; never panics.
func FuzzParseCPUs(f *testing.F) {
	for _, s := range []string{"1", "0,2-3", "0x6", "0X0", "3-1", "-1", "0-4095", " 1 , 2 ", "0xffffffffffffffff", "1,1,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cpus, err := ParseCPUs(s)
		if err != nil {
			return
		}
		seen := map[int]bool{}
		for _, c := range cpus {
			if c < 0 || c > 4095 || seen[c] {
				t.Fatalf("ParseCPUs(%q) = %v: out of range or repeated", s, cpus)
			}
			seen[c] = true
		}
	})
}

// FuzzVLANSet: a VLAN list parses to a sorted set without duplicates in
// 0..4095 that its String parses back to, and its JSON decodes back to;
// never a panic.
func FuzzVLANSet(f *testing.F) {
	for _, s := range []string{"10,20,30-40", "1-4094", "5-1", "", " , 7 ", "0", "4096", "1-2-3", "-5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vs, err := ParseVLANSet(s)
		if err != nil {
			return
		}
		if !slices.IsSorted(vs) || len(slices.Compact(slices.Clone(vs))) != len(vs) {
			t.Fatalf("ParseVLANSet(%q) = %v: not sorted and distinct", s, vs)
		}
		if len(vs) > 0 && vs[len(vs)-1] > 4095 {
			t.Fatalf("ParseVLANSet(%q) = %v: out of range", s, vs)
		}
		again, err := ParseVLANSet(vs.String())
		if err != nil || !slices.Equal(again, vs) {
			t.Fatalf("String round trip of %q: %v, %v", s, again, err)
		}
		b, _ := json.Marshal(vs)
		var dec VLANSet
		if err := json.Unmarshal(b, &dec); err != nil || !slices.Equal(dec, vs) {
			t.Fatalf("JSON round trip of %q: %v, %v", s, dec, err)
		}
	})
}

// FuzzParseOptions: key=value arguments parse to a map holding each
// argument's last value, or fail as a usage error.
func FuzzParseOptions(f *testing.F) {
	f.Add("a=1", "b=", "a=3")
	f.Add("bare", "=x", "k==v")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		args := []string{a, b, c}
		opts, err := ParseOptions(args)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Code != CodeUsage {
				t.Fatalf("ParseOptions(%q): %v is not a usage error", args, err)
			}
			return
		}
		if len(opts) > 3 {
			t.Fatalf("ParseOptions(%q) = %v: more keys than arguments", args, opts)
		}
		for k := range opts {
			if k == "" {
				t.Fatalf("ParseOptions(%q): empty key", args)
			}
		}
		keys := make([]string, 0, len(opts))
		for k := range opts {
			keys = append(keys, k)
		}
		if err := CheckOptions(opts, keys...); err != nil {
			t.Fatalf("CheckOptions with every key allowed: %v", err)
		}
	})
}

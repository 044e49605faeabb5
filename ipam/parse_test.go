package ipam

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParsePool(t *testing.T) {
	p, err := ParsePool("dual", map[string]string{
		"subnet":  "10.22.0.0/16,fd00:22::/64",
		"range":   "fd00:22::100-fd00:22::1ff,10.22.1.0-10.22.1.255", // matched by subnet, any order
		"gateway": "10.22.0.254",
		"exclude": "10.22.1.10,10.22.1.16/28,fd00:22::150",
		"block":   "24,120",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Pool{Name: "dual", Ranges: []Range{
		{Subnet: mustPrefix("10.22.0.0/16"), Start: mustAddr("10.22.1.0"), End: mustAddr("10.22.1.255"), Gateway: mustAddr("10.22.0.254"),
			Exclude: []netip.Prefix{mustPrefix("10.22.1.10/32"), mustPrefix("10.22.1.16/28")}},
		{Subnet: mustPrefix("fd00:22::/64"), Start: mustAddr("fd00:22::100"), End: mustAddr("fd00:22::1ff"), Gateway: mustAddr("fd00:22::1"),
			Exclude: []netip.Prefix{mustPrefix("fd00:22::150/128")}},
	}, BlockBits: []int{24, 120}}
	if !p.Equal(want) || p.Ranges[0].Gateway != want.Ranges[0].Gateway || len(p.BlockBits) != 2 {
		t.Errorf("got %+v\nwant %+v", p, want)
	}

	p, err = ParsePool("one", map[string]string{"subnet": "192.168.5.0/24"})
	if err != nil || p.Ranges[0].Start != mustAddr("192.168.5.2") || p.BlockBits[0] != 26 {
		t.Errorf("minimal pool: %+v, %v", p, err)
	}
}

func TestParsePoolErrors(t *testing.T) {
	cases := []struct {
		name string
		opts map[string]string
		msg  string
	}{
		{"bad/name", map[string]string{"subnet": "10.0.0.0/24"}, "only letters"},
		{"p", map[string]string{}, "subnet=CIDR[,CIDR] is required"},
		{"p", map[string]string{"subnet": ""}, "is required"},
		{"p", map[string]string{"subnet": "10.0.0.0"}, `subnet "10.0.0.0": not a CIDR`},
		{"p", map[string]string{"subnet": "10.0.0.0/24", "mtu": "1500"}, `unknown key "mtu"`},
		{"p", map[string]string{"subnet": "10.0.0.0/24,10.1.0.0/24,fd00::/64"}, "3 subnets"},
		{"p", map[string]string{"subnet": "10.0.0.0/24,10.1.0.0/24"}, "two IPv4 ranges"},
		{"p", map[string]string{"subnet": "10.62.0.0/32"}, "pool p: range 0: subnet 10.62.0.0/32: too small for a pool"}, // not "gateway 10.62.0.1: not in subnet"
		{"p", map[string]string{"subnet": "10.0.0.0/24", "range": "10.0.0.5"}, "want START-END"},
		{"p", map[string]string{"subnet": "10.0.0.0/24", "range": "10.0.0.5-x"}, "want START-END"},
		{"p", map[string]string{"subnet": "10.0.0.0/24", "range": "10.0.9.5-10.0.9.6"}, "in no subnet"},
		{"p", map[string]string{"subnet": "10.0.0.0/24", "range": "10.0.0.5-10.0.0.6,10.0.0.7-10.0.0.9"}, "two ranges for subnet"},
		{"p", map[string]string{"subnet": "10.0.0.0/24", "range": "10.0.0.50-10.0.0.6"}, "after end"},
		{"p", map[string]string{"subnet": "10.0.0.0/24", "gateway": "10.0.0.1,10.0.0.2"}, "two gateways"},
		{"p", map[string]string{"subnet": "10.0.0.0/24", "gateway": "fd00::1"}, "in no subnet"},
		{"p", map[string]string{"subnet": "10.0.0.0/24", "gateway": "gw"}, "not an address"},
		{"p", map[string]string{"subnet": "10.0.0.0/24", "exclude": "10.0.0.300"}, "not an address or CIDR"},
		{"p", map[string]string{"subnet": "10.0.0.0/24", "exclude": "10.0.0.1,"}, "not an address or CIDR"},
		{"p", map[string]string{"subnet": "10.0.0.0/24", "block": "x"}, "not a prefix length"},
		{"p", map[string]string{"subnet": "10.0.0.0/24", "block": "16"}, "want 24 to 32"},
		{"p", map[string]string{"subnet": "10.0.0.0/24,fd00::/64", "block": "26"}, "one prefix length per subnet"},
	}
	for _, c := range cases {
		_, err := ParsePool(c.name, c.opts)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: got %v, want ErrInvalid", c.opts, err)
			continue
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: error %q does not say %q", c.opts, err, c.msg)
		}
	}
}

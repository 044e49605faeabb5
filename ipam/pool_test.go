package ipam

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func mustAddr(s string) netip.Addr     { return netip.MustParseAddr(s) }

func TestValidateDefaults(t *testing.T) {
	p := Pool{Name: "podnet", Ranges: []Range{
		{Subnet: mustPrefix("10.22.0.0/16")},
		{Subnet: mustPrefix("fd00:22::/64")},
	}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	r4, r6 := p.Ranges[0], p.Ranges[1]
	for _, c := range []struct{ got, want string }{
		{r4.Gateway.String(), "10.22.0.1"},
		{r4.Start.String(), "10.22.0.2"},
		{r4.End.String(), "10.22.255.254"},
		{r6.Gateway.String(), "fd00:22::1"},
		{r6.Start.String(), "fd00:22::2"},
		{r6.End.String(), "fd00:22::ffff:ffff:ffff:ffff"},
	} {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
	if p.BlockBits[0] != 26 || p.BlockBits[1] != 122 {
		t.Errorf("block bits %v, want [26 122]", p.BlockBits)
	}
	// Validate is idempotent.
	q := p.clone()
	if err := q.Validate(); err != nil || !q.Equal(p) {
		t.Errorf("second Validate: %v, %+v", err, q)
	}

	// A gateway elsewhere leaves network+1 allocatable; a small subnet's
	// blocks are the subnet.
	p = Pool{Name: "x", Ranges: []Range{{Subnet: mustPrefix("10.1.0.0/28"), Gateway: mustAddr("10.1.0.14")}}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Ranges[0].Start != mustAddr("10.1.0.1") || p.Ranges[0].End != mustAddr("10.1.0.14") || p.BlockBits[0] != 28 {
		t.Errorf("got %+v %v", p.Ranges[0], p.BlockBits)
	}
}

// TestValidateSmallest: a /30 and a /126 are the smallest subnets a pool
// takes, with one address to hand out.
func TestValidateSmallest(t *testing.T) {
	for _, c := range []struct{ subnet, addr string }{{"10.0.0.0/30", "10.0.0.2"}, {"fd00::/126", "fd00::2"}} {
		p := Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix(c.subnet)}}}
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", c.subnet, err)
		}
		if r := p.Ranges[0]; r.Start != mustAddr(c.addr) {
			t.Errorf("%s: range %s-%s, want it to start at %s", c.subnet, r.Start, r.End, c.addr)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	r := func(s string) Range { return Range{Subnet: mustPrefix(s)} }
	cases := []struct {
		name string
		p    Pool
		msg  string
	}{
		{"empty name", Pool{Ranges: []Range{r("10.0.0.0/24")}}, "want 1 to 64"},
		{"long name", Pool{Name: strings.Repeat("a", 65), Ranges: []Range{r("10.0.0.0/24")}}, "want 1 to 64"},
		{"dot name", Pool{Name: ".hidden", Ranges: []Range{r("10.0.0.0/24")}}, "start with '.'"},
		{"slash name", Pool{Name: "a/b", Ranges: []Range{r("10.0.0.0/24")}}, "only letters"},
		{"no range", Pool{Name: "p"}, "no range"},
		{"no subnet", Pool{Name: "p", Ranges: []Range{{}}}, "subnet: missing"},
		{"host bits", Pool{Name: "p", Ranges: []Range{r("10.0.0.1/24")}}, "host bits set (did you mean 10.0.0.0/24"},
		{"mapped", Pool{Name: "p", Ranges: []Range{r("::ffff:10.0.0.0/120")}}, "IPv4-mapped"},
		{"start after end", Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix("10.0.0.0/24"), Start: mustAddr("10.0.0.9"), End: mustAddr("10.0.0.5")}}}, "start 10.0.0.9 is after end 10.0.0.5"},
		{"start outside", Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix("10.0.0.0/24"), Start: mustAddr("10.0.1.9")}}}, "start 10.0.1.9: not in subnet"},
		{"end broadcast", Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix("10.0.0.0/24"), End: mustAddr("10.0.0.255")}}}, "end 10.0.0.255: the subnet's broadcast"},
		{"start network", Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix("10.0.0.0/24"), Start: mustAddr("10.0.0.0")}}}, "network address"},
		{"gateway outside", Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix("10.0.0.0/24"), Gateway: mustAddr("10.0.5.1")}}}, "gateway 10.0.5.1: not in subnet"},
		{"gateway family", Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix("10.0.0.0/24"), Gateway: mustAddr("fd00::1")}}}, "gateway fd00::1: not in subnet"},
		{"zone", Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix("fe80::/64"), Gateway: mustAddr("fe80::1%eth0")}}}, "zone"},
		{"two IPv4", Pool{Name: "p", Ranges: []Range{r("10.0.0.0/24"), r("10.1.0.0/24")}}, "two IPv4 ranges"},
		{"three", Pool{Name: "p", Ranges: []Range{r("10.0.0.0/24"), r("fd00::/64"), r("10.1.0.0/24")}}, "3 ranges"},
		{"tiny", Pool{Name: "p", Ranges: []Range{r("10.0.0.0/31")}}, "subnet 10.0.0.0/31: too small for a pool"},
		{"host route", Pool{Name: "p", Ranges: []Range{r("10.62.0.0/32")}}, "subnet 10.62.0.0/32: too small for a pool, which needs a network address, a gateway, an address to hand out and a broadcast address: give a /30 or a shorter prefix"},
		{"tiny IPv6", Pool{Name: "p", Ranges: []Range{r("fd00::/128")}}, "subnet fd00::/128: too small for a pool, which needs a network address, a gateway and an address to hand out: give a /126"},
		{"tiny with a gateway", Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix("10.0.0.0/31"), Gateway: mustAddr("10.0.0.1")}}}, "too small"},
		{"exclude outside", Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix("10.0.0.0/24"), Exclude: []netip.Prefix{mustPrefix("10.0.1.0/28")}}}}, "exclude 10.0.1.0/28: not in subnet"},
		{"exclude wider", Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix("10.0.0.0/24"), Exclude: []netip.Prefix{mustPrefix("10.0.0.0/16")}}}}, "not in subnet"},
		{"exclude host bits", Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix("10.0.0.0/24"), Exclude: []netip.Prefix{mustPrefix("10.0.0.5/28")}}}}, "did you mean 10.0.0.0/28"},
		{"block too short", Pool{Name: "p", Ranges: []Range{r("10.0.0.0/16")}, BlockBits: []int{8}}, "block_bits 8 of range 10.0.0.0/16: want 16 to 32"},
		{"block too long", Pool{Name: "p", Ranges: []Range{r("fd00::/64")}, BlockBits: []int{129}}, "want 64 to 128"},
		{"block count", Pool{Name: "p", Ranges: []Range{r("10.0.0.0/16")}, BlockBits: []int{26, 26}}, "one per range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Validate()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not say %q", err, c.msg)
			}
		})
	}
}

func TestEqualAndJSON(t *testing.T) {
	a := Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix("10.0.0.0/24"), Exclude: []netip.Prefix{mustPrefix("10.0.0.9/32"), mustPrefix("10.0.0.4/32")}}}}
	b := Pool{Name: "p", Ranges: []Range{{Subnet: mustPrefix("10.0.0.0/24"), Gateway: mustAddr("10.0.0.1"), Start: mustAddr("10.0.0.2"),
		Exclude: []netip.Prefix{mustPrefix("10.0.0.4/32"), mustPrefix("10.0.0.9/32")}}}, BlockBits: []int{26}}
	if !a.Equal(b) || !b.Equal(a) {
		t.Error("pools equal after defaults compare unequal")
	}
	if a.Ranges[0].Start.IsValid() {
		t.Error("Equal changed its receiver")
	}
	c := b.clone()
	c.Ranges[0].End = mustAddr("10.0.0.100")
	if a.Equal(c) {
		t.Error("pools with other ends compare equal")
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var back Pool
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(b) {
		t.Errorf("JSON round trip: %s -> %+v", js, back)
	}
	if want := `{"name":"p","ranges":[{"subnet":"10.0.0.0/24","start":"10.0.0.2","end":"10.0.0.254","gateway":"10.0.0.1","exclude":["10.0.0.4/32","10.0.0.9/32"]}],"block_bits":[26]}`; string(js) != want {
		t.Errorf("JSON\n got %s\nwant %s", js, want)
	}
}

func TestBlockOf(t *testing.T) {
	p, err := ParsePool("p", map[string]string{"subnet": "10.22.0.0/16,fd00:22::/64"})
	if err != nil {
		t.Fatal(err)
	}
	if b := p.BlockOf(0, mustAddr("10.22.0.77")); b != mustPrefix("10.22.0.64/26") {
		t.Errorf("BlockOf v4 = %s", b)
	}
	if b := p.BlockOf(1, mustAddr("fd00:22::1:85")); b != mustPrefix("fd00:22::1:80/122") {
		t.Errorf("BlockOf v6 = %s", b)
	}
}

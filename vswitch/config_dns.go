package vswitch

import "fmt"

// DNS says which router interfaces answer DNS queries (UDP port 53, at
// any of the switch's addresses, IPv4 and IPv6) for the network behind
// them: the switch punts them out of the pipeline to the DNSHandler set
// with Switch.SetDNSHandler (dnspunt.go), naming the network by the
// interface's name, and routes the handler's answers back.
type DNS struct {
	Interfaces []string `json:"interfaces,omitempty"`
}

// normalizeDNS checks that every named interface exists and returns the
// normalized copy (nil: no DNS) and the interface IDs.
func (c *Config) normalizeDNS(l3 *l3Config) (*DNS, map[uint16]bool, error) {
	if c.DNS == nil || len(c.DNS.Interfaces) == 0 {
		return nil, nil, nil
	}
	out := &DNS{}
	ids := map[uint16]bool{}
	for i, name := range c.DNS.Interfaces {
		id, ok := l3.ifID[name]
		if !ok {
			return nil, nil, cfgErr(fmt.Sprintf("dns.interfaces[%d]", i), "no router interface %q", name)
		}
		if !ids[id] {
			ids[id] = true
			out.Interfaces = append(out.Interfaces, name)
		}
	}
	return out, ids, nil
}

package acl

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

// byteReader hands out the fuzzer's bytes, zeros once they run out.
type byteReader struct{ b []byte }

func (r *byteReader) next() byte {
	if len(r.b) == 0 {
		return 0
	}
	x := r.b[0]
	r.b = r.b[1:]
	return x
}

func (r *byteReader) u16() uint16 { return uint16(r.next())<<8 | uint16(r.next()) }

var fuzzPorts = []uint16{0, 1, 22, 80, 81, 443, 1024, 65535}

// fuzzModel decodes a small model from r, invalid values included: names
// may repeat or be empty, directions, actions and families may be out of
// range, prefixes may have host bits, remote groups may not exist.
func fuzzModel(r *byteReader) *Model {
	m := &Model{}
	for range 1 + r.next()%4 {
		g := Group{Name: fmt.Sprintf("g%d", len(m.Groups))}
		if x := r.next(); x%16 == 15 {
			g.Name = []string{"", "g0"}[x>>4&1]
		}
		for range r.next() % 3 {
			g.Ports = append(g.Ports, uint16(r.next()%8))
		}
		for range r.next() % 4 {
			switch x := r.next(); {
			case x == 255:
				g.Addrs = append(g.Addrs, netip.Addr{})
			case x&1 == 0:
				g.Addrs = append(g.Addrs, netip.AddrFrom4([4]byte{10, 0, 0, x}))
			default:
				g.Addrs = append(g.Addrs, netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 15: x}))
			}
		}
		for range r.next() % 8 {
			x := r.next()
			ru := Rule{Name: fmt.Sprintf("r%d", len(g.Rules)), Direction: Direction(x & 1),
				Action: Action(x >> 1 & 1), Priority: int32(x>>2&3) - 1,
				Proto: []uint8{0, 1, 6, 17, 58, 132, 47, 0}[x>>4&7]}
			if x>>7 == 1 { // something invalid, or a family
				switch y := r.next(); y % 8 {
				case 0:
					ru.Name = ""
				case 1:
					ru.Name = "r0"
				case 2:
					ru.Direction = 2
				case 3:
					ru.Action = 2
				case 4:
					ru.Family = 5
				default:
					ru.Family = []uint8{4, 6}[y>>3&1]
				}
			}
			if x := r.next(); x%4 == 1 {
				ru.Ports = PortRange{fuzzPorts[x>>2&7], fuzzPorts[x>>5]}
			} else if x%4 == 2 {
				ru.SrcPorts = Port(fuzzPorts[x>>2&7])
			} else if x%4 == 3 {
				ru.ICMP = &ICMPMatch{Type: x >> 2 & 7, Code: x >> 5 & 1, AnyCode: x>>6 == 0}
			}
			switch x := r.next(); x % 5 {
			case 1:
				ru.Remote = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, r.next()}), int(x>>3)%33)
			case 2:
				ru.Remote = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 15: r.next()}), int(r.next())%129)
			case 3:
				ru.RemoteGroup = fmt.Sprintf("g%d", x>>3%6)
			case 4:
				ru.Remote = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, r.next()}), 24+int(x>>3)%9).Masked()
			}
			g.Rules = append(g.Rules, ru)
		}
		m.Groups = append(m.Groups, g)
	}
	return m
}

var sentinels = []error{ErrEmptyName, ErrDuplicateGroup, ErrDuplicateRule, ErrBadCIDR, ErrBadAddress,
	ErrPortRange, ErrPortsNeedProto, ErrICMPNeedsProto, ErrRemoteConflict, ErrUnknownGroup, ErrFamily,
	ErrBadDirection, ErrBadAction}

// FuzzCompile decodes a model and packets from the input. Compile must
// agree with Validate, refuse with a *RuleError wrapping one of the
// package's errors, and, when it accepts, answer every packet as the
// reference model does.
func FuzzCompile(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 0, 2, 1, 0, 0, 0, 2, 0, 0, 5, 0})
	f.Add([]byte{3, 1, 2, 3, 4, 3, 0, 1, 2, 3, 7, 3, 2, 1, 1, 2, 3, 4, 1, 1, 2, 0, 0, 0, 8, 2, 3, 4})
	f.Add([]byte("\x02\x00\x02\x01\x02\x03\x00\x01\x02\x05\x01\x00\x00\x02\x00\x09\x04\x07\x01\x01\x01\x01\x00\x01\x00\x00\x00\x00\x08"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &byteReader{b}
		m := fuzzModel(r)
		verr := m.Validate()
		c, err := Compile(m)
		if (verr == nil) != (err == nil) {
			t.Fatalf("Validate: %v, Compile: %v", verr, err)
		}
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("not a *RuleError: %v", err)
			}
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("no sentinel error: %v", err)
		}
		f := ref{m}
		for len(r.b) > 0 {
			k := Key{IPv6: r.next()&1 == 1, Proto: []uint8{0, 1, 6, 17, 58, 132, 47, 99}[r.next()%8]}
			if k.IPv6 {
				k.Src = [16]byte{0x20, 1, 0xd, 0xb8, 15: r.next()}
				k.Dst = [16]byte{0x20, 1, 0xd, 0xb8, 15: r.next()}
			} else {
				k.Src = [16]byte{10, 0, 0, r.next()}
				k.Dst = [16]byte{10, 0, 0, r.next()}
			}
			k.SrcPort, k.DstPort = r.u16(), fuzzPorts[r.next()%8]
			dir, port := Direction(r.next()&1), uint16(r.next()%9)
			want := f.lookup(dir, port, &k)
			if got, bad := classify(c, dir, port, &k); bad != "" || got != want {
				t.Fatalf("%v port %d %+v: got %+v (%s), want %+v", dir, port, k, got, bad, want)
			}
		}
	})
}

package dns

import (
	"net/netip"
	"strings"
)

// reverseAddr parses a lower-case reverse name ("4.3.2.1.in-addr.arpa."
// or 32 nibbles + ".ip6.arpa.") into the address it names. Partial
// names (a reverse zone, not an address) are not addresses.
func reverseAddr(name string) (netip.Addr, bool) {
	if s, ok := strings.CutSuffix(name, ".in-addr.arpa."); ok {
		var b [4]byte
		for i := 3; i >= 0; i-- {
			var l string
			if i > 0 {
				var found bool
				if l, s, found = strings.Cut(s, "."); !found {
					return netip.Addr{}, false
				}
			} else {
				l = s
			}
			v, ok := decOctet(l)
			if !ok {
				return netip.Addr{}, false
			}
			b[i] = v
		}
		return netip.AddrFrom4(b), true
	}
	if s, ok := strings.CutSuffix(name, ".ip6.arpa."); ok {
		if len(s) != 63 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i := 0; i < 32; i++ {
			c := s[2*i]
			if i < 31 && s[2*i+1] != '.' {
				return netip.Addr{}, false
			}
			var v byte
			switch {
			case c >= '0' && c <= '9':
				v = c - '0'
			case c >= 'a' && c <= 'f':
				v = c - 'a' + 10
			default:
				return netip.Addr{}, false
			}
			// The first nibble in the name is the last of the address.
			j := 31 - i
			if j%2 == 0 {
				b[j/2] |= v << 4
			} else {
				b[j/2] |= v
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}

// decOctet parses "0".."255" without leading zeros.
func decOctet(s string) (byte, bool) {
	if len(s) == 0 || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	if v > 255 {
		return 0, false
	}
	return byte(v), true
}

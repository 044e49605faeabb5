package etcd

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// MaxVNI is the largest VXLAN network identifier (24 bits).
const MaxVNI = 1<<24 - 1

// Key kinds below <prefix>vni/<vni>/.
const (
	kindMembers = "members"
	kindMACs    = "macs"
)

// keyKind tells what a key under the prefix names.
type keyKind uint8

const (
	keyOther  keyKind = iota // not under <prefix>vni/: someone else's data, ignored silently
	keyMember                // <prefix>vni/<vni>/members/<vtep>
	keyMAC                   // <prefix>vni/<vni>/macs/<mac>
)

// parsedKey is a key under the prefix, split into its parts.
type parsedKey struct {
	kind keyKind
	vni  uint32
	vtep netip.Addr // keyMember
	mac  [6]byte    // keyMAC
}

var errMalformedKey = errors.New("malformed key")

// memberKey returns <prefix>vni/<vni>/members/<vtep>.
func memberKey(prefix string, vni uint32, vtep netip.Addr) string {
	return prefix + "vni/" + strconv.FormatUint(uint64(vni), 10) + "/" + kindMembers + "/" + vtep.String()
}

// macKey returns <prefix>vni/<vni>/macs/<mac>.
func macKey(prefix string, vni uint32, mac [6]byte) string {
	return prefix + "vni/" + strconv.FormatUint(uint64(vni), 10) + "/" + kindMACs + "/" + formatMAC(mac)
}

// vniPrefix returns <prefix>vni/<vni>/, the range holding one VNI's keys.
func vniPrefix(prefix string, vni uint32) string {
	return prefix + "vni/" + strconv.FormatUint(uint64(vni), 10) + "/"
}

// formatMAC writes a MAC in the canonical key form: lower-case hex pairs
// separated by colons.
func formatMAC(mac [6]byte) string {
	return net.HardwareAddr(mac[:]).String()
}

// parseKey splits a key under prefix. Keys outside <prefix>vni/ return
// keyOther and no error; keys inside it must be in canonical form (decimal
// VNI without leading zeros, canonical address, lower-case colon MAC), so that
// one entry has exactly one key.
func parseKey(prefix, key string) (parsedKey, error) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return parsedKey{}, nil
	}
	rest, ok = strings.CutPrefix(rest, "vni/")
	if !ok {
		return parsedKey{}, nil
	}
	vniStr, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return parsedKey{}, fmt.Errorf("%w %q: no kind", errMalformedKey, key)
	}
	vni, err := parseVNI(vniStr)
	if err != nil {
		return parsedKey{}, fmt.Errorf("%w %q: %w", errMalformedKey, key, err)
	}
	kind, id, ok := strings.Cut(rest, "/")
	if !ok {
		return parsedKey{}, fmt.Errorf("%w %q: no id", errMalformedKey, key)
	}
	switch kind {
	case kindMembers:
		vtep, err := parseVTEP(id)
		if err != nil {
			return parsedKey{}, fmt.Errorf("%w %q: %w", errMalformedKey, key, err)
		}
		return parsedKey{kind: keyMember, vni: vni, vtep: vtep}, nil
	case kindMACs:
		hw, err := net.ParseMAC(id)
		if err != nil || len(hw) != 6 {
			return parsedKey{}, fmt.Errorf("%w %q: bad MAC", errMalformedKey, key)
		}
		var mac [6]byte
		copy(mac[:], hw)
		if formatMAC(mac) != id {
			return parsedKey{}, fmt.Errorf("%w %q: MAC not in canonical form", errMalformedKey, key)
		}
		return parsedKey{kind: keyMAC, vni: vni, mac: mac}, nil
	default:
		return parsedKey{}, fmt.Errorf("%w %q: unknown kind %q", errMalformedKey, key, kind)
	}
}

func parseVNI(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v > MaxVNI || strconv.FormatUint(v, 10) != s {
		return 0, fmt.Errorf("bad VNI %q", s)
	}
	return uint32(v), nil
}

func parseVTEP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4In6() || a.String() != s {
		return netip.Addr{}, fmt.Errorf("bad VTEP %q", s)
	}
	return a, nil
}

// record is the JSON value of a MAC key, and of a member key (there only
// VTEP and Updated are set and nothing is read back: the key says it all).
type record struct {
	VTEP    string    `json:"vtep"`
	IP      string    `json:"ip,omitempty"`
	Updated time.Time `json:"updated"`
}

func encodeRecord(vtep, ip netip.Addr, now time.Time) []byte {
	r := record{VTEP: vtep.String(), Updated: now.UTC()}
	if ip.IsValid() {
		r.IP = ip.String()
	}
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // strings and a time: cannot fail
	}
	return b
}

// decodeEndpoint parses a MAC key's value into the endpoint it names.
func decodeEndpoint(k parsedKey, val []byte) (Endpoint, error) {
	var r record
	if err := json.Unmarshal(val, &r); err != nil {
		return Endpoint{}, fmt.Errorf("bad value: %w", err)
	}
	vtep, err := netip.ParseAddr(r.VTEP)
	if err != nil || vtep.Zone() != "" {
		return Endpoint{}, fmt.Errorf("bad vtep %q in value", r.VTEP)
	}
	e := Endpoint{VNI: k.vni, MAC: k.mac, VTEP: vtep.Unmap()}
	if r.IP != "" {
		ip, err := netip.ParseAddr(r.IP)
		if err != nil {
			return Endpoint{}, fmt.Errorf("bad ip %q in value", r.IP)
		}
		e.IP = ip
	}
	return e, nil
}

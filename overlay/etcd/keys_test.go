package etcd

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

const tp = "/pfx/"

func TestParseKey(t *testing.T) {
	for _, c := range []struct {
		key  string
		want parsedKey
		bad  bool
	}{
		{key: tp + "vni/100/members/192.0.2.1", want: parsedKey{kind: keyMember, vni: 100, vtep: netip.MustParseAddr("192.0.2.1")}},
		{key: tp + "vni/0/members/2001:db8::1", want: parsedKey{kind: keyMember, vni: 0, vtep: netip.MustParseAddr("2001:db8::1")}},
		{key: tp + "vni/16777215/macs/02:00:00:00:00:0a", want: parsedKey{kind: keyMAC, vni: MaxVNI, mac: mac(10)}},
		{key: tp + "pools/x", want: parsedKey{kind: keyOther}},
		{key: "/other/vni/1/macs/02:00:00:00:00:0a", want: parsedKey{kind: keyOther}},
		{key: tp + "vni/16777216/members/192.0.2.1", bad: true},
		{key: tp + "vni/007/members/192.0.2.1", bad: true},
		{key: tp + "vni/-1/members/192.0.2.1", bad: true},
		{key: tp + "vni/x/members/192.0.2.1", bad: true},
		{key: tp + "vni/1/members/2001:DB8::1", bad: true},
		{key: tp + "vni/1/members/fe80::1%eth0", bad: true},
		{key: tp + "vni/1/members/::ffff:192.0.2.1", bad: true},
		{key: tp + "vni/1/members/", bad: true},
		{key: tp + "vni/1/macs/02:00:00:00:00:0A", bad: true},
		{key: tp + "vni/1/macs/02-00-00-00-00-0a", bad: true},
		{key: tp + "vni/1/macs/02:00:00:00:00:00:00:0a", bad: true},
		{key: tp + "vni/1/macs", bad: true},
		{key: tp + "vni/1/other/x", bad: true},
		{key: tp + "vni/1", bad: true},
		{key: tp + "vni/", bad: true},
	} {
		got, err := parseKey(tp, c.key)
		if c.bad {
			if !errors.Is(err, errMalformedKey) {
				t.Errorf("parseKey(%q) = %+v, %v; want malformed", c.key, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseKey(%q) = %+v, %v; want %+v", c.key, got, err, c.want)
		}
	}
}

func TestKeysRoundTrip(t *testing.T) {
	vtep := netip.MustParseAddr("2001:db8::7")
	if k, err := parseKey(tp, memberKey(tp, 42, vtep)); err != nil || k != (parsedKey{kind: keyMember, vni: 42, vtep: vtep}) {
		t.Errorf("member key round trip: %+v %v", k, err)
	}
	m := [6]byte{0xde, 0xad, 0xbe, 0xef, 0, 1}
	k, err := parseKey(tp, macKey(tp, 42, m))
	if err != nil || k != (parsedKey{kind: keyMAC, vni: 42, mac: m}) {
		t.Fatalf("mac key round trip: %+v %v", k, err)
	}
	ip := netip.MustParseAddr("10.0.0.1")
	e, err := decodeEndpoint(k, encodeRecord(vtep, ip, time.Now()))
	if err != nil || e != (Endpoint{VNI: 42, MAC: m, IP: ip, VTEP: vtep}) {
		t.Errorf("record round trip: %+v %v", e, err)
	}
	e, err = decodeEndpoint(k, encodeRecord(vtep, netip.Addr{}, time.Now()))
	if err != nil || e.IP.IsValid() {
		t.Errorf("record without IP: %+v %v", e, err)
	}
}

// FuzzParseKey checks that parsing never panics and that every accepted
// key is the one its parts format to (one entry, one key).
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{
		tp + "vni/100/members/192.0.2.1",
		tp + "vni/1/macs/02:00:00:00:00:0a",
		tp + "vni/1/members/2001:db8::1",
		tp + "pools/x",
		tp + "vni/1/x/y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		k, err := parseKey(tp, key)
		if err != nil {
			return
		}
		var again string
		switch k.kind {
		case keyMember:
			again = memberKey(tp, k.vni, k.vtep)
		case keyMAC:
			again = macKey(tp, k.vni, k.mac)
		default:
			return
		}
		if again != key {
			t.Fatalf("parseKey(%q) = %+v, which formats to %q", key, k, again)
		}
		if k.vni > MaxVNI {
			t.Fatalf("parseKey(%q): VNI %d out of range", key, k.vni)
		}
	})
}

// FuzzDecodeEndpoint checks that any value either fails or yields an
// endpoint with a valid VTEP.
func FuzzDecodeEndpoint(f *testing.F) {
	f.Add([]byte(`{"vtep":"192.0.2.1","ip":"10.0.0.1","updated":"2024-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"vtep":"::ffff:192.0.2.1"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, val []byte) {
		e, err := decodeEndpoint(parsedKey{kind: keyMAC, vni: 1, mac: mac(1)}, val)
		if err != nil {
			return
		}
		if !e.VTEP.IsValid() || e.VTEP.Is4In6() || e.VNI != 1 || e.MAC != mac(1) {
			t.Fatalf("decodeEndpoint(%q) = %+v", val, e)
		}
	})
}

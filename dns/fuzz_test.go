package dns

import (
	"net/netip"
	"testing"

	mdns "github.com/miekg/dns"
)

// FuzzAnswer feeds arbitrary bytes to Answer as a query, with an out
// buffer of arbitrary size over either transport. It must never panic,
// never write past len(out), count exactly one reason (none for a query
// it hands to the forwarder), and send only a well-formed response with
// the query's ID and the rcode its reason names.
func FuzzAnswer(f *testing.F) {
	seed := func(name string, qtype uint16, edit func(*mdns.Msg)) {
		m := new(mdns.Msg)
		m.SetQuestion(name, qtype)
		if edit != nil {
			edit(m)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(512), false)
		f.Add(b, uint16(64), true)
	}
	seed("web.net1.vecswitch.", mdns.TypeA, nil)
	seed("web.", mdns.TypeAAAA, nil)
	seed("big.", mdns.TypeA, func(m *mdns.Msg) { m.SetEdns0(4096, true) })
	seed("2.0.1.10.in-addr.arpa.", mdns.TypePTR, nil)
	seed("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa.", mdns.TypePTR, nil)
	seed("nope.net1.vecswitch.", mdns.TypeA, nil)
	seed("example.com.", mdns.TypeA, nil)
	seed("web.", mdns.TypeA, func(m *mdns.Msg) { m.Question[0].Qclass = mdns.ClassCHAOS })
	seed("web.", mdns.TypeA, func(m *mdns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(3) })
	seed("web.", mdns.TypeA, func(m *mdns.Msg) { m.Opcode = mdns.OpcodeStatus })
	f.Add([]byte{}, uint16(512), false)
	f.Add(make([]byte, 12), uint16(11), false)
	f.Add([]byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01"), uint16(512), false) // pointer loop

	reg := NewRegistry()
	big := make([]netip.Addr, 200)
	for i := range big {
		big[i] = netip.AddrFrom4([4]byte{10, 4, byte(i >> 8), byte(i)})
	}
	if err := reg.SetNetwork("net1", Network{
		Upstreams: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:53")},
		Endpoints: map[string][]netip.Addr{"web": {webV4, webV6}, "db": {dbV4}},
		Services:  map[string][]netip.Addr{"big": big},
	}); err != nil {
		f.Fatal(err)
	}
	r := New(reg, Config{})
	f.Cleanup(r.Close)

	f.Fuzz(func(t *testing.T, q []byte, outLen uint16, tcp bool) {
		tr := UDP
		if tcp {
			tr = TCP
		}
		// Guard bytes after out catch writes past its end.
		buf := make([]byte, int(outLen)+16)
		for i := range buf {
			buf[i] = 0xa5
		}
		out := buf[:outLen:outLen]
		var before [NumReasons]uint64
		for i := range NumReasons {
			before[i] = r.Count(i)
		}
		n, reason := r.Answer("net1", q, out, tr)
		for i := int(outLen); i < len(buf); i++ {
			if buf[i] != 0xa5 {
				t.Fatalf("wrote past out (len %d) at %d", outLen, i)
			}
		}
		if n < 0 || n > len(out) {
			t.Fatalf("n = %d, len(out) = %d", n, len(out))
		}
		counted := 0
		for i := range NumReasons {
			if d := r.Count(i) - before[i]; d != 0 {
				if d != 1 || i != reason {
					t.Fatalf("reason %v but counter %v moved by %d", reason, i, d)
				}
				counted++
			}
		}
		switch reason {
		case Forwarded:
			if n != 0 || counted != 0 {
				t.Fatalf("forward: n = %d, counted %d", n, counted)
			}
			return
		case Dropped:
			if n != 0 {
				t.Fatalf("dropped but n = %d", n)
			}
		}
		if counted != 1 {
			t.Fatalf("reason %v counted %d times", reason, counted)
		}
		if reason == Dropped {
			return
		}
		if tr == UDP && n > 1232 {
			t.Fatalf("UDP response of %d bytes", n)
		}
		m := new(mdns.Msg)
		if err := m.Unpack(out[:n]); err != nil {
			t.Fatalf("reply does not parse: %v (%x)", err, out[:n])
		}
		if !m.Response || m.Id != uint16(q[0])<<8|uint16(q[1]) {
			t.Fatalf("reply header %v", m.MsgHdr)
		}
		want := map[Reason][]int{
			Answered:       {mdns.RcodeSuccess},
			NoData:         {mdns.RcodeSuccess},
			NXDomain:       {mdns.RcodeNameError},
			Refused:        {mdns.RcodeRefused},
			NotImplemented: {mdns.RcodeNotImplemented},
			Malformed:      {mdns.RcodeFormatError, mdns.RcodeBadVers},
		}[reason]
		ok := false
		for _, rc := range want {
			// A header-only truncated reply has no OPT to carry BADVERS's
			// upper bits.
			ok = ok || m.Rcode == rc || (m.Truncated && m.Rcode == rc&0xf)
		}
		if !ok {
			t.Fatalf("reason %v with rcode %d", reason, m.Rcode)
		}
	})
}

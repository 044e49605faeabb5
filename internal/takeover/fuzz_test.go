//go:build unix

package takeover

import (
	"errors"
	"testing"
)

// FuzzParseHeader: a header that parses re-encodes to the same bytes and
// keeps every limit; one that does not is a ProtocolError.
func FuzzParseHeader(f *testing.F) {
	for _, h := range []Header{{Version: Version, Type: TypeHello, Len: 20}, {Version: 9, Type: TypeFiles, Files: 3}, {Type: TypeRefuse, Len: 5}} {
		b := h.Marshal()
		f.Add(b[:])
	}
	f.Add([]byte("VSTK"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if h.Len > MaxPayload || h.Files > MaxFiles || h.Files > 0 && h.Type != TypeFiles || !h.Type.known() {
			t.Fatalf("accepted %+v", h)
		}
		if m := h.Marshal(); string(m[:]) != string(b[:HeaderLen]) {
			t.Fatalf("re-encodes to %x, was %x", m, b[:HeaderLen])
		}
	})
}

// FuzzRecv: any byte stream on the socket yields a message or a typed
// error, never a panic.
func FuzzRecv(f *testing.F) {
	h := Header{Version: Version, Type: TypeState, Len: 3}
	b := h.Marshal()
	f.Add(append(b[:], "abc"...))
	f.Add([]byte("VSTK\x00\x01\xff\x00\x00\x00\x00\x02hi"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, c := socketpair(t)
		done := make(chan struct{})
		defer func() { a.Close(); <-done }()
		go func() {
			defer close(done)
			a.c.Write(raw)
			a.c.CloseWrite()
		}()
		for {
			_, _, _, err := c.recv()
			if err == nil {
				continue
			}
			var pe *ProtocolError
			var ve *VersionError
			var re *RefusedError
			if !errors.As(err, &pe) && !errors.As(err, &ve) && !errors.As(err, &re) && !errors.Is(err, ErrPeerGone) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
	})
}

package vswitch

import (
	"errors"
	"testing"
)

// FuzzSGRule: any text rule is accepted or refused with an *SGError
// (never a panic), and an accepted one compiles into a classifier.
func FuzzSGRule(f *testing.F) {
	f.Add("http", "ingress", "tcp", "80", "10.0.0.0/24", "", int32(0), "allow", "10.0.0.1")
	f.Add("x", "egress", "icmpv6", "", "fd00::/8", "", int32(-5), "deny", "fd00::1")
	f.Add("r", "ingress", "udp", "1-65535", "", "g", int32(1), "allow", "")
	f.Add("", "sideways", "tcpx", "90-80", "10.0.0.1/8", "nope", int32(0), "maybe", "10.0.0.0/8")
	f.Fuzz(func(t *testing.T, name, dir, proto, ports, remote, group string, prio int32, action, addr string) {
		g := SecurityGroup{Name: "g", Ports: []string{"p"}, Rules: []SGRule{{Name: name, Direction: dir, Proto: proto,
			Ports: ports, Remote: remote, RemoteGroup: group, Priority: prio, Action: action}}}
		if addr != "" {
			g.Addrs = []string{addr}
		}
		out, err := normalizeSG([]SecurityGroup{g})
		if err != nil {
			var se *SGError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v is not an *SGError wrapping ErrInvalidConfig", err)
			}
			return
		}
		s := &Switch{opts: Options{ConntrackCapacity: 64}}
		if _, _, err := s.compileSG(&Config{SecurityGroups: out}, map[string]attachedPort{"p": {idx: 1}}); err != nil {
			t.Fatalf("accepted rule does not compile: %v", err)
		}
	})
}

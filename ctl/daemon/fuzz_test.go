package daemon

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/vswitch"
)

// typedErr fails the test unless err is a *ctl.Error of one of codes.
func typedErr(t *testing.T, what string, err error, codes ...ctl.Code) {
	t.Helper()
	var ce *ctl.Error
	if !errors.As(err, &ce) || !slices.Contains(codes, ce.Code) {
		t.Fatalf("%s: %v is not a typed error (%v)", what, err, codes)
	}
}

// FuzzAffinity: rxq_affinity=QUEUE:WORKER,... parses to non-negative
// pairs, one per queue, or is an invalid-argument error.
func FuzzAffinity(f *testing.F) {
	for _, s := range []string{"", "0:0", "0:1,1:0", "0:-1", "x:1", "1:", "0:0,0:1", " 2 : 3 ", "99999999999999999999:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseAffinity(s)
		if err != nil {
			typedErr(t, "rxq_affinity="+s, err, ctl.CodeInvalid)
			return
		}
		if len(m) > strings.Count(s, ",")+1 {
			t.Fatalf("rxq_affinity=%s: %d pairs", s, len(m))
		}
		for q, w := range m {
			if q < 0 || w < 0 {
				t.Fatalf("rxq_affinity=%s: %d:%d", s, q, w)
			}
		}
	})
}

// FuzzPortOptions: add-port's and set-port's options (type, VLAN,
// trunks, mode, fast path, port security) either fail with a typed usage
// or invalid-argument error or give a bridge port that the switch's own
// validation accepts.
func FuzzPortOptions(f *testing.F) {
	f.Add("tap", "vlan=10", "trunks=20-30", "mode=trunk", "macs=02:00:00:00:00:01")
	f.Add("veth", "port_security=off", "mac_limit=5", "fast-path=off", "rxq_affinity=0:0")
	f.Add("afxdp", "vlan=5000", "mode=hybrid", "dev=eth9", "bare")
	f.Add("floppy", "trunks=1-x", "macs=nope", "mac_limit=0", "=x")
	f.Add("sriov", "vlan=7", "pf=ens1", "vf=3", "trunks=")
	f.Fuzz(func(t *testing.T, typ, a, b, c, d string) {
		opts, err := ctl.ParseOptions([]string{a, b, c, d})
		if err != nil {
			typedErr(t, "ParseOptions", err, ctl.CodeUsage)
			return
		}
		if err := checkPortOptions(typ, opts); err != nil {
			typedErr(t, "checkPortOptions", err, ctl.CodeUsage)
			return
		}
		bp := vswitch.Port{Name: "p"}
		if err := parseVLANOptions(&bp, opts); err != nil {
			typedErr(t, "parseVLANOptions", err, ctl.CodeInvalid)
			return
		}
		if err := fastPathOption(&bp.FastPath, opts); err != nil {
			typedErr(t, "fastPathOption", err, ctl.CodeInvalid)
			return
		}
		if err := parseSecurityOptions(&bp, opts); err != nil {
			typedErr(t, "parseSecurityOptions", err, ctl.CodeInvalid)
			return
		}
		if _, err := parseAffinity(opts["rxq_affinity"]); err != nil {
			typedErr(t, "parseAffinity", err, ctl.CodeInvalid)
			return
		}
		cfg := vswitch.Config{Bridges: []vswitch.Bridge{{Name: "br", Ports: []vswitch.Port{bp}}}}
		if err := cfg.Validate(); err != nil && !errors.Is(err, vswitch.ErrInvalidConfig) {
			t.Fatalf("%v: validation error %v is not ErrInvalidConfig", opts, err)
		}
	})
}

// FuzzVLANListsAgree: a trunk list the daemon accepts (vswitch's parser)
// means the same set to clients (ctl's copy of the wire format).
func FuzzVLANListsAgree(f *testing.F) {
	for _, s := range []string{"10,20,30-40", "1-4094", "", " 7 ", "4094,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vs, err := parseVLANList(s)
		if err != nil {
			typedErr(t, "trunks="+s, err, ctl.CodeInvalid)
			return
		}
		cs, err := ctl.ParseVLANSet(s)
		if err != nil || !slices.Equal([]uint16(cs), []uint16(vs)) {
			t.Fatalf("trunks=%s: daemon %v, client %v (%v)", s, vs, cs, err)
		}
		if cs.String() != vs.String() {
			t.Fatalf("trunks=%s: daemon writes %q, client %q", s, vs.String(), cs.String())
		}
	})
}

// FuzzEndpointRequest: any endpoint/add argument decodes to a checked
// request, or is an invalid-argument error; the port options and routes
// made from an accepted one are valid or an invalid-argument error.
func FuzzEndpointRequest(f *testing.F) {
	for _, s := range []string{
		`{"network":"n","container_id":"c","ifname":"eth0","netns":"/proc/self/ns/net","bridge":"b","pool":"p","routes":[{"dst":"0.0.0.0/0"}]}`,
		`{"network":"n","container_id":"c","ifname":"eth0","addrs":["10.0.0.2/24"],"gateways":["10.0.0.1"],"routes":[{"dst":"10.0.0.0/8","gw":"10.0.0.1"}],"mac":"02:00:00:00:00:01","vlan":10,"mtu":1400}`,
		`{"network":"n/x"}`, `[]`, `{"vlan":-1}`, `{"routes":[{"dst":"::/0"}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var req ctl.EndpointRequest
		if err := decodeEndpointArg(s, &req); err != nil {
			typedErr(t, "decode", err, ctl.CodeInvalid)
			return
		}
		if err := checkAttachment(req.Network, req.ContainerID, req.IfName); err != nil {
			typedErr(t, "attachment", err, ctl.CodeInvalid)
			return
		}
		if port := endpointPort(req.Network, req.ContainerID, req.IfName); !endpointPortRE.MatchString(port) {
			t.Fatalf("port name %q", port)
		}
		var ep ctl.EndpointView
		if opts, err := endpointPortOptions(&req, &ep); err != nil {
			typedErr(t, "port options", err, ctl.CodeInvalid)
		} else if _, err := ctl.ParseOptions(nil); err != nil || opts["type"] != TypeVeth || ep.MAC == "" {
			t.Fatalf("options %v, MAC %q", opts, ep.MAC)
		}
		if _, err := parsePrefixes("addrs", req.Addrs); err != nil {
			typedErr(t, "addrs", err, ctl.CodeInvalid)
		}
		gws, err := parseAddrs("gateways", req.Gateways)
		if err != nil {
			typedErr(t, "gateways", err, ctl.CodeInvalid)
			return
		}
		var gs []string
		for _, g := range gws {
			gs = append(gs, g.String())
		}
		routes, err := resolveRoutes(req.Routes, gs)
		if err != nil {
			typedErr(t, "routes", err, ctl.CodeInvalid)
			return
		}
		var rs []string
		for _, r := range routes {
			rs = append(rs, r.Dst+"@"+r.Gw)
		}
		if _, err := routeOptions(strings.Join(rs, ",")); err != nil {
			t.Fatalf("resolved routes %v do not parse as routes=: %v", rs, err)
		}
	})
}

// Package daemon is vswitchd's core: the switch, its port drivers, the
// durable store of the desired configuration, and the handlers of every
// control command (package ctl's Specs), one file per command group:
// bridges.go, portcmds.go, show.go (show, stats, runtime, errors), fdb.go,
// l3.go, vxlan.go, observe.go (trace, capture), sriov.go, sg.go
// (security groups), nat.go (masquerade, port maps), endpoints.go (the
// containers of CNI and Docker; endpoints_routed.go for routed ones),
// ipam.go, svc.go and dns.go (services), bgp*.go (the speaker, learned
// routes, the routed endpoints' blocks in bgp_blocks.go); commands.go
// binds them to the Specs. ports.go is the port factory (AF_XDP, veth,
// tap, SR-IOV, vhost-user); state.go and store.go the configuration and
// its durable copy; metrics.go serves Prometheus metrics and health.go
// watches the ports' interfaces; takeover.go hands the running daemon's
// ports, state lock and learned tables to a new process (vswitchd
// --takeover, docs/upgrade.md) and takes them over.
//
// # Layers
//
// daemon sits above ctl (the protocol, client and views) and above the
// data plane (vswitch, pipeline, ports, encap); cmd/vswitchd sits above
// it. Nothing below imports it. Its answers are ctl's views, converted
// from the data plane's types (views.go), so that clients never link the
// data plane.
//
// # Behaviour
//
// Every change is applied, then stored durably (Store), before the command
// returns; if either step fails, the previous configuration is restored.
// capture/start writes only new files with plain names in the daemon's
// capture directory. The state directory is flock'ed (one daemon per
// directory), and a damaged config.json falls back to config.json.prev
// (see restoreState). A port on an interface the host itself uses (its
// default route or addresses) is refused unless force=true.
//
// # Port health
//
// A port whose interface vanishes is taken down, shown down with the
// reason and counted, and attached again when the interface is back
// (health.go); a replay never deletes an interface it did not create.
//
// # Portability
//
// The port drivers, SR-IOV and the state lock are Linux's. On other systems
// the package builds against the drivers' stubs, which fail with a "not
// supported" error (ports/afxdp's afxdp_other.go, ...), as does locking the
// state directory (safety_lock_other.go): the daemon cannot start there,
// but it can be built, vetted and read anywhere. CI checks that
// GOOS=darwin go build ./... and GOOS=freebsd go vet ./... pass.
package daemon

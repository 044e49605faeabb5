// Command vecswitch-cni attaches containers to Vecswitch: a CNI plugin
// (spec 0.3.0 to 1.1.0: ADD, DEL, CHECK, GC, STATUS, VERSION) for
// Kubernetes, containerd, CRI-O, Podman and Nomad.
//
// It is a thin client. Each call becomes one request on vswitchd's
// control socket (endpoint/add, endpoint/del, ...); vswitchd makes the
// veth, the switch port and the addresses, stores them with its
// configuration, and answers with what a CNI result reports. The plugin
// holds no state, no lock files and no lock: it runs once per container
// and exits, and a runtime may run many at once (vswitchd serializes
// them). It links only the control API (ctl), not the data plane.
//
// Addresses come from vswitchd's own pools with "ipam": {"type":
// "vecswitch", ...}; any other IPAM plugin (host-local, static, dhcp) is
// run the usual CNI way, by delegation from this process, and its
// addresses are handed to vswitchd to configure.
//
// See docs/cni.md for the netconf keys and a conflist.
package main

package ctl

// Spec is a command's name, usage and argument counts, shared by the daemon
// (which binds handlers to them) and vsctl (which prints help and checks
// arguments before it connects).
type Spec struct {
	Name    string
	Usage   string
	Help    string
	MinArgs int
	MaxArgs int // -1: no limit
	// Read commands take --json in vsctl and change nothing.
	Read bool
	// Batch commands may be in a batch (Request.Batch): they change the
	// stored configuration and nothing else (no device, driver or
	// process is made or touched), so a failed batch is undone whole.
	Batch bool
}

// Specs lists every daemon command.
var Specs = []Spec{
	{Name: "add-br", Batch: true, Usage: "BRIDGE [mac_age=SECONDS] [mac_limit=N]", Help: "create a bridge; the same bridge again is a no-op, with a mac_age= or mac_limit= other than it has is refused (exists; set-bridge changes them)", MinArgs: 1, MaxArgs: 3},
	{Name: "del-br", Usage: "BRIDGE", Help: "delete a bridge with every port and router interface in it (no-op if there is none)", MinArgs: 1, MaxArgs: 1},
	{Name: "list-br", Help: "list bridges", Read: true},
	{Name: "add-port", Usage: "BRIDGE PORT [type=afxdp|veth|tap|sriov|vhostuser] [key=value...]",
		Help:    "add a port to a bridge; afxdp: dev= queues= attach= copy= ring= force= (also veth io=afxdp and sriov); veth: netns= ip= gw= routes=DST[@GW],... mac= mtu= ifname= queues= host= peer=here (instead of netns=: the container end, named ifname=, stays in vswitchd's namespace for a runtime such as Docker to move and address) io=afpacket|afxdp (afpacket, the default: the container keeps TSO, best for TCP; afxdp: packet rate and the XDP fast path); tap: netns= ip= gw= mac= mtu= ifname= queues= offload=on|off (on: virtio-net header, TSO and checksum offload); sriov: pf= vf= and VF settings; vhostuser: socket= mac= queues= socket_mode=0660 (the socket's permissions; default 0600) offload=on|off (default on: checksum and TSO negotiated with the guest); all: vlan= trunks= mode=access|trunk fast-path=on|off port_security=on|off mac_limit=N macs=MAC,... allowed_ips=ADDR|CIDR,... ra_guard=on|off rxq_affinity=QUEUE:WORKER,...; afxdp: force=true takes an interface the host uses; veth and tap ports bind their container's MAC (port security) unless port_security=off, and keep it (stored as mac=) when their interface is made again; a port with port security sends IP, ARP and neighbor discovery only from its ip= addresses and allowed_ips= (if it has any; 0.0.0.0, :: and link-local always), ARP and neighbor discovery only with its MACs, and no IPv6 router advertisement or redirect unless ra_guard=off; the same port again is a no-op (the running port is left alone; options not given are not compared, so those the switch stored itself, such as mac=, match), in another bridge, of another type or with an option other than it has it is refused (exists; set-port changes its switch settings)",
		MinArgs: 2, MaxArgs: -1},
	{Name: "del-port", Usage: "PORT", Help: "remove a port (and the veth or tap it created); no-op if there is none", MinArgs: 1, MaxArgs: 1},
	{Name: "list-ports", Usage: "BRIDGE", Help: "list a bridge's ports", MinArgs: 1, MaxArgs: 1, Read: true},
	{Name: "set-port", Usage: "PORT [vlan=N] [trunks=N,N-M] [mode=access|trunk] [mtu=N] [fast-path=on|off] [port_security=on|off] [mac_limit=N] [macs=MAC,...] [allowed_ips=ADDR|CIDR,...] [ra_guard=on|off]", Help: "change a port's VLAN settings, MTU, kernel fast path, port security (the MACs bound to it, the addresses it may send from besides its own, whether it may send router advertisements), or MAC limit (also: set port PORT ...)", MinArgs: 2, MaxArgs: 11},
	{Name: "set-bridge", Batch: true, Usage: "BRIDGE [fast-path=on|off] [mac_age=SECONDS] [mac_limit=N]", Help: "change a bridge's settings (also: set bridge BRIDGE ...); fast-path=off sends all its traffic through the pipeline", MinArgs: 2, MaxArgs: 4},
	{Name: "show", Help: "bridges, ports, state, queues and the worker of each queue", Read: true},
	{Name: "fdb/show", Usage: "BRIDGE [port=P] [vlan=N] [mac=M] [limit=N] [after=CURSOR]", Help: "one page of the bridge's MAC table (default 1000 entries, at most 10000), filtered; the answer has the total and the cursor of the next page", MinArgs: 1, MaxArgs: 6, Read: true},
	{Name: "fdb/flush", Usage: "[BRIDGE]", Help: "forget learned MACs (of one bridge, or all)", MaxArgs: 1},
	{Name: "fdb/add", Batch: true, Usage: "BRIDGE MAC PORT|vtep=ADDR [vlan=N]", Help: "add a static MAC, on a port or behind a remote VTEP; the same entry again is a no-op, the MAC in the VLAN on another port or VTEP is refused (exists)", MinArgs: 3, MaxArgs: 4},
	{Name: "fdb/del", Batch: true, Usage: "BRIDGE MAC [vlan=N]", Help: "remove a static MAC (no-op if there is none, or only a learned one; refused, saying what removes it, if it is a port's bound MAC or a router interface's)", MinArgs: 2, MaxArgs: 3},
	{Name: "port/stats", Usage: "[PORT]", Help: "port counters", MaxArgs: 1, Read: true},
	{Name: "show-runtime", Help: "per node: calls, vectors, packets, ns/packet (like VPP's show runtime)", Read: true},
	{Name: "show-workers", Help: "workers: cores, busy %, queues", Read: true},
	{Name: "show-errors", Help: "drop counters by node and reason", Read: true},
	{Name: "sriov/show", Usage: "PF", Help: "a PF's VFs: index, PCI address, netdev, MAC, VLAN, spoof check, trust, link state, rates", MinArgs: 1, MaxArgs: 1, Read: true},
	{Name: "sriov/move", Usage: "PF VF netns=PATH [ifname=NAME] [ip=CIDR,...] [gw=ADDR] [mac=] [mtu=] [VF settings...]",
		Help: "hand a VF's netdev to a container namespace (renamed, addressed, up); VF settings as in add-port type=sriov", MinArgs: 3, MaxArgs: -1},
	{Name: "sriov/restore", Usage: "PF VF", Help: "bring a handed-off VF netdev back to the host with its original name, MAC and MTU (if its namespace is gone and the VF has no netdev left, only the record is dropped)", MinArgs: 2, MaxArgs: 2},
	{Name: "version", Help: "daemon and protocol version", Read: true},
}

// SpecOf finds a command's spec.
func SpecOf(name string) (Spec, bool) {
	for _, s := range Specs {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

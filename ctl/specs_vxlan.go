package ctl

var vxlanSpecs = []Spec{
	{Name: "vtep/set", Usage: "ADDR [port=4789] [ttl=64] [df=on|off]", Help: "set the VXLAN tunnel endpoint: an address of a router interface (the underlay side)", MinArgs: 1, MaxArgs: 4},
	{Name: "vtep/del", Help: "remove the VTEP (no bridge may carry a VNI)"},
	{Name: "vni/add", Usage: "BRIDGE VNI [vlan=N] [remotes=ADDR,...]", Help: "carry a VLAN of a bridge (default its untagged domain) in a VXLAN network shared with remote VTEPs", MinArgs: 2, MaxArgs: 4},
	{Name: "vni/del", Usage: "BRIDGE VNI", Help: "stop carrying a VNI", MinArgs: 2, MaxArgs: 2},
	{Name: "vni/add-remote", Batch: true, Usage: "BRIDGE VNI ADDR", Help: "add a remote VTEP to a VNI (head-end replication list)", MinArgs: 3, MaxArgs: 3},
	{Name: "vni/del-remote", Batch: true, Usage: "BRIDGE VNI ADDR", Help: "remove a remote VTEP (and static MACs behind it)", MinArgs: 3, MaxArgs: 3},
	{Name: "vni/show", Help: "the VTEP and every bridge's VNIs and remote VTEPs", Read: true},
}

func init() { Specs = append(Specs, vxlanSpecs...) }

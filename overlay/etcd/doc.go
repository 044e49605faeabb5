// Package etcd shares VXLAN overlay state between hosts through etcd, so
// that every host learns the other hosts' VTEPs and endpoint locations
// without flooding. One host needs none of this; the package lives apart
// from the switch so that the core build does not pull in the etcd client.
//
// A [Syncer] publishes what this host has (its membership in each VNI, and
// the MAC/IP endpoints behind its VTEP) and feeds what the other hosts have
// to a [Sink]. It knows nothing of the switch: the switch implements Sink.
//
// # Key layout
//
// Under a prefix (default "/vecswitch/overlay/"):
//
//	<prefix>vni/<vni>/members/<vtep>   {"vtep":"10.0.0.1","updated":"..."}
//	<prefix>vni/<vni>/macs/<mac>       {"vtep":"10.0.0.1","ip":"10.1.0.5","updated":"..."}
//
// <vni> is decimal (0 to 16777215, no leading zeros), <vtep> is the VTEP
// address as netip.Addr prints it, <mac> is lower-case "aa:bb:cc:dd:ee:ff".
// Keys must be in exactly this form, so one entry has one key. A member
// key's value is informational; a MAC key's value names the VTEP the MAC is
// behind and, optionally, its IP. Keys elsewhere under the prefix (room for
// address pools) are ignored; keys or values under <prefix>vni/ that do not
// parse are ignored and counted in [Stats.Malformed].
//
// # Consistency rules
//
//   - Liveness is a lease. Every key a host writes is attached to its lease
//     (TTL default 10 s), kept alive by Run. A host that stops cleanly
//     revokes the lease and its keys vanish at once; one that crashes or is
//     cut off vanishes when the TTL runs out.
//   - A MAC key has one owner: the last writer, in etcd revision order. An
//     endpoint that moves to another host keeping its MAC is published there
//     (Publish overwrites the key), and every watcher sees the new VTEP in
//     one watch round trip. The old host's late Withdraw is a transaction
//     that deletes the key only if it still holds the exact value the old
//     host wrote, so it never deletes the newer entry.
//   - Re-publishing after a lease loss is conditional too: a key is
//     recreated if missing or rewritten if still ours, but an entry that
//     another host wrote meanwhile (the MAC moved away) is dropped, not
//     clobbered ([Stats.Superseded]). Only an explicit Join or Publish
//     overwrites unconditionally.
//   - The Sink sees the projection of etcd onto this host: for each VNI the
//     host has joined, the other members' VTEPs and the endpoints whose VTEP
//     is not ours. Endpoints of VNIs not joined are not passed on. A MAC
//     that moves to us is deleted from the Sink (it is local now); one that
//     moves away from us appears at its new VTEP.
//
// # Failure handling
//
// Run lists the prefix and watches it from the next revision. When the
// watch fails (compacted past its revision, lost leader, closed stream) it
// lists again and tells the Sink only the difference, so the Sink ends up
// consistent with etcd whatever was missed. When the lease is lost
// (keep-alives unanswered for a TTL: etcd restart, network partition,
// lease revoked) Run grants a new one and re-publishes every entry under
// it. Writes that fail are recorded and retried every second; Join,
// Publish, Leave and Withdraw record the desired state before writing, so
// their error is for logging, not for retrying. While etcd is unreachable
// the Sink keeps its last view: data-plane forwarding goes on with it.
//
// # Wiring to the switch
//
// The switch implements Sink and calls the Syncer from its control plane:
//
//   - Sink.SetRemotes(vni, vteps) replaces the VNI's remote VTEP list, the
//     head-end replication list used to flood broadcast and unknown
//     unicast in that VNI.
//   - Sink.SetEndpoint(e) installs (or moves) a static remote FDB entry:
//     e.MAC in the VNI's bridge, out of the VXLAN tunnel toward e.VTEP
//     (and, with e.IP valid, an ARP/ND proxy entry if the switch has one).
//   - Sink.DeleteEndpoint(vni, mac) removes that static entry.
//   - The switch calls Join/Leave when a VNI with remote VTEPs discovered by
//     etcd is configured or removed, and Publish/Withdraw when it learns or
//     ages out a MAC on a local port of such a VNI (or when a local port
//     with a known MAC and IP is added or removed).
//
// The Sink is called one method at a time and must not block or call back
// into the Syncer; a switch typically compiles the change into its next
// table snapshot.
package etcd

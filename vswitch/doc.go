// Package vswitch is Vecswitch's switch: it turns a desired configuration
// (bridges, ports, VLANs, static MACs) into compiled tables and runs the L2
// nodes of the pipeline graph over them.
//
// # Configuration
//
// Config is plain data. Reconfigure validates it (errors are *ConfigError,
// wrapping ErrInvalidConfig, with the path of the bad field), compiles it
// into immutable tables and publishes them with an atomic pointer. Workers
// load the pointer once per vector, so a change never stops traffic and the
// data path takes no lock. Port drivers are attached separately (AddPort,
// RemovePort); a configured port without a driver is down.
//
// Each (bridge, VLAN) pair is a learning domain with a stable 16-bit ID.
// Bridges never exchange frames, and neither do VLANs of one bridge.
//
// # Data path
//
//	l2-input  parse Ethernet, classify (port, VLAN tag) -> domain, pop the tag
//	l2-fwd    learn the source MAC, look up the destination
//	l2-flood  replicate to every port of the domain but the ingress one
//	l2-output check the port still carries the domain, push a tag on trunks, tx
//
// Every drop is counted under a named reason of the node that dropped it
// (Switch.Runtime), never logged per packet.
//
// # MAC learning
//
// The MAC table (mactable.go) has one writer, the learner, which drains
// bounded per-worker rings of learn events; a full ring drops the event and
// counts it. Readers never lock. A port's entries are flushed in O(1) by
// bumping the port's sequence number; the ager, run by the learner about once
// a second, reclaims entries that are stale or idle longer than their
// bridge's MAC age. A bridge stops learning new MACs at its MAC limit and
// counts what it refused (MACStats).
//
// # Safety of reconfiguration
//
// After publishing new tables and poll lists, the control plane waits until
// every worker has passed an iteration boundary (pipeline.Worker.Quiesce)
// before it flushes MACs, retires domain IDs or closes queues, so no worker
// ever uses a closed queue and no packet carries an ID that was reused.
package vswitch

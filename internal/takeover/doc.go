// Package takeover hands a running vswitchd's data plane to a new one
// (vswitchd --takeover): the port descriptors and the learned tables move
// over a private unix socket, and no frame is lost on the way.
//
// # How others do it, and what we take
//
//   - HAProxy's seamless reload (expose-fd listeners): the new process
//     connects to the old one's stats socket, receives every listening
//     socket over SCM_RIGHTS, starts on them, and only then tells the old
//     one to finish (SIGUSR1). The kernel's queues live in the shared
//     sockets, so nothing waiting in them is lost. We pass ports the same
//     way: a tap queue, an AF_PACKET socket or an AF_XDP socket is an open
//     file; its duplicate in the new process is the same queue.
//   - Envoy's hot restart: a versioned RPC between the generations over a
//     unix domain socket; a new binary whose shared-memory layout version
//     differs refuses to hot-restart and says so, and the parent keeps
//     serving until the child reports it is ready, then drains. We keep the
//     version check (Version, checked on the first message in both
//     directions) and the order: the old process stops only once the new
//     one says it is ready, and exits only once it says it runs.
//   - wireguard-go's UAPI and its fd passing on Darwin/Linux (the tun
//     device handed over by a parent as an inherited descriptor, the
//     "fd://" form): a device driver must be able to adopt a descriptor it
//     did not open. Port drivers get an "adopt" constructor for this.
//
// # Protocol
//
// Every message is a 12-byte header (magic "VSTK", the sender's Version,
// type, number of descriptors, payload length) and a payload; descriptors
// travel with the header in one sendmsg. The magic and version never move
// and a refusal's payload is plain text, so that two builds of different
// versions can always tell each other why they will not hand over.
//
//	taker (new)                          giver (old)
//	hello {pid, build}          ->
//	                            <-       welcome | refuse "why"
//	                            <-       files (<= 250 descriptors each) ...
//	                            <-       state (the exported tables, JSON)
//	  adopts the ports, imports the tables, starts its workers
//	ready                       ->
//	                            <-       stopped {late state} (its workers stopped, tx flushed)
//	commit                      ->
//	                            <-       bye; exits without destroying ports
//
// Between Export and commit the giver's configuration is frozen (commands
// wait), so what the taker received stays true. The taker starts its
// workers before it sends ready, so for a while both processes poll the
// same queues: a tap queue or an AF_PACKET socket gives each frame to one
// reader, and both forward it the same way (same configuration, same
// tables), so there is no gap in forwarding at all. AF_XDP rings allow one
// producer and one consumer, so a taker of such ports starts its workers
// only after stopped and commit, with the late state that only a stopped
// giver can tell (which buffers are free, what each socket holds): frames
// wait in the rings for that gap. Frames already read by the giver when
// it stops are forwarded before its workers return.
//
// # Failure
//
// Never both half-running: if anything fails before commit (a version or
// format mismatch, a port that cannot be adopted, the taker dying or
// hanging — every step has a timeout), the giver Resumes (polling again if
// it had stopped) and keeps its ports; the taker closes what it received
// and exits with the error. After commit the taker owns the data plane and
// the giver only exits. A giver that dies mid-handshake leaves the taker
// to fail (nothing is lost: a plain start replays the stored
// configuration, as after any crash). Malformed messages are
// *ProtocolError, a different version *VersionError, a refusal
// *RefusedError, a vanished peer ErrPeerGone, a silent one ErrTimeout.
//
// # Security
//
// The socket is made with mode 0600 and, on Linux, a peer whose
// credentials are neither root's nor this process's user is turned away
// before it can send a byte of protocol.
package takeover

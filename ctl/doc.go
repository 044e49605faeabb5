// Package ctl is Vecswitch's control plane: the control socket protocol,
// its server and client, the command registry, and the durable store of
// the desired configuration. It knows no packet.
//
// # Protocol
//
// A client connects to the unix socket and sends requests, one JSON object
// per line: {"v":1,"cmd":"add-br","args":["br0"]}. Each gets one response
// line: {"v":1,"ok":true,"result":...} or {"v":1,"ok":false,"error":
// {"code":"not-found","message":"..."}}. Codes are stable strings (Code);
// messages are for people. A request longer than the server's limit, or one
// that does not arrive within its time limit, gets an error and the
// connection is closed; every other error leaves the connection usable.
//
// # Security
//
// The socket is created under umask 077 (mode 0600), or 0660 owned by a
// configured group. Each connection's peer credentials (SO_PEERCRED) are
// checked: root, or a member of that group; anyone else gets "denied". A
// socket file left by a dead daemon is detected (nobody answers on it) and
// replaced; one with a live daemon behind it is an error. Each non-root
// user may hold at most MaxPerUID connections and all of them together
// MaxClients-RootReserve, so root always gets in. capture/start writes
// only new files with plain names in the daemon's capture directory. The
// state directory is flock'ed (one daemon per directory), and a damaged
// config.json falls back to config.json.prev (see restoreState). A port
// on an interface the host itself uses (its default route or addresses)
// is refused unless force=true.
//
// # Port health
//
// A port whose interface vanishes is taken down, shown down with the
// reason and counted, and attached again when the interface is back
// (health.go); a replay never deletes an interface it did not create.
package ctl

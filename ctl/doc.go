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
// replaced; one with a live daemon behind it is an error.
package ctl

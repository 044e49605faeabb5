// Package ctl is Vecswitch's control API: the control socket protocol
// (Request, Response, error codes), the client (Dial, Client.Call), every
// command's Spec, and the views the read commands answer (ShowView,
// PortView, FDBPage, RouteEntry, ...). It also holds the protocol's server
// side (Registry, Server), which knows nothing of switching. It imports no
// part of the data plane (vswitch, pipeline, ports, encap) and no
// Linux-only library, and builds on any OS: vsctl and other clients (the
// CNI plugin) link only it and stay small and quick to start.
//
// The daemon that implements the commands is package ctl/daemon, one layer
// up: it imports ctl and the data plane, and ctl imports neither. The views
// are plain copies of the data plane's report types, with the same JSON;
// the daemon converts, and its tests check every copy against its original.
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
// MaxClients-RootReserve, so root always gets in. Peer credentials are
// Linux's: elsewhere Listen fails with a "not supported" error, and the
// client works anywhere.
package ctl

// Package dns is the resolver of the switch's networks (the resolver half
// of issue 21, "DNS for endpoints"). Each network answers A, AAAA and PTR
// queries for its endpoints' names at a resolver address inside the
// network, service names resolve to their virtual IPs, other names go to
// the network's upstream resolvers, and unknown names in the network's
// own domain get NXDOMAIN. The package does not care how queries arrive:
// it takes DNS messages as bytes and gives responses as bytes. The switch
// punts port-53 packets to it; Serve and ServeTCP run it on sockets.
//
// # Records
//
// A Registry holds, per network (by name), a Network: a search domain
// (default "<network>.vecswitch."), a TTL (default 30 s), upstreams, and
// two name spaces that share one set of names: endpoints (name or alias
// -> addresses, v4 and v6 mixed) and services (name -> VIPs). A name
// cannot be both. Names are stored in canonical form, lower case and
// without the domain, and are answered both ways, as Docker does: "web."
// and "web.net1.vecswitch.". PTR records come from the same data: every
// endpoint address and every VIP names its owner(s) in the domain, under
// in-addr.arpa and ip6.arpa.
//
// Writers (Set*, Delete*) take a mutex and publish a new immutable
// snapshot through an atomic pointer (copy-on-write); lookups load it
// once and take no lock. SetEndpoint and friends copy the network's two
// maps but share every entry they do not change (85-180 µs and 26
// allocations in a network of 1,000 endpoints on the shared 2-core CI
// VM, BenchmarkSetEndpoint; a full recompile per change took 1 ms and
// 6,000 allocations); SetNetwork recompiles a whole network at once, for
// start-up and bulk changes. A local answer costs 0.5-1.5 µs and 6-8
// allocations (BenchmarkAnswer).
//
// # Answers
//
// Resolver.Answer parses the query with github.com/miekg/dns and decides,
// in this order (every query is counted under exactly one Reason):
//
//   - fewer than 12 bytes, or a response (QR set): nothing sent (Dropped;
//     replying to a response could start a loop between two servers);
//   - opcode other than QUERY: NOTIMP; TC set, QDCOUNT != 1, a body that
//     does not parse, several OPT records: FORMERR (Malformed); both are
//     12-byte replies built from the header alone; EDNS version != 0:
//     BADVERS;
//   - class other than IN, AXFR/IXFR, or an unknown network: REFUSED;
//   - a reverse name of an address the network knows: PTR;
//   - the domain itself: SOA, or NODATA;
//   - a name in the domain: its records, NODATA (NOERROR, empty, SOA in
//     authority) when it has none of the asked type, NXDOMAIN (with SOA)
//     when it does not exist;
//   - a known name outside the domain ("web."): its records;
//   - an unknown single label ("intranet."): NXDOMAIN, never forwarded;
//   - anything else: forwarded if the network has upstreams, else REFUSED.
//
// Local answers are authoritative, CNAME-free (the owner is the name as
// asked, letter case kept, so 0x20-randomising clients are satisfied),
// carry RA, and rotate a name's addresses from query to query. ANY gets
// A and AAAA. A response never exceeds len(out): UDP answers fit 512
// bytes, or the client's EDNS0 size up to Config.UDPSize (default 1232),
// with TC set when records had to go; TCP answers fit 64 KiB. If out is
// too small even for that, a header-only reply with TC goes instead.
//
// # Forwarding
//
// Answer never blocks: for a query that needs an upstream it returns
// Forwarded with n == 0. Resolve does the forward synchronously;
// Handle, the entry point for the punt path and Serve, answers locally
// at once and runs forwards on goroutines the Resolver owns, at most
// Config.MaxInflight at a time (beyond that: SERVFAIL, ForwardBusy).
// Upstreams are tried in order, each for Config.UpstreamTimeout (default
// 2 s), with a fresh message ID (the client's ID never leaves the host);
// SERVFAIL or REFUSED moves on to the next one; a truncated upstream
// answer is retried over TCP for a TCP client and relayed with TC to a
// UDP client, which then retries over TCP itself. The query goes up
// with the client's EDNS0 size, but an answer is read whole (up to 64
// KiB) whatever that size, since an upstream may send more over UDP than
// it was told: the answer is then fitted to the client as a local one
// is (records dropped and TC set for a UDP client, all of it for a TCP
// client), not turned into SERVFAIL as when it was read into a buffer of
// the client's size (TestForwardBigUpstreamAnswer). When no upstream
// answers the client gets SERVFAIL (ForwardFailed) well before its own
// timeout, rather than silence. Close cancels forwards in flight (their
// clients get SERVFAIL) and waits for them.
//
// # Compared with Docker's embedded DNS and WeaveDNS
//
// Docker (libnetwork resolver.go) runs one resolver per container, inside
// the container's network namespace at 127.0.0.11, with iptables rules
// that DNAT port 53 to the random ports its UDP and TCP sockets listen
// on. It answers A, AAAA, PTR, SRV and an implicit MX from the networks
// the container joined (TTL 600 s, addresses shuffled), and forwards the
// rest to at most three servers from the host's resolv.conf, dialling
// from the container's namespace unless the server is on the host's
// loopback, 4 s per I/O, at most 1,024 forwards at once. The version we
// read forwards the client's own message ID and, when every upstream
// fails, sends nothing, so the client waits out its own timeout. Here one
// resolver in the switch process serves every network: no socket, no
// iptables rule and no goroutine per container. Forwards leave from the
// switch's (host) namespace, so a loopback upstream such as
// systemd-resolved's 127.0.0.53 needs no special case, and a failed
// forward is a prompt SERVFAIL with its own counter.
//
// WeaveDNS runs one server per host, on the weave bridge address, for a
// single domain (weave.local.). Its records are gossiped between peers
// (each peer owns its entries; deletions are tombstones), so any host
// can answer for any container, with a TTL of 1 s; the version we read
// answers A only (no AAAA) and in-addr.arpa PTRs, completes single
// labels with its domain, rereads resolv.conf for upstreams and gives
// them fresh IDs. Here records come from the switch's desired
// configuration (endpoints are part of it), networks are isolated from
// one another, each with its own domain and upstreams, and IPv6 is
// answered both ways. Sharing records between hosts would follow the
// rest of the project (etcd, as overlay/etcd does), not gossip.
//
// Neither Docker nor WeaveDNS bounds a response by the caller's buffer
// or counts each outcome by reason; both log instead.
//
// # What the switch's punt path must do
//
//   - Own a resolver address per network (an address inside the subnet,
//     e.g. the gateway's or a reserved one) and answer ARP/ND for it, so
//     endpoints can reach it; hand it to endpoints as their nameserver
//     with "search <domain>" (CNI result DNS, Docker --dns).
//   - Match IPv4/IPv6 packets to that address, UDP destination port 53,
//     unfragmented, with a valid UDP checksum, and take them out of the
//     pipeline through a bounded ring to a control goroutine: a worker
//     never calls into this package or blocks (ring full: drop, count).
//   - Call Handle(network, udpPayload, UDP, reply). The payload may be
//     reused when Handle returns. reply may run later, on another
//     goroutine; it must build IP+UDP from resolver:53 back to the
//     client's address and port, with the resolver's MAC as source, and
//     inject the frame towards the client's port.
//   - TCP/53: the switch has no TCP stack; its control plane runs a
//     server-only TCP for DNS on the same punt rings (vswitch's
//     dnstcp.go) and calls Handle with TCP for each whole query.
//   - Export Resolver.Stats with the switch's other counters.
package dns

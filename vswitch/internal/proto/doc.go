// Package proto is the per-packet protocol code of Vecswitch's L3 path:
// IPv4 and IPv6 header checks and accessors, ARP, neighbor discovery, ICMP
// and ICMPv6 echo and errors, checksums, the ECMP flow hash and a token
// bucket for ICMP errors. Everything is a plain function over packet bytes.
//
// # Conventions
//
// Packets are passed as the L3 slice: the first byte is the first byte of
// the IPv4, IPv6 or ARP header; the caller has stripped Ethernet (and any
// VLAN tag). The exceptions are the builders of whole frames (BuildARPRequest,
// BuildNS, BuildNA, BuildNAReply), which write Ethernet too; they say so.
//
// Addresses are integers, never net.IP or netip.Addr:
//
//   - IPv4: a uint32 holding the big-endian value of the address, so
//     10.0.0.1 is 0x0a000001 (what binary.BigEndian.Uint32 reads).
//   - IPv6: two uint64 halves hi, lo, each the big-endian value of eight
//     bytes of the address (the form the FIB takes), so fe80::1 is
//     hi 0xfe80000000000000, lo 1. Every IPv6 function uses this pair, in
//     this order, even one that only needs hi.
//   - MAC: a [6]byte in wire order.
//
// An L3 slice may run past the packet's IP length (Ethernet pads frames to
// 60 bytes): the checks accept that, and every function that looks beyond
// the header stops at the IP length, except the flow hashes, which take
// the packet trimmed to it.
//
// The validating functions (Check4, Check6, CheckARP, ParseND, CheckICMP4,
// CheckICMP6) never read past the slice and never panic, whatever the
// input; they return a Reason, which the data path counts as a drop reason.
// The accessors and in-place rewriters (Src4, DecTTL4, Echo4ReplyInPlace
// ...) trust that their input passed the matching check and do no bounds
// checks of their own beyond Go's. The builders (Build*) take a destination
// slice, return the number of bytes written, and return 0, writing
// nothing useful, when the destination is too short or the input cannot be
// answered; they never panic on any original packet.
//
// Nothing here allocates, locks, uses maps or interfaces, or keeps state
// between calls, except Limiter, whose state belongs to one worker.
//
// # Files
//
//	checksum.go   Internet checksum, pseudo-headers, RFC 1624 incremental update
//	ip4.go        IPv4 header check and accessors, IP protocol numbers
//	ip6.go        IPv6 header check and accessors, extension header walk
//	addr.go       address classes: multicast, link-local, solicited-node
//	ether.go      Ethernet constants for the frame builders
//	arp.go        ARP check, in-place reply, request builder
//	nd.go         neighbor solicitation/advertisement check
//	ndbuild.go    NS and NA builders
//	icmp.go       ICMP and ICMPv6 types, codes and message checks
//	echo.go       in-place echo replies
//	icmperr.go    ICMP and ICMPv6 error builders and when not to send them
//	hash.go       ECMP flow hash
//	ratelimit.go  token bucket for ICMP errors
//	reason.go     why a packet was refused
package proto

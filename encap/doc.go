// Package encap is the per-packet VXLAN code (RFC 7348) of Vecswitch: the
// header templates and the in-place encapsulation the switch's VXLAN encap
// node calls, the outer header check its decap node calls, the inner flow
// hash, and MTU arithmetic. The nodes, the VTEP configuration and the
// resolution of next hops live elsewhere; everything here is a plain
// function over packet bytes or a method of a Template value.
//
// # Layout
//
// An encapsulated packet, as Encap writes it and ParseOuter reads it:
//
//	outer Ethernet   14 bytes (18 with an 802.1Q tag): next hop MAC, our MAC, 0x0800 or 0x86DD
//	outer IPv4       20 bytes (ParseOuter also accepts options)
//	  or IPv6        40 bytes (no extension headers)
//	UDP               8 bytes: source port from the flow hash, destination 4789
//	VXLAN             8 bytes: flags 0x08 (I), 24 reserved bits, VNI, 8 reserved bits
//	inner Ethernet frame, untouched
//
// so Encap adds Overhead4 (50) or Overhead6 (70) bytes, four more on a
// tagged underlay. A pipeline frame keeps 128 bytes of headroom in front of
// the packet (pipeline.Headroom), more than MaxOverhead (74): Encap writes
// the outer header there and never moves the inner frame.
//
// # Templates and checksums
//
// The control plane builds one Template per tunnel (local VTEP, remote
// VTEP, VNI) with NewTemplate: the whole outer header with the per-packet
// fields zero. It also sums, once, the constant words each checksum covers:
//
//   - IPv4 header checksum: the partial sum of the template's IPv4 header
//     with total length and checksum zero. Per packet the checksum is the
//     complement of that sum plus the total length: one add and a fold,
//     the precomputed-partial-sum form of an RFC 1624 incremental update.
//   - UDP checksum: the partial sum of the pseudo-header's addresses and
//     protocol, the UDP destination port and the VXLAN header. Per packet
//     Encap adds the UDP length twice (pseudo-header and header), the
//     source port and the sum of the inner frame. Over IPv6 the checksum
//     is mandatory (RFC 8200), so every IPv6 packet costs a pass over the
//     inner frame; over IPv4 it is 0, as RFC 7348 recommends, unless the
//     template asks for it (TemplateConfig.UDPChecksum4; Linux vxlan
//     devices send it by default, and accept packets either way).
//
// Encap copies the template (at most 74 bytes) into the headroom and
// patches the lengths, the checksums and the source port: a fixed amount
// of work over IPv4, plus one pass over the inner frame for the UDP
// checksum over IPv6.
//
// # UDP source port
//
// RFC 7348 section 5 recommends a hash of the inner headers as the UDP
// source port, in the dynamic/private range 49152-65535, so that ECMP and
// RSS in the underlay spread the tunnel's flows while each flow stays on
// one path. Encap takes the hash from the caller (InnerFlowHash, or a hash
// the pipeline already computed for the packet) and scales it into the
// template's range with a multiply and shift, as Linux's udp_flow_src_port
// does. The default range is RFC 7348's 49152-65535; Linux vxlan devices
// use the local port range instead (32768-60999 by default), which
// TemplateConfig.SrcPortMin and SrcPortMax can reproduce. Receivers do not
// care which: the source port carries no meaning.
//
// # Decapsulation
//
// ParseOuter checks a received frame's outer headers (see its comment for
// the list, and Reason for the drop counters it feeds) and returns an
// Outer: addresses, ports, VNI, outer VLAN and TOS, and the offset and
// length of the inner frame, which the caller makes the packet by
// advancing past the outer header (pipeline.Pool.Advance) and trimming.
// UDP checksums are verified over IPv6 (zero ones refused unless
// DecapConfig.AcceptZeroUDP6) and, when configured, over IPv4. Matching
// the outer destination to a local VTEP and the VNI to a network is the
// caller's, as is learning the inner source MAC behind the outer source.
//
// # Not supported
//
//   - VXLAN-GPE (the P flag and next-protocol field), Group Based Policy
//     (the G flag and group ID) and other extensions: on receipt their
//     bits are ignored, as RFC 7348 says of reserved bits, and the inner
//     frame is taken to be Ethernet; they are never sent.
//   - Outer IPv6 extension headers and outer IPv4/IPv6 fragments: refused
//     on receipt (NotUDP, Fragment), never sent.
//   - More than one outer VLAN tag, or 802.1ad outer tags.
//   - IPv6 flow labels from the flow hash: the outer flow label is 0, as
//     Linux vxlan devices send by default.
//   - A per-packet IPv4 ID: it is always 0 (see TemplateConfig.DF).
//   - ECN propagation (RFC 6040): the outer TOS or traffic class is the
//     template's, not copied from the inner packet as Linux does for the
//     ECN bits. Outer.TOS gives a decap node what it needs to do it.
//   - Checksum offload: this is a userspace data path; Encap computes
//     every checksum it sends.
//
// # Conventions
//
// Nothing here allocates, locks, uses maps, interfaces or fmt on the
// per-packet path (Encap, ParseOuter, InnerFlowHash, Template accessors);
// tests hold each to testing.AllocsPerRun == 0. NewTemplate is control-plane
// code and returns errors wrapping ErrConfig. ParseOuter and InnerFlowHash
// never read outside their input and never panic, whatever it holds;
// Encap checks its offsets and refuses rather than panics.
//
// # Files
//
//	vxlan.go     header constants, overheads, MTU helpers
//	template.go  TemplateConfig, Template, NewTemplate
//	encap.go     Encap
//	parse.go     DecapConfig, Outer, ParseOuter
//	reason.go    why ParseOuter refused a packet
//	hash.go      InnerFlowHash
//	checksum.go  Internet checksum
//
// Besides the tests against gopacket and the fuzzers, kernel_linux_test.go
// exchanges packets with a Linux vxlan device in a test namespace (as
// root), and testdata/linux holds frames such a device sent, which
// TestLinuxFrames compares with Encap's output byte for byte.
package encap

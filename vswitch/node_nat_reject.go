package vswitch

import (
	"encoding/binary"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/policy/conntrack"
	"github.com/vecswitch/vecswitch/vswitch/internal/proto"
)

// The nat node's answer to a flow refused for want of a backend: a new
// TCP or UDP flow to a service whose backends are all drained or gone
// (nat.ReasonNoBackend), including the next segment of a connection whose
// backend was removed (its flow was flushed; conntrack's TCPLoose takes
// the segment as a new flow). As kube-proxy's REJECT of a service without
// endpoints, and as policy/nat's doc asks ("Services"), the switch
// answers in place of the backend, from VIP:Port, so the client learns at
// once instead of retransmitting until its own timeout:
//
//   - TCP: a RST (RFC 9293 3.10.7.1). For a segment with ACK its
//     sequence number is the segment's acknowledgment number, which the
//     client's connection accepts as in its window: an established
//     connection ends with ECONNRESET. For a segment without ACK (a SYN)
//     it is RST|ACK acknowledging the segment (SYN+1): a connecting
//     socket gets ECONNREFUSED. A RST is never answered. (Linux takes an
//     ICMP unreachable on an established connection as a soft error and
//     keeps retransmitting: only a RST ends it. The switch cannot send it
//     when it flushes the flows, as conntrack keeps no sequence numbers;
//     the client's next segment carries the number the RST needs.)
//   - UDP: an ICMP port unreachable (ICMPv6 destination unreachable, port
//     unreachable) from the VIP quoting the datagram, built as
//     ip4-icmp-error and ip6-icmp-error build theirs (in front of the
//     quote, in the headroom) and with their rules (not about a later
//     fragment, nor from or to a non-unicast address): a connected UDP
//     socket gets ECONNREFUSED.
//
// The answer is built in place in the packet's own buffer (a chained
// frame's later pieces freed), flagged as the switch's own (flagLocal)
// and routed back to the client by the forward node: no buffer is
// allocated. Answers are rate limited per worker by a token bucket with
// Linux's icmp_ratelimit defaults (1000 a second, bursts of 100), RSTs
// included, so a flood to a VIP without backend gets no more than that
// back; beyond it the packet is dropped (nat-reject-rate-limited). The
// refused packet is counted as nat-no-backend either way (and in the
// service's NoBackend). An IPv6 TCP segment with extension headers, or a
// packet without room for the answer, is dropped unanswered.

// natDropRejectLimited: a refused packet not answered, beyond the rate
// limit.
const natDropRejectLimited = natDropInvalid + 1

// TCP flag bits (also the DNS-over-TCP server's, dnstcp.go).
const (
	tcpFlagFIN = 0x01
	tcpFlagSYN = 0x02
	tcpFlagRST = 0x04
	tcpFlagPSH = 0x08
	tcpFlagACK = 0x10
	tcpRSTLen  = 20 // a RST's TCP header, no options
)

// reject turns packet i of f (buffer id, metadata m), which Commit
// refused with nat.ReasonNoBackend, into the switch's answer to its
// sender, and sets it to go to the forward node of its family. It
// reports false, having changed nothing, if the packet gets no answer;
// the caller drops it then.
func (n *natNode) reject(f *pipeline.Frame, i int, id pipeline.BufID, m *pipeline.Meta, mem []byte, p *conntrack.Packet) bool {
	ip := pipeline.PacketAt(mem, id, m)[ethHdrLen:]
	frame := pipeline.FrameAt(mem, id)
	v6 := p.Key.IPv6()
	var l int // the answer's IP length
	switch p.Kind {
	case conntrack.KindTCP:
		if v6 {
			l = rst6(ip)
		} else {
			l = rst4(ip)
		}
		if l == 0 {
			return false
		}
		if !n.lim.Allow(n.s.opts.Clock().UnixNano()) {
			f.Drop(i, natDropRejectLimited)
			return true
		}
	case conntrack.KindUDP:
		head := proto.ICMP4ErrorHeadroom
		if v6 {
			head = proto.ICMP6ErrorHeadroom
			if !proto.ICMP6ErrorAllowed(ip, proto.ICMP6DestUnreach, proto.ICMP6CodePort) {
				return false
			}
		} else if !proto.ICMP4ErrorAllowed(ip) {
			return false
		}
		if int(m.Off) < ethHdrLen+head {
			return false
		}
		if !n.lim.Allow(n.s.opts.Clock().UnixNano()) {
			f.Drop(i, natDropRejectLimited)
			return true
		}
		// The error starts head bytes before the datagram's IP header,
		// from the VIP (the datagram's destination).
		ipAt := int(m.Off) + ethHdrLen - head
		if v6 {
			hi, lo := proto.Dst6(ip)
			l = proto.BuildICMP6Error(frame[ipAt:], ip, proto.ICMP6DestUnreach, proto.ICMP6CodePort, 0, hi, lo)
		} else {
			l = proto.BuildICMP4Error(frame[ipAt:], ip, proto.ICMP4DestUnreach, proto.ICMP4CodePort, 0, proto.Dst4(ip))
		}
		// Its Ethernet header in front: the EtherType (the forward node
		// writes the addresses).
		hdr := frame[ipAt-ethHdrLen : ipAt]
		hdr[12], hdr[13] = 0x08, 0x00
		if v6 {
			hdr[12], hdr[13] = 0x86, 0xDD
		}
		m.Off -= uint16(head)
	default:
		return false
	}
	if m.Next != 0 { // the answer is in the first buffer: free the rest
		nx := pipeline.BufID(m.Next - 1)
		m.Next = 0
		f.Pool.Free(nx)
	}
	m.Len = uint16(ethHdrLen + l)
	m.Flags = m.Flags&pipeline.FlagTraced | flagLocal
	m.Offload, m.GSOType, m.GSOSize, m.CsumStart, m.CsumOff = 0, 0, 0, 0, 0
	m.Conn = 0
	f.CountDrop(natDropNoBackend, 1)
	return true
}

// rstFor returns the RST's sequence number, acknowledgment number and
// flags answering a TCP segment (tcp: its header, at least 20 bytes;
// payload: its data length), and false for a RST, which gets no answer.
func rstFor(tcp []byte, payload int) (seq, ack uint32, flags uint8, ok bool) {
	fl := tcp[13]
	if fl&tcpFlagRST != 0 {
		return 0, 0, 0, false
	}
	if fl&tcpFlagACK != 0 {
		return binary.BigEndian.Uint32(tcp[8:]), 0, tcpFlagRST, true
	}
	n := uint32(max(payload, 0))
	if fl&tcpFlagSYN != 0 {
		n++
	}
	if fl&tcpFlagFIN != 0 {
		n++
	}
	return 0, binary.BigEndian.Uint32(tcp[4:]) + n, tcpFlagRST | tcpFlagACK, true
}

// putRST writes a RST's TCP header (no options, window 0) into b, its
// checksum started from the pseudo-header sum pseudo.
func putRST(b []byte, sport, dport uint16, seq, ack uint32, flags uint8, pseudo uint16) {
	b = b[:tcpRSTLen]
	binary.BigEndian.PutUint16(b, sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint32(b[4:], seq)
	binary.BigEndian.PutUint32(b[8:], ack)
	b[12], b[13] = tcpRSTLen/4<<4, flags
	binary.BigEndian.PutUint32(b[14:], 0) // window, checksum
	binary.BigEndian.PutUint16(b[18:], 0) // urgent pointer
	binary.BigEndian.PutUint16(b[16:], proto.Checksum(b, pseudo))
}

// rst4 rewrites ip, an IPv4 TCP segment, into the RST answering it from
// its destination (IPv4 header without options, TTL 64, DF), and returns
// its length, or 0 if the segment gets none (a RST, a later fragment, a
// short or odd header, an address that is not one host's).
func rst4(ip []byte) int {
	if len(ip) < proto.MinHeaderLen4 || ip[0]>>4 != 4 || !proto.ICMP4ErrorAllowed(ip) {
		return 0
	}
	hl := proto.HeaderLen4(ip)
	if hl < proto.MinHeaderLen4 || len(ip) < hl+tcpRSTLen {
		return 0
	}
	tcp := ip[hl:]
	doff := int(tcp[12]>>4) * 4
	seq, ack, fl, ok := rstFor(tcp, proto.TotalLen4(ip)-hl-doff)
	if !ok {
		return 0
	}
	src, dst := proto.Dst4(ip), proto.Src4(ip)
	sport, dport := binary.BigEndian.Uint16(tcp[2:]), binary.BigEndian.Uint16(tcp)
	const l = proto.MinHeaderLen4 + tcpRSTLen
	out := ip[:l]
	binary.BigEndian.PutUint32(out, 0x45<<24|l)
	binary.BigEndian.PutUint32(out[4:], 0x4000) // identification 0, DF
	binary.BigEndian.PutUint32(out[8:], proto.ReplyTTL<<24|uint32(proto.ProtoTCP)<<16)
	binary.BigEndian.PutUint32(out[12:], src)
	binary.BigEndian.PutUint32(out[16:], dst)
	binary.BigEndian.PutUint16(out[10:], proto.Checksum(out[:proto.MinHeaderLen4], 0))
	putRST(out[proto.MinHeaderLen4:], sport, dport, seq, ack, fl, proto.PseudoSum4(src, dst, proto.ProtoTCP, tcpRSTLen))
	return l
}

// rst6 is rst4 for IPv6 (hop limit 64), for a segment whose TCP header
// follows the IPv6 header directly.
func rst6(ip []byte) int {
	if len(ip) < proto.HeaderLen6+tcpRSTLen || ip[0]>>4 != 6 || proto.NextHeader6(ip) != proto.ProtoTCP ||
		!proto.ICMP6ErrorAllowed(ip, proto.ICMP6DestUnreach, proto.ICMP6CodePort) {
		return 0
	}
	tcp := ip[proto.HeaderLen6:]
	doff := int(tcp[12]>>4) * 4
	seq, ack, fl, ok := rstFor(tcp, proto.PayloadLen6(ip)-doff)
	if !ok {
		return 0
	}
	shi, slo := proto.Dst6(ip)
	dhi, dlo := proto.Src6(ip)
	sport, dport := binary.BigEndian.Uint16(tcp[2:]), binary.BigEndian.Uint16(tcp)
	const l = proto.HeaderLen6 + tcpRSTLen
	out := ip[:l]
	binary.BigEndian.PutUint32(out, 6<<28)
	binary.BigEndian.PutUint16(out[4:], tcpRSTLen)
	out[6], out[7] = proto.ProtoTCP, proto.ReplyTTL
	binary.BigEndian.PutUint64(out[8:], shi)
	binary.BigEndian.PutUint64(out[16:], slo)
	binary.BigEndian.PutUint64(out[24:], dhi)
	binary.BigEndian.PutUint64(out[32:], dlo)
	putRST(out[proto.HeaderLen6:], sport, dport, seq, ack, fl, proto.PseudoSum6(shi, slo, dhi, dlo, proto.ProtoTCP, tcpRSTLen))
	return l
}

package vnetio

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/pipeline"
)

// auxCmsg is the one control message a packet socket with PACKET_AUXDATA
// on brings, laid out as the kernel writes it: the data follows the
// header at CMSG_ALIGN(sizeof(struct cmsghdr)), which is where Go puts
// the field on every Linux architecture.
type auxCmsg struct {
	h   unix.Cmsghdr
	aux unix.TpacketAuxdata
	_   [4]byte
}

// auxLen is CMSG_LEN(sizeof(struct tpacket_auxdata)): the least a control
// message carrying the whole auxdata is.
const auxLen = int(unsafe.Offsetof(auxCmsg{}.aux) + unsafe.Sizeof(unix.TpacketAuxdata{}))

// packetMsg is a packet Reader's recvmsg(2) state: the message header,
// whose iovecs are the reader's, and room for the auxdata.
type packetMsg struct {
	msg unix.Msghdr
	ctl auxCmsg
}

// NewPacketReader reads from fd, an AF_PACKET socket with PACKET_VNET_HDR
// and PACKET_AUXDATA on, into buffers of pool: as NewReader's, but each
// read is one recvmsg(2), so that each frame comes with its auxdata. The
// kernel takes a received frame's 802.1Q (or 802.1ad) tag out of the
// frame into the skb's metadata before packet sockets see it, and the
// auxdata is the only place it is left; Read puts it back where it was. A
// tap needs none of this (tun writes the tag back itself).
func NewPacketReader(fd int, pool *pipeline.Pool) *Reader {
	r := &Reader{fd: fd, pool: pool, pm: &packetMsg{}}
	r.pm.msg.Iov = &r.iov[0]
	r.pm.msg.SetIovlen(len(r.iov))
	r.pm.msg.Control = (*byte)(unsafe.Pointer(&r.pm.ctl))
	return r
}

// recvmsg reads one frame with its auxdata (a packet Reader's read).
func (r *Reader) recvmsg() (uintptr, unix.Errno) {
	r.pm.msg.SetControllen(int(unsafe.Sizeof(r.pm.ctl)))
	r.pm.msg.Flags = 0
	n, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(r.fd), uintptr(unsafe.Pointer(&r.pm.msg)), 0)
	return n, e
}

// tag returns the 802.1Q tag the auxdata of the last read reports, if
// any: its TPID (0x8100 when the kernel does not say) and TCI.
func (p *packetMsg) tag() (tpid, tci uint16, ok bool) {
	c := &p.ctl
	if int(p.msg.Controllen) < auxLen || c.h.Level != unix.SOL_PACKET || c.h.Type != unix.PACKET_AUXDATA ||
		c.aux.Status&unix.TP_STATUS_VLAN_VALID == 0 {
		return 0, 0, false
	}
	tpid = unix.ETH_P_8021Q
	if c.aux.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 && c.aux.Vlan_tpid != 0 {
		tpid = c.aux.Vlan_tpid
	}
	return tpid, c.aux.Vlan_tci, true
}

// insertTag puts the tag (tpid, tci) back at offset 12 of the frame whose
// first buffer is id (metadata m): the MACs move 4 bytes into the
// headroom, as the switch's own tagging does, and a partial checksum's
// start moves with the rest of the frame.
func insertTag(mem []byte, id pipeline.BufID, m *pipeline.Meta, tpid, tci uint16) {
	m.Off -= vlanTag
	m.Len += vlanTag
	pkt := pipeline.PacketAt(mem, id, m)
	copy(pkt[:12], pkt[vlanTag:vlanTag+12])
	pkt[12], pkt[13] = byte(tpid>>8), byte(tpid)
	pkt[14], pkt[15] = byte(tci>>8), byte(tci)
	if m.Offload&pipeline.OffloadCsumPartial != 0 {
		m.CsumStart += vlanTag
	}
}

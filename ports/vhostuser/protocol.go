package vhostuser

import "strconv"

// Front-end requests of the vhost-user protocol (QEMU docs/interop/
// vhost-user.rst, "Front-end message types"). Only those the backend
// handles, plus the ones it names in errors, are listed.
const (
	reqGetFeatures         = 1
	reqSetFeatures         = 2
	reqSetOwner            = 3
	reqResetOwner          = 4
	reqSetMemTable         = 5
	reqSetLogBase          = 6
	reqSetLogFD            = 7
	reqSetVringNum         = 8
	reqSetVringAddr        = 9
	reqSetVringBase        = 10
	reqGetVringBase        = 11
	reqSetVringKick        = 12
	reqSetVringCall        = 13
	reqSetVringErr         = 14
	reqGetProtocolFeatures = 15
	reqSetProtocolFeatures = 16
	reqGetQueueNum         = 17
	reqSetVringEnable      = 18
	reqSendRARP            = 19
	reqNetSetMTU           = 20
)

var reqNames = map[uint32]string{
	reqGetFeatures: "GET_FEATURES", reqSetFeatures: "SET_FEATURES",
	reqSetOwner: "SET_OWNER", reqResetOwner: "RESET_OWNER",
	reqSetMemTable: "SET_MEM_TABLE", reqSetLogBase: "SET_LOG_BASE",
	reqSetLogFD: "SET_LOG_FD", reqSetVringNum: "SET_VRING_NUM",
	reqSetVringAddr: "SET_VRING_ADDR", reqSetVringBase: "SET_VRING_BASE",
	reqGetVringBase: "GET_VRING_BASE", reqSetVringKick: "SET_VRING_KICK",
	reqSetVringCall: "SET_VRING_CALL", reqSetVringErr: "SET_VRING_ERR",
	reqGetProtocolFeatures: "GET_PROTOCOL_FEATURES",
	reqSetProtocolFeatures: "SET_PROTOCOL_FEATURES",
	reqGetQueueNum:         "GET_QUEUE_NUM", reqSetVringEnable: "SET_VRING_ENABLE",
	reqSendRARP: "SEND_RARP", reqNetSetMTU: "NET_SET_MTU",
}

// reqName names a request for logs and errors.
func reqName(r uint32) string {
	if n, ok := reqNames[r]; ok {
		return n
	}
	return "request " + strconv.FormatUint(uint64(r), 10)
}

// Header flags.
const (
	flagVersionMask = 0x3
	flagVersion     = 0x1
	flagReply       = 1 << 2
	flagNeedReply   = 1 << 3
)

// Virtio and vhost feature bits (virtio 1.2 spec, linux/virtio_*.h).
const (
	featNetCsum           = 0  // VIRTIO_NET_F_CSUM: the device takes partial checksums
	featNetGuestCsum      = 1  // VIRTIO_NET_F_GUEST_CSUM: the driver takes partial checksums
	featNetGuestTSO4      = 7  // VIRTIO_NET_F_GUEST_TSO4
	featNetGuestTSO6      = 8  // VIRTIO_NET_F_GUEST_TSO6
	featNetGuestECN       = 9  // VIRTIO_NET_F_GUEST_ECN
	featNetHostTSO4       = 11 // VIRTIO_NET_F_HOST_TSO4
	featNetHostTSO6       = 12 // VIRTIO_NET_F_HOST_TSO6
	featNetHostECN        = 13 // VIRTIO_NET_F_HOST_ECN
	featNetGuestUSO4      = 54 // VIRTIO_NET_F_GUEST_USO4
	featNetGuestUSO6      = 55 // VIRTIO_NET_F_GUEST_USO6
	featNetHostUSO        = 56 // VIRTIO_NET_F_HOST_USO
	featNetMRGRxBuf       = 15 // VIRTIO_NET_F_MRG_RXBUF
	featNetMQ             = 22 // VIRTIO_NET_F_MQ
	featNetGuestAnnounce  = 21 // VIRTIO_NET_F_GUEST_ANNOUNCE
	featAnyLayout         = 27 // VIRTIO_F_ANY_LAYOUT
	featRingIndirectDesc  = 28 // VIRTIO_RING_F_INDIRECT_DESC
	featRingEventIdx      = 29 // VIRTIO_RING_F_EVENT_IDX
	featProtocolFeatures  = 30 // VHOST_USER_F_PROTOCOL_FEATURES
	featVersion1          = 32 // VIRTIO_F_VERSION_1
	protoMQ               = 0  // VHOST_USER_PROTOCOL_F_MQ
	protoRARP             = 2  // VHOST_USER_PROTOCOL_F_RARP
	protoReplyAck         = 3  // VHOST_USER_PROTOCOL_F_REPLY_ACK
	vringIdxMask          = 0xff
	vringNoFD             = 1 << 8 // in SET_VRING_KICK/CALL/ERR payloads
	maxRingSize           = 32768  // split rings: a power of two up to 2^15
	maxRegions            = 8      // VHOST_MEMORY_BASELINE_NREGIONS
	headerSize            = 12     // request, flags, size
	maxPayload            = 4096   // more than any request carries
	maxFDs                = maxRegions
	vringStateSize        = 8
	vringAddrSize         = 40
	memRegionSize         = 32
	memTableHeaderSize    = 8
	u64Size               = 8
	rarpPayloadSize       = 8  // a MAC in the low 6 bytes of a u64
	vringAddrFlagLog      = 1  // VHOST_VRING_F_LOG
	netHdrLen             = 10 // struct virtio_net_hdr
	netHdrMrgLen          = 12 // with num_buffers (mergeable or VERSION_1)
	netHdrFlagNeedsCsum   = 1
	netHdrGSONone         = 0
	vringDescFNext        = 1
	vringDescFWrite       = 2
	vringDescFIndirect    = 4
	vringUsedFNoNotify    = 1
	vringAvailFNoInterupt = 1
)

func bit(n uint) uint64 { return 1 << n }

// offloadFeatures are the checksum and segmentation offloads offered
// unless Config.NoOffload: both ways, TCP over IPv4 and IPv6 (with ECN)
// and UDP (USO).
const offloadFeatures = 1<<featNetCsum | 1<<featNetGuestCsum |
	1<<featNetHostTSO4 | 1<<featNetHostTSO6 | 1<<featNetHostECN | 1<<featNetHostUSO |
	1<<featNetGuestTSO4 | 1<<featNetGuestTSO6 | 1<<featNetGuestECN |
	1<<featNetGuestUSO4 | 1<<featNetGuestUSO6

// offeredFeatures are the virtio features the backend offers. Without
// offloads, a well-behaved driver sends complete frames and expects them;
// a frame that carries an offload request anyway is completed (checksum)
// or dropped (GSO).
func offeredFeatures(queuePairs int, offloads bool) uint64 {
	f := bit(featVersion1) | bit(featNetMRGRxBuf) | bit(featProtocolFeatures) |
		bit(featRingIndirectDesc) | bit(featRingEventIdx) | bit(featAnyLayout) |
		bit(featNetGuestAnnounce)
	if queuePairs > 1 {
		f |= bit(featNetMQ)
	}
	if offloads {
		f |= offloadFeatures
	}
	return f
}

// caps are the offloads one direction of a ring carries, derived from the
// negotiated features.
type caps uint8

const (
	capCsum caps = 1 << iota // partial checksums
	capTSO4                  // TCP/IPv4 GSO frames
	capTSO6                  // TCP/IPv6 GSO frames
	capECN                   // TCP GSO frames with the ECN (CWR) bit
	capUSO4                  // UDP/IPv4 GSO frames
	capUSO6                  // UDP/IPv6 GSO frames
)

// hostCaps are the offloads the guest may use in frames it transmits,
// guestCaps those it takes in frames it receives. A feature that the
// specification makes depend on another (TSO on checksums, ECN on TSO)
// counts only with it, whatever a driver acknowledged.
func hostCaps(f uint64) caps {
	return offloadCaps(f, featNetCsum, featNetHostTSO4, featNetHostTSO6, featNetHostECN, featNetHostUSO, featNetHostUSO)
}

func guestCaps(f uint64) caps {
	return offloadCaps(f, featNetGuestCsum, featNetGuestTSO4, featNetGuestTSO6, featNetGuestECN, featNetGuestUSO4, featNetGuestUSO6)
}

func offloadCaps(f uint64, csum, tso4, tso6, ecn, uso4, uso6 uint) caps {
	if f&bit(csum) == 0 {
		return 0
	}
	c := capCsum
	for _, x := range [...]struct {
		feat uint
		c    caps
	}{{tso4, capTSO4}, {tso6, capTSO6}, {uso4, capUSO4}, {uso6, capUSO6}} {
		if f&bit(x.feat) != 0 {
			c |= x.c
		}
	}
	if f&bit(ecn) != 0 && c&(capTSO4|capTSO6) != 0 {
		c |= capECN
	}
	return c
}

// offeredProtocolFeatures are the vhost-user protocol features offered.
func offeredProtocolFeatures() uint64 {
	return bit(protoMQ) | bit(protoRARP) | bit(protoReplyAck)
}

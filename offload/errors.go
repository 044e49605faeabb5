package offload

// Error is the reason a function of this package refused its input. The
// values are small integers, so a caller can count refusals per reason in
// an array indexed by Error (see NumErrors); returning one as an error does
// not allocate, and errors.Is and errors.As work on it.
type Error uint8

// The reasons. The zero value is not an error and is never returned.
const (
	// ErrShort: the buffer is shorter than the virtio-net header.
	ErrShort Error = iota + 1
	// ErrBadFlags: flag bits other than FlagNeedsCsum and FlagDataValid.
	ErrBadFlags
	// ErrBadGSOType: an unknown GSO type, or GSOECN with a type that is not TCP.
	ErrBadGSOType
	// ErrBadGSOSize: a GSO type with a gso_size of 0 (or 0xFFFF, which Linux
	// reserves for GSO_BY_FRAGS).
	ErrBadGSOSize
	// ErrBadCsumOffset: the checksum field given by csum_start and
	// csum_offset is not inside the frame, or csum_offset is not the offset
	// of the checksum in the L4 header the GSO type names, or UDP L4 GSO
	// without FlagNeedsCsum.
	ErrBadCsumOffset
	// ErrBadCsumStart: csum_start does not point at the L4 header the
	// segmentation found.
	ErrBadCsumStart
	// ErrBadHdrLen: hdr_len is beyond the end of the frame.
	ErrBadHdrLen
	// ErrTruncated: the frame ends inside its headers.
	ErrTruncated
	// ErrSplitHeaders: frags[0] does not hold all the headers, up to the end
	// of the (inner) L4 header.
	ErrSplitHeaders
	// ErrNotIP: the EtherType (after at most one VLAN tag) is neither IPv4
	// nor IPv6.
	ErrNotIP
	// ErrBadIPv4: IPv4 header with a wrong version or a header length below 20.
	ErrBadIPv4
	// ErrBadIPv6: IPv6 header with a wrong version.
	ErrBadIPv6
	// ErrIPv6ExtHeaders: an IPv6 extension header; only TCP or UDP directly
	// after the fixed header is supported.
	ErrIPv6ExtHeaders
	// ErrFragment: an IPv4 fragment.
	ErrFragment
	// ErrNotL4: the IP payload is neither TCP nor UDP.
	ErrNotL4
	// ErrBadTCP: a TCP data offset below 5 words.
	ErrBadTCP
	// ErrBadLength: an IP or outer UDP length field disagrees with the
	// length of the frame.
	ErrBadLength
	// ErrGSOMismatch: the GSO type does not describe the packet (TCPv4 on
	// IPv6, TCP on UDP, UDP L4 on TCP).
	ErrGSOMismatch
	// ErrUnsupportedGSO: GSOUDP (UDP fragmentation offload, UFO), which
	// this package does not implement.
	ErrUnsupportedGSO
	// ErrNotVXLAN: SegmentVXLAN got an outer packet that is not UDP or a
	// VXLAN header without the I flag.
	ErrNotVXLAN
	// ErrTooManySegments: dst or lens has fewer entries than segments.
	ErrTooManySegments
	// ErrDstTooSmall: a dst buffer cannot hold its segment.
	ErrDstTooSmall

	numErrors
)

// NumErrors is one more than the largest Error, the size of an array of
// counters indexed by Error.
const NumErrors = int(numErrors)

var errorText = [NumErrors]string{
	"offload: no error",
	"offload: buffer shorter than the virtio-net header",
	"offload: unknown virtio-net header flags",
	"offload: bad GSO type",
	"offload: bad GSO size",
	"offload: bad checksum offset",
	"offload: csum_start is not the L4 header",
	"offload: hdr_len beyond the frame",
	"offload: frame truncated inside its headers",
	"offload: headers split across fragments",
	"offload: not IPv4 or IPv6",
	"offload: bad IPv4 header",
	"offload: bad IPv6 header",
	"offload: IPv6 extension headers not supported",
	"offload: IPv4 fragment",
	"offload: not TCP or UDP",
	"offload: bad TCP header",
	"offload: length field disagrees with the frame",
	"offload: GSO type does not match the packet",
	"offload: GSO type not supported",
	"offload: not a VXLAN packet",
	"offload: more segments than buffers",
	"offload: destination buffer too small",
}

// Error returns the text of the reason.
func (e Error) Error() string {
	if int(e) < len(errorText) {
		return errorText[e]
	}
	return "offload: unknown error"
}

// err converts an internal result to an error: 0 becomes nil.
func (e Error) err() error {
	if e == 0 {
		return nil
	}
	return e
}

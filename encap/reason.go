package encap

import "strconv"

// Reason says why ParseOuter refused a packet. OK is zero, so a Reason can
// be tested with r != OK and used as the index of a drop counter array of
// NumReasons entries; String gives the counter's name.
type Reason uint8

// The reasons ParseOuter gives, in the order it checks.
const (
	OK              Reason = iota // a VXLAN packet for the configured port
	Runt                          // shorter than a header, or than a length field says
	NotIP                         // outer EtherType neither IPv4 nor IPv6 (after one 802.1Q tag)
	BadOuterIP                    // outer IP version, IHL or length field wrong
	BadIPChecksum                 // outer IPv4 header checksum wrong
	Fragment                      // outer IPv4 fragment, or IPv6 fragment header
	NotUDP                        // outer IP protocol not UDP (IPv6 extension headers included)
	WrongPort                     // UDP destination port not the VXLAN port
	BadUDPLength                  // UDP length below 8 or beyond the IP payload
	ZeroUDPChecksum               // IPv6 UDP checksum 0, and DecapConfig does not allow it
	BadUDPChecksum                // UDP checksum wrong (IPv6; IPv4 only when verified)
	BadVXLANFlags                 // VXLAN I flag clear
	InnerRunt                     // inner frame shorter than an Ethernet header
	NumReasons                    // number of reasons, for counter arrays
)

var reasonNames = [NumReasons]string{
	OK:              "ok",
	Runt:            "runt",
	NotIP:           "not-ip",
	BadOuterIP:      "bad-outer-ip",
	BadIPChecksum:   "bad-ip-checksum",
	Fragment:        "fragment",
	NotUDP:          "not-udp",
	WrongPort:       "wrong-port",
	BadUDPLength:    "bad-udp-length",
	ZeroUDPChecksum: "zero-udp-checksum",
	BadUDPChecksum:  "bad-udp-checksum",
	BadVXLANFlags:   "bad-vxlan-flags",
	InnerRunt:       "inner-runt",
}

// String returns the reason's name as a drop counter shows it, such as
// "bad-vxlan-flags". It is for the control plane, not the data path.
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "reason-" + strconv.Itoa(int(r))
}

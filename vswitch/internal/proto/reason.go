package proto

import "strconv"

// Reason says why a check refused a packet. OK is zero, so a Reason can be
// tested with r != OK and used as the index of a drop counter array of
// NumReasons entries.
type Reason uint8

// The reasons a check can give. Each check documents which it returns.
const (
	OK          Reason = iota // the packet passed
	Runt                      // shorter than its fixed header or minimum message
	BadVersion                // IP version field wrong for the family
	BadIHL                    // IPv4 header length below 5 words
	BadLength                 // a length field disagrees with the packet
	BadChecksum               // header or message checksum wrong
	BadHardware               // ARP hardware type or length not Ethernet
	BadProtocol               // ARP protocol type or length not IPv4
	BadOp                     // ARP operation neither request nor reply
	BadType                   // not the message type the check is for
	BadCode                   // ICMPv6 code not 0 where RFC 4861 requires it
	BadHopLimit               // ND hop limit not 255
	BadTarget                 // ND target address is multicast
	BadOption                 // ND option malformed (zero length, overruns, wrong size)
	BadAddress                // source or destination not allowed for this message
	NumReasons                // number of reasons, for counter arrays
)

var reasonNames = [NumReasons]string{
	OK:          "ok",
	Runt:        "runt",
	BadVersion:  "bad-version",
	BadIHL:      "bad-ihl",
	BadLength:   "bad-length",
	BadChecksum: "bad-checksum",
	BadHardware: "bad-hardware",
	BadProtocol: "bad-protocol",
	BadOp:       "bad-op",
	BadType:     "bad-type",
	BadCode:     "bad-code",
	BadHopLimit: "bad-hop-limit",
	BadTarget:   "bad-target",
	BadOption:   "bad-option",
	BadAddress:  "bad-address",
}

// String returns the reason's name as a drop counter shows it, such as
// "bad-checksum". It is for the control plane, not the data path.
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "reason-" + strconv.Itoa(int(r))
}

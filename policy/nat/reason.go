package nat

// Reason says why a packet was not translated (0: it was, or needed
// nothing). Workers count packets per Reason; a node drops the packet and
// charges the drop to the reason's name.
type Reason uint8

const (
	ReasonNone Reason = iota
	// Rewriting.
	ReasonTruncated // a header to rewrite runs past the end of the packet
	ReasonBadHeader // not IPv4 or IPv6, IHL < 20, TCP data offset < 20, too many IPv6 extension headers
	ReasonFragment  // a non-first fragment: no L4 header to translate
	ReasonProto     // a protocol NAT does not translate (SCTP; a non-TCP/UDP/ICMP protocol over IPv6)
	ReasonFamily    // the translation's family is not the packet's
	ReasonNotError  // RewriteICMPError on a packet that is not an ICMP error
	// Translating against conntrack.
	ReasonStale // the packet's conntrack entry was deleted or reused under it
	// Creating flows.
	ReasonPortsExhausted // no free port (or, for address-only protocols, no free address pair) in the range
	ReasonTableFull      // conntrack could not place the flow
	ReasonNotNew         // Commit of a packet that cannot start a flow (conntrack's verdict)
	ReasonNoBackend      // a new flow to a service none of whose backends takes new flows
	// ReasonSrcIsUplink: a new flow whose source is the switch's own
	// outside address (an uplink's, SetUplinks, or a network's
	// External4/External6). No packet the switch routes comes from there
	// (the switch's own are not committed): it is forged, and committing
	// it untranslated would send it out with the uplink's address and
	// take a masquerade port (or collide with a flow that has it, which
	// was counted as ports-exhausted until 2026-12-08).
	ReasonSrcIsUplink
	numReasons
)

// NumReasons is the number of Reason values.
const NumReasons = int(numReasons)

var reasonNames = [numReasons]string{
	"none", "truncated", "bad-header", "fragment", "protocol", "family", "not-icmp-error",
	"stale-conn", "ports-exhausted", "table-full", "not-new", "no-backend", "src-is-uplink",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "reason-" + itoa(int(r))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

package conntrack

// TCPState is the state of a tracked TCP connection, as in Linux's
// nf_conntrack_proto_tcp (without SYN_SENT2 and window tracking).
type TCPState uint8

const (
	TCPNone TCPState = iota
	// TCPSynSent: SYN seen from the originator.
	TCPSynSent
	// TCPSynRecv: SYN+ACK (or a SYN: simultaneous open) seen in reply.
	TCPSynRecv
	// TCPEstablished: the originator acknowledged the SYN+ACK (or the
	// connection was picked up in the middle, Config.TCPLoose).
	TCPEstablished
	// TCPFinWait: one side sent FIN.
	TCPFinWait
	// TCPCloseWait: the other side acknowledged that FIN.
	TCPCloseWait
	// TCPLastAck: both sides sent FIN.
	TCPLastAck
	// TCPTimeWait: the second FIN was acknowledged.
	TCPTimeWait
	// TCPClose: a RST was seen.
	TCPClose
	numTCPStates
)

var tcpStateNames = [numTCPStates]string{"none", "syn-sent", "syn-recv", "established",
	"fin-wait", "close-wait", "last-ack", "time-wait", "close"}

func (s TCPState) String() string {
	if s < numTCPStates {
		return tcpStateNames[s]
	}
	return "tcp-" + itoa(int(s))
}

// Closing reports whether the connection is past established: FIN or RST
// seen.
func (s TCPState) Closing() bool { return s >= TCPFinWait }

// TCP flag bits.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
	tcpURG = 0x20
	tcpECE = 0x40
	tcpCWR = 0x80
)

// Segment classes, from the flags.
const (
	tcpInvalid = iota
	tcpSyn
	tcpSynAck
	tcpFin
	tcpAck
	tcpRst
)

// tcpClass maps a flags byte to its class. PSH, ECE and CWR are ignored;
// the valid combinations are Linux's tcp_valid_flags.
func tcpClass(f uint8) uint8 { return tcpClasses[f&^(tcpPSH|tcpECE|tcpCWR)] }

var tcpClasses = func() (c [256]uint8) {
	c[tcpSYN], c[tcpSYN|tcpURG] = tcpSyn, tcpSyn
	c[tcpSYN|tcpACK] = tcpSynAck
	c[tcpRST], c[tcpRST|tcpACK] = tcpRst, tcpRst
	c[tcpFIN|tcpACK], c[tcpFIN|tcpACK|tcpURG] = tcpFin, tcpFin
	c[tcpACK], c[tcpACK|tcpURG] = tcpAck, tcpAck
	return c
}()

// tcpNext is the state machine: the state after a segment of class cls in
// direction dir, given the direction that sent the first FIN (finDir,
// meaningful from TCPFinWait on). ok is false for a segment the state does
// not allow; the state then does not change. reopen is set for a SYN from
// the originator on a closed or time-wait connection: the caller drops the
// old flow and treats the segment as the start of a new one.
func tcpNext(st TCPState, finDir, dir Dir, cls uint8) (next TCPState, nfin Dir, ok, reopen bool) {
	if cls == tcpRst {
		return TCPClose, finDir, true, false
	}
	switch st {
	case TCPSynSent:
		switch {
		case cls == tcpSyn && dir == Original: // retransmitted SYN
			return st, finDir, true, false
		case (cls == tcpSynAck || cls == tcpSyn) && dir == Reply:
			return TCPSynRecv, finDir, true, false
		}
	case TCPSynRecv:
		switch {
		case cls == tcpAck && dir == Original:
			return TCPEstablished, finDir, true, false
		case cls == tcpFin && dir == Original:
			return TCPFinWait, Original, true, false
		case cls == tcpSyn && dir == Original, cls == tcpSynAck && dir == Reply, cls == tcpAck && dir == Reply:
			return st, finDir, true, false // retransmissions
		}
	case TCPEstablished:
		switch {
		case cls == tcpAck:
			return st, finDir, true, false
		case cls == tcpFin:
			return TCPFinWait, dir, true, false
		case cls == tcpSynAck && dir == Reply: // our ACK of it was lost
			return st, finDir, true, false
		}
	case TCPFinWait:
		switch {
		case cls == tcpAck && dir != finDir:
			return TCPCloseWait, finDir, true, false
		case cls == tcpAck, cls == tcpFin && dir == finDir:
			return st, finDir, true, false
		case cls == tcpFin:
			return TCPLastAck, finDir, true, false
		}
	case TCPCloseWait:
		switch {
		case cls == tcpAck, cls == tcpFin && dir == finDir:
			return st, finDir, true, false
		case cls == tcpFin:
			return TCPLastAck, finDir, true, false
		}
	case TCPLastAck:
		switch {
		case cls == tcpAck && dir == finDir: // acknowledges the second FIN
			return TCPTimeWait, finDir, true, false
		case cls == tcpAck, cls == tcpFin:
			return st, finDir, true, false
		}
	case TCPTimeWait, TCPClose:
		switch {
		case cls == tcpSyn && dir == Original:
			return st, finDir, true, true
		case cls == tcpAck || cls == tcpFin:
			if st == TCPTimeWait {
				return st, finDir, true, false
			}
		}
	}
	return st, finDir, false, false
}

// tcpFirst is the state of a new connection started by a segment of class
// cls, and whether it may start one.
func tcpFirst(cls uint8, loose bool) (TCPState, bool) {
	switch {
	case cls == tcpSyn:
		return TCPSynSent, true
	case loose && (cls == tcpAck || cls == tcpSynAck):
		return TCPEstablished, true
	}
	return TCPNone, false
}

package acl

// Verdict is the classifier's answer for one packet.
type Verdict uint8

const (
	// VerdictUnfiltered: the port is in no group; the packet passes.
	VerdictUnfiltered Verdict = iota
	// VerdictAllow: the winning rule allows the packet.
	VerdictAllow
	// VerdictDeny: the winning rule denies the packet.
	VerdictDeny
	// VerdictDefaultDeny: the port is in a group but no rule of its
	// groups matches.
	VerdictDefaultDeny
)

// Allowed reports whether the packet may pass.
func (v Verdict) Allowed() bool { return v <= VerdictAllow }

func (v Verdict) String() string {
	switch v {
	case VerdictUnfiltered:
		return "unfiltered"
	case VerdictAllow:
		return "allow"
	case VerdictDeny:
		return "deny"
	case VerdictDefaultDeny:
		return "default-deny"
	}
	return "verdict(?)"
}

// NoRule is the counter index Lookup returns for an unfiltered port.
const NoRule int32 = -1

// DefaultDenyName is the rule name under which a set of groups' default
// deny is counted.
const DefaultDenyName = "default-deny"

// RuleInfo describes one counter index of a Classifier: a rule of the
// model, or the default deny of one set of groups in one direction.
type RuleInfo struct {
	// Group is the rule's group; for a default deny, the names of the
	// groups of its ports joined with ",".
	Group string
	// Rule is the rule's name, or DefaultDenyName.
	Rule      string
	Direction Direction
	Action    Action
	Priority  int32
	// Default marks a default deny; Ports are then the ports it covers.
	Default bool
	Ports   []uint16
}

// Classifier is a compiled model: immutable, safe for any number of
// concurrent Lookups.
type Classifier struct {
	// port maps a port index to 1 + its set of groups, 0 for a port in
	// no group. Ports past its end are in no group.
	port []uint32
	// tables holds two tables per set of groups: ingress, egress.
	tables []table
	// info describes every counter index: the model's rules (the first
	// rules entries, in model order), then each table's default deny.
	info  []RuleInfo
	rules int
	bytes int
}

// Lookup classifies a packet crossing port in direction dir. It returns
// the verdict and the counter index to charge: the winning rule's, or the
// default deny's of the port's groups, or NoRule for an unfiltered port.
// It allocates nothing and takes no lock; its cost grows with the
// logarithm of the number of distinct rule boundaries of the port's
// groups, not with the number of rules (see the package comment).
func (c *Classifier) Lookup(dir Direction, port uint16, k *Key) (Verdict, int32) {
	if int(port) >= len(c.port) {
		return VerdictUnfiltered, NoRule
	}
	s := c.port[port]
	if s == 0 {
		return VerdictUnfiltered, NoRule
	}
	t := &c.tables[(int(s)-1)<<1|int(dir&1)]
	remote := &k.Src
	if dir&1 == Egress {
		remote = &k.Dst
	}
	rank := t.match(remote, k)
	if rank < 0 {
		return VerdictDefaultDeny, t.def
	}
	r := t.mem[int(t.rules)+rank]
	return Verdict(r & 0xff), int32(r >> 8)
}

// Rules returns the number of counter indexes: the model's rules plus one
// default deny per set of groups and direction.
func (c *Classifier) Rules() int { return len(c.info) }

// ModelRules returns the number of rules of the model; counter indexes
// below it are rules, in model order (group order, then rule order).
func (c *Classifier) ModelRules() int { return c.rules }

// Rule describes counter index i (0 <= i < Rules()). The Ports slice is
// shared: do not modify it.
func (c *Classifier) Rule(i int32) RuleInfo { return c.info[i] }

// Sets returns the number of distinct sets of groups the ports are in.
func (c *Classifier) Sets() int { return len(c.tables) / 2 }

// MemoryBytes is about what the classifier's tables take.
func (c *Classifier) MemoryBytes() int { return c.bytes }

package netdev

// LinkEvent is a link that appeared, changed or went away in the caller's
// namespace.
type LinkEvent struct {
	Name  string
	Index int
	Gone  bool // RTM_DELLINK
}

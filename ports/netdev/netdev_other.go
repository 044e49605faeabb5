//go:build !linux

package netdev

// The kernel facilities this package drives exist on Linux only; elsewhere
// every operation fails with ErrNotSupported so that code above builds.

func unsupported(op, link, netns string) error {
	return &Error{Op: op, Link: link, Netns: netns, Err: ErrNotSupported}
}

// OpenNetns fails with ErrNotSupported outside Linux.
func OpenNetns(path string) (*Netns, error) { return nil, unsupported("open", "", path) }

// Close does nothing outside Linux.
func (n *Netns) Close() error { return nil }

// Do fails with ErrNotSupported outside Linux.
func (n *Netns) Do(fn func() error) error { return unsupported("enter", "", n.path) }

// Do fails with ErrNotSupported outside Linux.
func Do(path string, fn func() error) error { return unsupported("enter", "", path) }

// Configure fails with ErrNotSupported outside Linux.
func Configure(netnsPath, ifname string, cfg LinkConfig) error {
	return unsupported("configure", ifname, netnsPath)
}

// CreateVeth fails with ErrNotSupported outside Linux.
func CreateVeth(opts VethOptions) (*Veth, error) {
	return nil, unsupported("create veth", opts.HostName, opts.Netns)
}

// Delete fails with ErrNotSupported outside Linux.
func (v *Veth) Delete() error { return unsupported("delete veth", v.HostName, "") }

// LinkByName fails with ErrNotSupported outside Linux.
func LinkByName(netnsPath, ifname string) (*LinkInfo, error) {
	return nil, unsupported("find", ifname, netnsPath)
}

// Queues fails with ErrNotSupported outside Linux.
func Queues(netnsPath, ifname string) (rx, tx int, err error) {
	return 0, 0, unsupported("queues", ifname, netnsPath)
}

// MoveLink fails with ErrNotSupported outside Linux.
func MoveLink(index int, netnsPath string) (int, error) {
	return 0, unsupported("move link", "", netnsPath)
}

// DeleteLink fails with ErrNotSupported outside Linux.
func DeleteLink(netnsPath, ifname string, index int) error {
	return unsupported("delete", ifname, netnsPath)
}

// SetTxChecksum fails with ErrNotSupported outside Linux.
func SetTxChecksum(ifname string, on bool) error { return unsupported("set tx checksum", ifname, "") }

// SetTxChecksumAt fails with ErrNotSupported outside Linux.
func SetTxChecksumAt(netnsPath, ifname string, on bool) error {
	return unsupported("set tx checksum", ifname, netnsPath)
}

// TxChecksum fails with ErrNotSupported outside Linux.
func TxChecksum(ifname string) (bool, error) {
	return false, unsupported("get tx checksum", ifname, "")
}

// TxChecksumAt fails with ErrNotSupported outside Linux.
func TxChecksumAt(netnsPath, ifname string) (bool, error) {
	return false, unsupported("get tx checksum", ifname, netnsPath)
}

// GROAt is not supported off Linux.
func GROAt(netnsPath, ifname string) (bool, error) {
	return false, unsupported("get gro", ifname, netnsPath)
}

// SetGROAt is not supported off Linux.
func SetGROAt(netnsPath, ifname string, on bool) error {
	return unsupported("set gro", ifname, netnsPath)
}

// HostUseOf fails with ErrNotSupported outside Linux.
func HostUseOf(netnsPath, ifname string) (HostUse, error) {
	return HostUse{}, unsupported("inspect", ifname, netnsPath)
}

// WatchLinks fails with ErrNotSupported outside Linux.
func WatchLinks(stop <-chan struct{}, fn func(LinkEvent), onErr func(error)) error {
	return unsupported("watch links", "", "")
}

// Links fails with ErrNotSupported outside Linux.
func Links() (map[string]int, error) { return nil, unsupported("list links", "", "") }

// LinkIndex fails with ErrNotSupported outside Linux.
func LinkIndex(ifname string) (int, error) { return 0, unsupported("find", ifname, "") }

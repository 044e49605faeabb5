//go:build !linux

package netdev

// HasRoute fails with ErrNotSupported outside Linux.
func HasRoute(netnsPath string, r Route) (bool, error) {
	return false, unsupported("list routes", "", netnsPath)
}

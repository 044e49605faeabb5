//go:build !linux

package daemon

// vethPeers cannot tell off Linux (there are no veths).
func vethPeers(hostName, netnsPath, peerName string) (peers, known bool) { return false, false }

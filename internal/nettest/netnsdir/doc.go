// Package netnsdir prepares /run/netns the way iproute2's `ip netns add`
// does before anything binds a named network namespace there.
//
// iproute2 makes /run/netns a shared bind mount of itself (once, under an
// exclusive flock of the directory) the first time it adds a namespace.
// github.com/vishvananda/netns's NewNamed does not: it bind-mounts the
// namespace on /run/netns/NAME wherever that is. On a fresh machine where
// no `ip netns add` has run yet, a namespace made that way and an
// `ip netns add` running at the same moment (go test runs packages in
// parallel) end badly: iproute2 bind-mounts /run/netns over the directory
// that holds our mount, the name then shows an empty file (`ip netns exec`
// answers "Invalid argument"), unlinking it fails with EBUSY, and the
// namespace stays alive under the new mount where nothing can remove it.
// Calling Prepare first makes /run/netns the mount point iproute2 expects,
// so both agree and every later mount lands inside it.
package netnsdir

// Package cnitest holds helpers for tests that drive real CNI clients,
// programs no one here wrote, as a container platform would: cnitool
// (built from github.com/containernetworking/cni/cnitool at the version
// go.mod pins) and Debian's podman with its CNI network backend. They
// need root and Linux; they work with Debian's standard plugins
// (containernetworking-plugins) as well as with ours.
//
// # Tools
//
// RequireTool finds a program in PATH, and a standard CNI plugin only in
// /usr/lib/cni, /usr/libexec/cni or /opt/cni/bin (PATH has iproute2's
// `bridge`). A missing tool skips the test with the Debian package to
// install, or fails it when VECSWITCH_CI=1 (.ci/run installs them all).
// PluginPath makes a private CNI_PATH holding exactly the plugins a test
// names (standard ones by name, ours by path). Cnitool builds cnitool
// once per test process; Main, used as TestMain, deletes the build.
//
// # cnitool
//
// RunCnitool runs `cnitool add|check|del|gc|status NETWORK NETNS` with
// only the environment it is given (NETCONFPATH and CNI_PATH are
// required, CNI_IFNAME, CNI_ARGS and CAP_ARGS optional), never the
// machine's /etc/cni/net.d. cnitool names the container
// "cnitool-" + a hash of the netns path, keeps libcni's cache in
// /var/lib/cni (removed by DEL), and its GC passes no valid attachments,
// so it DELs every cached attachment of the network (and calls the
// plugins' GC when the conflist's cniVersion is 1.1.0 or more; Debian's
// plugins, 1.1.1, accept at most 1.0.0, WriteConflist's default).
// Netns wraps nettest.NS: a unique name under /run/netns, deleted at
// cleanup even when the test fails.
//
// # Podman
//
// NewPodman gives a test its own podman: every file it reads or writes
// is under one private directory, removed at cleanup after every
// container is removed (which makes podman run CNI DEL and delete its
// "netns-UUID" namespace; a namespace still there fails the test and is
// removed). Settings and why, found on this VM (Debian 12, kernel 6.x,
// hybrid cgroups: v1 controllers plus an empty v2 hierarchy, no systemd
// as PID 1):
//
//   - Packages: podman (4.3.1), conmon and runc come with
//     `apt-get install --no-install-recommends podman runc`; crun, which
//     podman pulls in by default, refuses hybrid cgroups ("cgroups in
//     hybrid mode not supported"), so runtime = "runc" (crun is used
//     only when runc is missing). runc needs cgroups, so they stay
//     enabled with cgroup_manager = "cgroupfs" (no systemd); podman
//     makes /sys/fs/cgroup/*/libpod_parent/{conmon,libpod-ID}, runc
//     removes each container's. Not needed: netavark and aardvark-dns
//     (the CNI backend replaces them), slirp4netns, uidmap,
//     fuse-overlayfs (root, vfs storage), catatonit (no --init).
//   - CONTAINERS_CONF (a private containers.conf, which replaces every
//     system one): [network] network_backend = "cni", cni_plugin_dirs =
//     the test's directories, network_config_dir = NetworkDir (a
//     network is a conflist there, called by its name with --network);
//     [containers] netns = "none" (a container run without --network
//     gets no network, so podman never makes its default cni-podman0
//     bridge with a host address and iptables rules), default_ulimits
//     nofile and nproc 4096:4096, log_driver = "k8s-file" (no
//     journald); [engine] events_logger = "file" in the directory,
//     tmp_dir and image_copy_tmp_dir private, lock_type = "file" (no
//     shared /dev/shm/libpod_lock), pull_policy = "never" (offline),
//     conmon_env_vars passing these three CONTAINERS_* variables, so
//     the `podman container cleanup` that conmon starts when a
//     container exits reads the same configuration.
//   - CONTAINERS_STORAGE_CONF: driver "vfs" (no overlay mounts; the
//     image is 2 MB), graphroot and runroot private;
//     CONTAINERS_REGISTRIES_CONF: no search registries.
//   - The directory is short (/tmp/vstpm-NNN): conmon's attach socket
//     path must fit in 108 bytes.
//   - ImportBusybox makes the image offline: a tar of Debian's static
//     /bin/busybox (package busybox-static; the dynamic busybox package
//     is refused), links for sh, ping, ip, ifconfig, sleep, wget, nc...,
//     /etc/passwd and /etc/group, then `podman import`.
//   - Busybox ping opens a raw socket: run containers with
//     --cap-add NET_RAW.
//
// A network for podman or cnitool that leaves the host alone:
// BridgePlugins (bridge with isGateway and ipMasq false: no host
// address, route or iptables rule; host-local leases in a private
// dataDir). The bridge plugin never deletes its bridge: register
// DeleteLinkAtCleanup before the first ADD, or make the bridge with
// NewBridge, which also gives it a fixed MAC so that the plugin's CHECK
// passes after other containers joined.
package cnitest

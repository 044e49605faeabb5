// Package dockertest gives a test its own real Docker daemon: Debian's
// dockerd (package docker.io, 20.10) with a containerd of its own, both
// started by the test, keeping every file under one private directory
// and leaving the host's networking alone, and both stopped at cleanup.
// Tests of the Docker network and IPAM driver drive it as a user would,
// with the docker CLI. It needs root and Linux (elsewhere the package is
// empty).
//
// # Tools
//
// RequireDocker finds dockerd, containerd, runc and the docker CLI. A
// missing one skips the test, saying to install docker.io, or fails it
// when VECSWITCH_CI=1 (.ci/run installs docker.io), like
// cnitest.RequireTool.
//
// The CLI is the one installed beside dockerd (/usr/bin/docker for
// Debian's /usr/sbin/dockerd), found before PATH: on this project's
// machines /usr/local/bin/docker, an unrelated docker CLI 28 (API 1.50),
// comes first in PATH. That one works too (it negotiates the API down to
// dockerd's 1.41), but the CLI of the same release is the one tested.
// The CLI runs with -H set to the daemon's socket, DOCKER_CONFIG set to a
// private directory (no credential helpers, contexts or settings of the
// machine's ~/.docker) and no other DOCKER_* variable of the test's
// environment (DOCKER_HOST, DOCKER_CONTEXT, DOCKER_API_VERSION...).
//
// # The daemon
//
// Start runs containerd, then dockerd, in a short private directory
// (/tmp/vstd-XXXXXXXX: unix socket paths under it must fit in 108 bytes)
// and waits until the API answers. dockerd's flags, and why:
//
//   - --containerd SOCK: the containerd started just before it, whose
//     configuration keeps root, state, its gRPC socket and its "opt"
//     directory in the private directory and disables the CRI plugin and
//     the snapshotters dockerd 20.10 does not use (aufs, btrfs, zfs,
//     devmapper, overlayfs: no modprobe, no probe mounts). Without
//     --containerd, dockerd would use the machine's containerd if
//     /run/containerd/containerd.sock exists, or start one that makes
//     /opt/containerd.
//   - --data-root, --exec-root, --pidfile, -H unix://DIR/docker.sock:
//     images, containers, network namespaces (DIR/exec/netns), runc's
//     state and the API socket are private.
//   - --config-file DIR/daemon.json, which holds only
//     "deprecated-key-path": DIR/key.json: the machine's
//     /etc/docker/daemon.json is not read, and dockerd 20.10's trust key,
//     which has no flag, is not written to /etc/docker/key.json.
//   - --bridge=none: no docker0 bridge and no default bridge network.
//   - --iptables=false --ip6tables=false --ip-masq=false: no iptables
//     rules or chains.
//   - --ip-forward=false: dockerd does not set net.ipv4.ip_forward (its
//     bridge driver sets it to 1 at start otherwise).
//   - --userland-proxy=false: no docker-proxy processes for published
//     ports.
//   - --storage-driver vfs: plain directory copies (the image is 2 MB):
//     no overlay mounts, nothing that depends on the backing file system.
//   - --exec-opt native.cgroupdriver=cgroupfs: no systemd here; runc
//     needs cgroups (hybrid v1 + empty v2 on this VM: runc copes).
//   - --cgroup-parent /vstd-SUFFIX: the containers' cgroups
//     (/sys/fs/cgroup/*/vstd-SUFFIX/ID) are the test's, told apart from
//     other daemons' and removed at cleanup.
//
// Still outside the private directory: containerd 1.6's runc v2 shims
// listen on /run/containerd/s/HASH (a fixed place; each shim removes its
// socket when it exits), dockerd raises kernel.keys.root_maxkeys and
// root_maxbytes if they are below 1000000 and 25000000 (Debian's
// defaults already are), and containers' cgroups are made under the
// hierarchy roots.
//
// Cleanup, registered before anything starts: every container is removed
// (`docker rm -f`, so a network driver is told of each endpoint leaving)
// and the unused networks are removed (`docker network prune`); dockerd,
// then containerd, get SIGTERM, then SIGKILL after a timeout; what is
// left in the daemon's cgroups and every process naming the private
// directory (runc shims) is killed; shim sockets left by killed shims
// are removed; everything mounted under the directory (the data root's
// private bind mount, netns bind mounts, shm mounts) is unmounted; the
// cgroups are removed, then the directory. Anything cleanup had to kill
// or found dead is reported as a test error. A remote network driver
// must still answer then: start it (and write its spec) before Start, so
// that its cleanup runs after the daemon's; otherwise it never sees the
// network removed, and `docker network prune` waits about 15 s for it.
// If the test process dies without cleanup (a panic, go test's timeout,
// Ctrl-C), both daemons get SIGTERM (Pdeathsig, from a thread kept for
// them) and shut down by themselves; what they leave then (a killed
// container's mounts under /tmp/vstd-*, its shim) stays.
//
// A failed start fails the test with the tail of dockerd's log
// (DIR/dockerd.log; containerd's is DIR/containerd.log).
//
// # Images and plugins
//
// ImportBusybox imports, offline, an image made from Debian's
// busybox-static (cnitest.WriteBusyboxRootfs): sh, sleep, ping, ip,
// ifconfig, wget, nc... Busybox ping opens a raw socket: run containers
// with --cap-add NET_RAW.
//
// dockerd finds remote network and IPAM drivers by name in
// /etc/docker/plugins (also /run/docker/plugins and /usr/lib/docker/plugins:
// no flag moves them). WritePluginSpec writes /etc/docker/plugins/NAME.spec
// pointing at a unix socket and removes it at cleanup. That directory is
// shared by every dockerd on the machine, so each test must use its own
// name, e.g. cnitest.UniqueName("vst-"): parallel tests then never find
// each other's driver. A name already there fails the test.
package dockertest

// Package cnibench measures how long a CNI network takes to attach and
// detach a container, driving its plugins through libcni exactly as a
// runtime (containerd, CRI-O, podman's CNI backend) does:
// libcni.NewCNIConfig with the plugin directories, then AddNetworkList
// and DelNetworkList on the conflist, one sandbox namespace per attach.
//
// Measure runs two phases for one conflist: N attaches one after
// another, then N attaches by Parallel workers at once. In each phase
// the N namespaces are made first (not timed), then every ADD is timed,
// then, with all N attached, every DEL; then the namespaces go. Each
// call's latency is kept and the phase reports p50 and p99 (nearest
// rank) of ADD and of DEL, the counts and the errors. An untimed
// warm-up attach comes first (the bridge plugin makes its bridge on the
// first ADD, which is set-up, not attach latency).
//
// It is a benchmark, not a timed test: the figures depend on the
// machine and its load. The command:
//
//	go run ./perf/cnibench/cmd/cnibench -plugin-dir /usr/lib/cni \
//	    -conflist a.conflist -conflist b.conflist -n 100 -parallel 20
//
// prints one table row per conflist and the ratio of each figure to the
// first conflist's. Bridges named by a bridge-type plugin of the
// conflist that did not exist before are deleted at the end.
package cnibench

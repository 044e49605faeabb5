#!/usr/bin/env bash
# TCP bulk benchmark: iperf3 between two network namespaces, 1 and 4
# streams, 10 s, through a Linux bridge (veth, offloads as they come) and
# through each Vecswitch attach mode: tap devices with virtio-net headers
# (vecswitch-tap), AF_PACKET veth host ends with virtio-net headers
# (vecswitch-afpacket), AF_XDP veth host ends with the XDP fast path
# (vecswitch-fastpath) and without (vecswitch); then a VXLAN overlay to a
# kernel VTEP in a namespace, from a Linux bridge + kernel vxlan device
# (linux-bridge-vxlan) and from Vecswitch (vecswitch-vxlan: tap with
# offloads, AF_XDP underlay). Each with the host's CPU per Gbit/s.
#
#   sudo perf/tcp.sh                         # every path, 1 and 4 streams
#   sudo perf/tcp.sh -only linux-bridge,vecswitch-tap -streams 1 -json
#
# Flags go to vsbench -tcp-bulk (-help). Needs root, Go 1.26 and iperf3.
# Everything it creates has a unique name and is removed when it exits,
# also on Ctrl-C or SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "tcp.sh: run as root: it creates network namespaces, veth pairs, taps, a bridge, XDP programs and AF_XDP sockets" >&2
	exit 1
fi
command -v iperf3 >/dev/null || { echo "tcp.sh: iperf3 not found (apt-get install iperf3)" >&2; exit 1; }

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/vsbench" ./perf/cmd/vsbench
# In the background so that a SIGTERM sent to this script reaches vsbench,
# which then removes what it created before exiting.
"$bin/vsbench" -tcp-bulk "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM INT HUP
rc=0
while :; do
	wait "$pid" && rc=0 || rc=$?
	kill -0 "$pid" 2>/dev/null || break
done
exit "$rc"

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
. perf/lib.sh

need_root "network namespaces, veth pairs, taps, a bridge, XDP programs and AF_XDP sockets"
need_cmd iperf3 iperf3
run_vsbench -tcp-bulk "$@"

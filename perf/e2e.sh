#!/usr/bin/env bash
# End-to-end benchmark: 64-byte UDP packets/s and TCP throughput from one
# network namespace to another through a Linux bridge, through Vecswitch
# (AF_XDP veth ports, one pinned worker; with its XDP fast path; with
# AF_PACKET veth ports that keep the namespaces' TSO) and through two AF_XDP
# cross-connects (asavie/xdp, and ours without switching), side by side.
#
#   sudo perf/e2e.sh                      # every path, 5 s windows
#   sudo perf/e2e.sh -duration 10s -json  # flags go to vsbench (-help)
#   sudo perf/e2e.sh -gen xdp-live -no-tcp
#
# The UDP generator is an AF_XDP socket in copy mode on the sender's eth0
# (-gen afxdp, the default: sender-bound at some 0.2-0.45 Mpps on a small
# VM) or BPF_PROG_RUN in live-frame mode (-gen xdp-live: an XDP_TX program
# run on the sender's eth0, thousands of frames per system call, no skb on
# the sender's side; GRO is switched on on the veth host ends; Linux 5.18
# or later). Each path's report also gives how busy the forwarder's and
# the generator's CPUs were over the UDP window (/proc/stat).
#
# Needs root, Go 1.26 and iperf3 (TCP is skipped without it). Everything
# the benchmark creates has a unique name and is removed when it exits,
# also on Ctrl-C or SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
. perf/lib.sh

need_root "network namespaces, veth pairs, a bridge, XDP programs and AF_XDP sockets"
args=("$@")
if ! command -v iperf3 >/dev/null; then
	echo "e2e.sh: iperf3 not found: measuring UDP only (apt-get install iperf3 for TCP)" >&2
	args=(-no-tcp "${args[@]}")
fi
run_vsbench "${args[@]}"

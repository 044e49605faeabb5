#!/usr/bin/env bash
# Security-group benchmark: short TCP connections per second (connect,
# 16-byte request and reply, close; 4 client loops in one namespace, a
# server in another, all on CPU 0) and iperf3 (1 stream, 10 s) through
# the Linux bridge without rules and with 1,000 nftables rules plus the
# kernel's conntrack (linux-bridge, linux-bridge-nft; the bridge in a
# namespace of its own), and through Vecswitch's offload taps without and
# with 1,000 security-group rules in 100 groups on both ports
# (vecswitch-tap, vecswitch-tap-sg; its worker on CPU 1), in the same
# run, with the host's CPU per connection and per Gbit/s and the ratios
# to the Linux path. AF_PACKET veths: -only vecswitch-afpacket,vecswitch-afpacket-sg.
#
#   sudo perf/sg.sh                                  # the four default paths
#   sudo perf/sg.sh -conn-duration 10 -streams 1,4 -json
#
# Flags go to vsbench -sg (-help). Needs root, Go 1.26, iperf3 and nft
# (nftables). Everything it creates has a unique name and is removed when
# it exits, also on Ctrl-C or SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
. perf/lib.sh

need_root "network namespaces, veth pairs, taps, a bridge and an nftables table"
need_cmd iperf3 iperf3
need_cmd nft nftables
run_vsbench -sg "$@"

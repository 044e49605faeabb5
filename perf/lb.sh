#!/usr/bin/env bash
# Service (load balancer) benchmark: TCP to a VIP load-balanced over
# three backends, the client and the backends on two networks routed by
# the path: short connections per second (connect, 16-byte request and
# reply, close; 4 client loops in one namespace, 4 server threads in each
# backend's, all on CPU 0) and bulk streams (1 and 4, 10 s each, 128 KiB
# writes, the backends discarding) through
#   linux-bridge-nft-dnat: a router namespace with two Linux bridges and
#     the VIP as nftables DNAT (jhash over 3 backends) + kernel conntrack;
#   vecswitch-svc: Vecswitch routing between two bridges of offload taps,
#     the VIP a Config.NAT.Services entry (Maglev); its worker on CPU 1;
# in the same run, with the host's CPU per connection and per Gbit/s, the
# ratios to the kernel and how many connections each backend took.
#
#   sudo perf/lb.sh
#   sudo perf/lb.sh -conn-duration 10 -streams 1,4 -json
#
# Flags go to vsbench -lb (-help). Needs root, Go 1.26 and nft
# (nftables). Everything it creates has a unique name and is removed when
# it exits, also on Ctrl-C or SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
. perf/lib.sh

need_root "network namespaces, veth pairs, taps, bridges and an nftables table"
need_cmd nft nftables
run_vsbench -lb "$@"

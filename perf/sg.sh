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

if [ "$(id -u)" -ne 0 ]; then
	echo "sg.sh: run as root: it creates network namespaces, veth pairs, taps, a bridge and an nftables table" >&2
	exit 1
fi
command -v iperf3 >/dev/null || { echo "sg.sh: iperf3 not found (apt-get install iperf3)" >&2; exit 1; }
command -v nft >/dev/null || { echo "sg.sh: nft not found (apt-get install nftables)" >&2; exit 1; }

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/vsbench" ./perf/cmd/vsbench
# In the background so that a SIGTERM sent to this script reaches vsbench,
# which then removes what it created before exiting.
"$bin/vsbench" -sg "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM INT HUP
rc=0
while :; do
	wait "$pid" && rc=0 || rc=$?
	kill -0 "$pid" 2>/dev/null || break
done
exit "$rc"

# What perf/e2e.sh, tcp.sh, sg.sh and lb.sh share, sourced by each from
# the repository's root after `set -euo pipefail`; not run on its own.
# Messages start with the sourcing script's name.

# need_root WHAT: exits unless run as root, saying that the script
# creates WHAT.
need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "${0##*/}: run as root: it creates $1" >&2
		exit 1
	fi
}

# need_cmd CMD PACKAGE: exits unless CMD is in PATH, naming the Debian
# package that has it.
need_cmd() {
	command -v "$1" >/dev/null || { echo "${0##*/}: $1 not found (apt-get install $2)" >&2; exit 1; }
}

# run_vsbench ARGS...: builds perf/cmd/vsbench into a temporary directory
# (removed at exit), runs it with ARGS and exits with its status.
run_vsbench() {
	vsbench_dir=$(mktemp -d)
	trap 'rm -rf "$vsbench_dir"' EXIT
	go build -o "$vsbench_dir/vsbench" ./perf/cmd/vsbench
	# In the background so that a SIGTERM sent to the script reaches
	# vsbench, which then removes what it created before exiting. (Ctrl-C
	# reaches it directly: it is in the terminal's foreground process
	# group.)
	"$vsbench_dir/vsbench" "$@" &
	vsbench_pid=$!
	trap 'kill -TERM "$vsbench_pid" 2>/dev/null || true' TERM INT HUP
	local rc=0
	while :; do
		wait "$vsbench_pid" && rc=0 || rc=$?
		# wait returns early (>128) when a trapped signal arrives; go on
		# waiting until vsbench has really exited.
		kill -0 "$vsbench_pid" 2>/dev/null || break
	done
	exit "$rc"
}

# apt-progress.sh: sourced by the ensure-*.sh scripts.
#
# apt_progress PREFIX COMMAND...: runs an apt-get command with its output in
# a log file and, every 10 s while it runs, prints on stderr how long it has
# been running and its latest line ("Unpacking erlang-base …"), so that a
# first `make` is not silent for the minutes an install takes. On failure
# it prints the end of the log.
apt_progress() {
	local prefix=$1
	shift
	local log start pid rc
	log=$(mktemp -t oslohost-apt.XXXXXX)
	start=$SECONDS
	"$@" >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			sleep 1
			kill -0 "$pid" 2>/dev/null || break 2
		done
		echo "${prefix}: $1 ${2:-} still running ($((SECONDS - start))s): $(tail -n 1 "$log" | cut -c1-100)" >&2
	done
	rc=0
	wait "$pid" || rc=$?
	if [[ $rc != 0 ]]; then
		echo "${prefix}: $* failed (exit ${rc}); its last lines:" >&2
		tail -n 20 "$log" >&2
	fi
	rm -f "$log"
	return "$rc"
}

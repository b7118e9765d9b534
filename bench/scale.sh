#!/usr/bin/env bash
# bench/scale.sh (make bench-scale): how oslohost's cost grows. One host
# (pool executor, 64 workers, the echo plugin, as bench/oslohost-pool.hcl)
# per case, measured by `oslohost bench`; for each case calls/s, p50/p99,
# the host's peak RSS and goroutines (go_goroutines of its /metrics, sampled
# every 0.5 s) and the plugins' RSS:
#
#   c256, c1024      C = 256 and 1,024 callers, 100 B
#   p10k, p1m        10 KiB at C = 64, 1 MiB at C = 8
#   topics100        100 servers (topics) on one host and plugin, 4 of them
#                    called at C = 16 each (the others idle)
#   backlog10k       10,000 calls queued before the host starts (their
#                    callers wait 120 s): time to drain them
#   plugins50        50 plugins (and 50 servers) on one host, 4 of them
#                    called at C = 16 each
#
# Environment: SCALE_DURATION [5] seconds measured per case, SCALE_CASES
# (default all), OSLOHOST_TRANSPORT_URL. Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
GO=${GO:-go}
BIN=$ROOT/bin
DURATION=${SCALE_DURATION:-5}
CASES=${SCALE_CASES:-"c256 c1024 p10k p1m topics100 backlog10k plugins50"}
URL=${OSLOHOST_TRANSPORT_URL:-rabbit://guest:guest@127.0.0.1:5672/}
say() { echo "scale: $*" >&2; }

$GO build -o "$BIN/" ./cmd/oslohost
mkdir -p "$BIN/plugins" "$BIN/bench"
$GO build -o "$BIN/plugins/" ./plugins/examples/echo
$GO build -o "$BIN/bench/" ./bench/loadgen
scripts/ensure-broker.sh >&2

WORK=$(mktemp -d)
HOST=
cleanup() {
	[[ -n $HOST ]] && kill -TERM "$HOST" 2>/dev/null && wait "$HOST" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
RUN=$(date +%s)-$$
PORT=$((20000 + $$ % 20000))

vmrss() { awk '/^VmRSS:/ {print $2; f=1} END {if (!f) print 0}' "/proc/$1/status" 2>/dev/null || echo 0; }
goroutines() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^go_goroutines / {print $2}'; }
plugins_rss() { local t=0 p; for p in $(pgrep -P "$HOST" || true); do t=$((t + $(vmrss "$p"))); done; echo $t; }

# config SERVERS PLUGINS: an HCL config with that many echo servers
# (topics s-RUN-i) spread over that many echo plugins.
config() {
	local n=$1 np=$2 i f=$WORK/scale.hcl
	{
		printf 'transport {\n  url = "%s"\n}\nadmin {\n  listen = "127.0.0.1:%d"\n}\nlog {\n  level = "warn"\n}\n' "$URL" "$PORT"
		printf 'executor "pool" {\n  kind = "pool"\n  workers = 64\n}\n'
		for ((i = 0; i < np; i++)); do
			printf 'plugin "echo%d" {\n  command = "%s"\n}\n' "$i" "$BIN/plugins/echo"
		done
		for ((i = 0; i < n; i++)); do
			printf 'server "s%d" {\n  topic = "s-%s-%d"\n  server = "scale"\n  executor = "pool"\n  plugins = ["echo%d"]\n}\n' "$i" "$RUN" "$i" $((i % np))
		done
	} >"$f"
	echo "$f"
}

# start_host CONFIG [LAST]: start the host, wait until servers 0 and LAST
# answer.
start_host() {
	"$BIN/oslohost" run "$1" >"$WORK/host.log" 2>&1 &
	HOST=$!
	local i t
	for t in 0 "${2:-0}"; do
		for ((i = 0; i < 120; i++)); do
			if "$BIN/oslohost" call --url "$URL" --topic "s-$RUN-$t" --timeout 2s echo value=1 >/dev/null 2>&1; then
				break
			fi
			sleep 1
		done
		((i < 120)) || break
	done
	if ((i < 120)); then
		return 0
	fi
	say "host did not answer"
	cat "$WORK/host.log" >&2
	exit 1
}

stop_host() {
	kill -TERM "$HOST" 2>/dev/null || true
	wait "$HOST" 2>/dev/null || true
	HOST=
}

# sample OUT: peak host RSS (KiB), goroutines and plugin RSS until $WORK/stop.
sample() {
	local peak=0 g=0 pr=0 r
	while [[ ! -e $WORK/stop ]]; do
		r=$(vmrss "$HOST") && ((r > peak)) && peak=$r
		r=$(goroutines || echo 0) && [[ -n $r ]] && ((r > g)) && g=$r
		r=$(plugins_rss) && ((r > pr)) && pr=$r
		sleep 0.5
	done
	echo "$peak $g $pr" >"$1"
}

# row CASE DESCRIPTION JSON...: one table row from bench results (summed
# calls/s, the first's percentiles) and the samples.
row() {
	local c=$1 d=$2
	shift 2
	read -r peak g pr <"$WORK/samples"
	python3 - "$c" "$d" "$peak" "$g" "$pr" "$(vmrss "$HOST")" "$@" <<'EOF'
import json, sys
c, d, peak, g, pr, idle = sys.argv[1:7]
rs = []
for p in sys.argv[7:]:
    try:
        rs.append(json.load(open(p)))
    except ValueError:
        print("scale: %s: no result" % p, file=sys.stderr)
if not rs:
    print("| %s | %s | no result | | | | | | |" % (c, d))
    sys.exit(0)
cps = sum(r["calls_per_s"] for r in rs)
p50 = max(r["latency"]["p50_ms"] for r in rs)
p99 = max(r["latency"]["p99_ms"] for r in rs)
failed = sum(r["errors"] + r["timeouts"] for r in rs)
print("| %s | %s | %.0f | %.2f | %.2f | %d | %.1f | %s | %.1f |" % (
    c, d, cps, p50, p99, failed, int(peak) / 1024, g, int(pr) / 1024))
EOF
}

# run_case CASE DESCRIPTION SERVERS PLUGINS "C PAYLOAD TOPIC-INDEX"...
run_case() {
	local c=$1 d=$2 n=$3 np=$4
	shift 4
	say "$c: $d"
	start_host "$(config "$n" "$np")" $((n - 1))
	rm -f "$WORK/stop"
	sample "$WORK/samples" &
	local sp=$! outs=() spec k=0 pids=()
	for spec in "$@"; do
		read -r cc p ti <<<"$spec"
		"$BIN/oslohost" bench --url "$URL" --topic "s-$RUN-$ti" -c "$cc" --payload-size "$p" \
			--duration "${DURATION}s" --warmup 1s --timeout 60s --json -q >"$WORK/b$k.json" 2>>"$WORK/bench.err" &
		pids+=($!)
		outs+=("$WORK/b$k.json")
		k=$((k + 1))
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
	cat "$WORK/bench.err" >&2 2>/dev/null || true
	: >"$WORK/bench.err"
	touch "$WORK/stop"
	wait "$sp"
	row "$c" "$d" "${outs[@]}"
	stop_host
}

echo "| case | what | calls/s | p50 ms | p99 ms | failed | host RSS peak MiB | host goroutines peak | plugins RSS peak MiB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for c in $CASES; do
	case $c in
	c256) run_case c256 "C=256, 100 B" 1 1 "256 100 0" ;;
	c1024) run_case c1024 "C=1,024, 100 B" 1 1 "1024 100 0" ;;
	p10k) run_case p10k "C=64, 10 KiB" 1 1 "64 10240 0" ;;
	p1m) run_case p1m "C=8, 1 MiB" 1 1 "8 1048576 0" ;;
	topics100) run_case topics100 "100 servers on one host (and plugin); 4 of them at C=16 each" 100 1 \
		"16 100 0" "16 100 25" "16 100 50" "16 100 99" ;;
	plugins50) run_case plugins50 "50 plugins, 50 servers; 4 of them at C=16 each" 50 50 \
		"16 100 0" "16 100 12" "16 100 25" "16 100 49" ;;
	backlog10k)
		say "backlog10k: 10,000 calls queued before the host starts"
		start_host "$(config 1 1)"
		stop_host # its queues stay (not auto-delete), now without a consumer
		# 10,000 callers at once (each waits up to 120 s), then the host.
		"$BIN/bench/loadgen" -url "${URL/#rabbit:/amqp:}" -topic "s-$RUN-0" -concurrency 10000 -count 10000 -warmup 0 \
			-timeout 120s -nofirst >"$WORK/b0.json" 2>>"$WORK/bench.err" &
		lp=$!
		sleep 3
		rm -f "$WORK/stop"
		t0=$(date +%s.%N)
		start_host "$WORK/scale.hcl"
		sample "$WORK/samples" &
		sp=$!
		wait "$lp" || true
		t1=$(date +%s.%N)
		touch "$WORK/stop"
		wait "$sp"
		row backlog10k "10,000 calls queued at start: drained in $(python3 -c "print('%.1f' % ($t1 - $t0))") s from the host's start" "$WORK/b0.json"
		stop_host
		;;
	*) say "unknown case $c" ;;
	esac
done

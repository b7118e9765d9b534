#!/usr/bin/env bash
# bench/run.sh (make bench): oslohost against the broker ceiling and the
# Python oslo.messaging server, side by side, measured by `oslohost bench`.
#
# Systems, each an "echo" RPC server on its own topic of the same RabbitMQ:
#   ceiling            bench/ceiling: bare amqp091-go consumer replying at once
#   ceiling-oslo       the same keeping what an oslo server does on the wire
#                      (ack each request on receipt, replies mandatory, confirms)
#   oslohost-pool      oslohost + the echo plugin, pool executor (64 workers)
#   oslohost-pool-2p   the same with GOMAXPROCS=2 in the host's environment
#                      (host and plugin: Go's own default on 2 CPUs, which the
#                      host no longer picks by itself on a machine this small)
#   oslohost-blocking  oslohost + the echo plugin, blocking executor
#   oslohost-pypool    oslohost + the same Python EchoEndpoint class as "python",
#                      as a Python plugin (sdk/python), pool executor (64 workers)
#   python             bench/pyecho/echo_server.py: oslo.messaging, threading executor
#
# For each concurrency C and payload size, every system is measured once per
# round, in turn (the order rotates each round), for BENCH_ROUNDS rounds;
# the table shows the median round. All servers run for the whole script.
# Also measured: host RSS idle and under C=64 load, the plugin call alone
# (BenchmarkInvoke), and whether the load generator is the bottleneck: the
# ceilings at C=64 driven by `oslohost bench` over one and two connections
# and by bench/loadgen, a minimal oslo-wire caller, interleaved.
#
# Environment (defaults in brackets):
#   BENCH_DURATION [10]   measured seconds per run
#   BENCH_WARMUP   [2]    warm-up seconds per run
#   BENCH_ROUNDS   [3]    rounds; the median is reported
#   BENCH_CONCURRENCY ["1 8 64"]      BENCH_PAYLOADS ["100 10240"]
#   BENCH_SYSTEMS  ["ceiling ceiling-oslo oslohost-pool oslohost-pool-2p oslohost-blocking oslohost-pypool python"]
#   BENCH_BASE     [unset]  a commit (e.g. main): also measure its oslohost and
#                  echo plugin as system "base-pool" (pool config, built in a
#                  temporary worktree), interleaved with the others: before/after
#                  in one run
#   BENCH_OUT      [bench/results.md]  the raw results go next to it (.jsonl)
#   BENCH_INVOKE   [1]    0: skip BenchmarkInvoke
#   OSLOHOST_TRANSPORT_URL [rabbit://guest:guest@127.0.0.1:5672/]
# Quick run: BENCH_DURATION=3 BENCH_WARMUP=1 BENCH_ROUNDS=1 make bench
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
ROUNDS=${BENCH_ROUNDS:-3}
CONCURRENCY=${BENCH_CONCURRENCY:-"1 8 64"}
PAYLOADS=${BENCH_PAYLOADS:-"100 10240"}
SYSTEMS=${BENCH_SYSTEMS:-"ceiling ceiling-oslo oslohost-pool oslohost-pool-2p oslohost-blocking oslohost-pypool python"}
BASE=${BENCH_BASE:-}
OUT=${BENCH_OUT:-bench/results.md}
RAW=${OUT%.md}.jsonl
URL=${OSLOHOST_TRANSPORT_URL:-rabbit://guest:guest@127.0.0.1:5672/}
PYTHON=/usr/bin/python3
GO=${GO:-go}
BIN=$ROOT/bin
OSLOHOST=$BIN/oslohost

say() { echo "bench: $*" >&2; }

# --- build and dependencies -------------------------------------------------
say "building oslohost, the echo plugin and the ceiling server"
$GO build -o "$BIN/" ./cmd/oslohost
mkdir -p "$BIN/plugins" "$BIN/bench"
$GO build -o "$BIN/plugins/" ./plugins/examples/echo
$GO build -o "$BIN/bench/" ./bench/ceiling ./bench/loadgen
scripts/ensure-broker.sh
scripts/ensure-python-peer.sh

WORK=$(mktemp -d)
declare -A PID TOPIC
if [[ -n $BASE ]]; then
	say "building oslohost and the echo plugin of $BASE (system base-pool)"
	git worktree add --detach "$WORK/base" "$BASE" >/dev/null
	(cd "$WORK/base" && $GO build -o "$WORK/basebin/" ./cmd/oslohost && $GO build -o "$WORK/basebin/plugins/" ./plugins/examples/echo)
	SYSTEMS="$SYSTEMS base-pool"
fi
cleanup() {
	local s
	for s in "${!PID[@]}"; do
		kill -TERM "${PID[$s]}" 2>/dev/null || true
	done
	for s in "${!PID[@]}"; do
		wait "${PID[$s]}" 2>/dev/null || true
	done
	if [[ -n $BASE ]]; then
		git worktree remove --force "$WORK/base" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RUN_ID=$(date +%s)-$$

# vmrss PID: resident set size in KiB (0 when the process is gone).
vmrss() { awk '/^VmRSS:/ {print $2; found=1} END {if (!found) print 0}' "/proc/$1/status" 2>/dev/null || echo 0; }

# cputicks PID...: user+system CPU time of the processes, in clock ticks.
cputicks() {
	local t=0 p
	for p in "$@"; do
		[[ -r /proc/$p/stat ]] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo $t
}
HZ=$(getconf CLK_TCK)
beam_pid() { { pgrep -x beam.smp || true; } | head -1; }

# plugin_pid HOSTPID: the host's child process (the echo plugin).
plugin_pid() { { pgrep -P "$1" || true; } | head -1; }

# start SYSTEM: start its server on a fresh topic, wait until it answers.
start() {
	local s=$1 t="b-$1-$RUN_ID"
	TOPIC[$s]=$t
	case $s in
	ceiling)
		"$BIN/bench/ceiling" -url "${URL/#rabbit:/amqp:}" -topic "$t" >"$WORK/$s.log" 2>&1 &
		;;
	ceiling-oslo)
		"$BIN/bench/ceiling" -oslo -url "${URL/#rabbit:/amqp:}" -topic "$t" >"$WORK/$s.log" 2>&1 &
		;;
	base-pool)
		OSLOHOST_BENCH_TOPIC=$t OSLOHOST_BENCH_ECHO=$WORK/basebin/plugins/echo OSLOHOST_TRANSPORT_URL=$URL \
			"$WORK/basebin/oslohost" run bench/oslohost-pool.hcl >"$WORK/$s.log" 2>&1 &
		;;
	oslohost-*)
		# The -2p variant sets GOMAXPROCS=2 (the host passes it on to the
		# plugin); the others run as the host decides.
		env $([[ $s == *-2p ]] && echo GOMAXPROCS=2) \
			OSLOHOST_BENCH_TOPIC=$t OSLOHOST_BENCH_ECHO=$BIN/plugins/echo OSLOHOST_TRANSPORT_URL=$URL \
			OSLOHOST_BENCH_PYTHONPATH=$ROOT/sdk/python:$ROOT/bench/pyecho \
			"$OSLOHOST" run "bench/${s%-2p}.hcl" >"$WORK/$s.log" 2>&1 &
		;;
	python)
		"$PYTHON" bench/pyecho/echo_server.py --url "$URL" --topic "$t" >"$WORK/$s.log" 2>&1 &
		;;
	*)
		say "unknown system $s"
		exit 2
		;;
	esac
	PID[$s]=$!
	local i
	for ((i = 0; i < 60; i++)); do
		if "$OSLOHOST" call --url "$URL" --topic "$t" --timeout 2s echo value=1 >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "${PID[$s]}" 2>/dev/null; then
			break
		fi
		sleep 1
	done
	say "$s did not answer on topic $t; its log:"
	cat "$WORK/$s.log" >&2
	exit 1
}

# measure SYSTEM C PAYLOAD ROUND [TRANSPORTS [GENERATOR]]: one run of the
# load generator (bench: `oslohost bench`; loadgen: bench/loadgen); appends
# one JSON line to $RAW with the server's peak RSS during the run and the
# CPU time (ms) the server (with its children), the generator and the broker
# used in it.
measure() {
	local s=$1 c=$2 p=$3 round=$4 tr=${5:-1} gen=${6:-bench} out="$WORK/bench.json" peak=0 peakp=0 r pp
	local pid=${PID[$s]}
	pp=$(if [[ $s == oslohost-* || $s == base-* ]]; then plugin_pid "$pid"; fi)
	local s0 b0
	s0=$(cputicks "$pid" $pp) b0=$(cputicks $(beam_pid))
	# bash's time keyword writes the generator's user and system CPU
	# seconds to gen.time.
	{
		TIMEFORMAT='%3U %3S'
		if [[ $gen == loadgen* ]]; then
			time "$BIN/bench/loadgen" $([[ $gen == loadgen-oslo ]] && echo -oslo) -url "${URL/#rabbit:/amqp:}" -topic "${TOPIC[$s]}" -concurrency "$c" -payload-size "$p" \
				-duration "${DURATION}s" -warmup "${WARMUP}s" -timeout 30s >"$out" 2>"$WORK/bench.err"
		else
			time "$OSLOHOST" bench --url "$URL" --topic "${TOPIC[$s]}" --concurrency "$c" --payload-size "$p" \
				--duration "${DURATION}s" --warmup "${WARMUP}s" --timeout 30s --transports "$tr" \
				--json --quiet >"$out" 2>"$WORK/bench.err"
		fi
	} 2>"$WORK/gen.time" &
	local bpid=$!
	while kill -0 "$bpid" 2>/dev/null; do
		r=$(vmrss "$pid")
		((r > peak)) && peak=$r
		if [[ -n $pp ]]; then
			r=$(vmrss "$pp")
			((r > peakp)) && peakp=$r
		fi
		sleep 0.5
	done
	wait "$bpid" || true # exit 1 when some calls failed: still measured
	local scpu bcpu gcpu
	scpu=$(($(cputicks "$pid" $pp) - s0)) bcpu=$(($(cputicks $(beam_pid)) - b0))
	gcpu=$(awk '{printf "%d", ($1 + $2) * 1000}' "$WORK/gen.time" 2>/dev/null || echo 0)
	local result=null
	if [[ -s $out ]]; then
		result=$(cat "$out")
	else
		say "$s C=$c payload=$p: no result"
		cat "$WORK/bench.err" >&2
	fi
	printf '{"system":"%s","concurrency":%d,"payload":%d,"round":%d,"transports":%d,"generator":"%s","rss_kib":%d,"plugin_rss_kib":%d,"cpu_ms":{"server":%d,"generator":%d,"broker":%d},"bench":%s}\n' \
		"$s" "$c" "$p" "$round" "$tr" "$gen" "$peak" "$peakp" $((scpu * 1000 / HZ)) "${gcpu:-0}" $((bcpu * 1000 / HZ)) "$result" >>"$RAW"
	if [[ $result != null ]]; then
		"$PYTHON" -c 'import json,sys; r=json.loads(sys.argv[1]); l=r["latency"]
print("bench: %-18s C=%-3s %6s B  %9.1f calls/s  p50 %7.3f ms  p99 %8.3f ms  errors %d timeouts %d" % (sys.argv[2], r.get("concurrency"), r["payload_bytes"], r["calls_per_s"], l["p50_ms"], l["p99_ms"], r["errors"], r["timeouts"]))' \
			"$result" "$s$([[ $tr -gt 1 ]] && echo " x$tr")$([[ $gen != bench ]] && echo " ($gen)")" >&2
	fi
}

# --- machine ------------------------------------------------------------------
META=$WORK/meta.json
"$PYTHON" - "$META" <<EOF
import json, subprocess, sys, platform
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:
        return "unknown (%s)" % e
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
json.dump({
    "date": sh("date -u '+%Y-%m-%d %H:%M UTC'"),
    "nproc": sh("nproc"), "cpu": cpu,
    "mem": sh("awk '/MemTotal/ {printf \"%.1f GiB\", \$2/1048576}' /proc/meminfo"),
    "kernel": platform.release(),
    "rabbitmq": sh("rabbitmqctl version 2>/dev/null") or "unknown",
    "go": sh("$GO version"),
    "oslo_messaging": sh("$PYTHON -c 'import importlib.metadata as m; print(m.version(\"oslo.messaging\"))'"),
    "python": platform.python_version(),
    "commit": sh("git rev-parse --short HEAD") + (" (dirty)" if sh("git status --porcelain") else ""),
    "duration_s": $DURATION, "warmup_s": $WARMUP, "rounds": $ROUNDS,
    "load_start": open("/proc/loadavg").read().split()[:3],
}, open(sys.argv[1], "w"))
EOF

: >"$RAW"
IDLE=$WORK/idle.tsv
: >"$IDLE"

# --- servers ------------------------------------------------------------------
read -r -a systems <<<"$SYSTEMS"
for s in "${systems[@]}"; do
	say "starting $s"
	start "$s"
done
sleep 2 # let them settle before reading idle memory
for s in "${systems[@]}"; do
	pp=$(if [[ $s == oslohost-* || $s == base-* ]]; then plugin_pid "${PID[$s]}"; fi)
	printf '%s\t%s\t%s\n' "$s" "$(vmrss "${PID[$s]}")" "$(if [[ -n $pp ]]; then vmrss "$pp"; else echo 0; fi)" >>"$IDLE"
done

# --- the matrix, interleaved --------------------------------------------------
n=${#systems[@]}
for c in $CONCURRENCY; do
	for p in $PAYLOADS; do
		for ((round = 1; round <= ROUNDS; round++)); do
			for ((k = 0; k < n; k++)); do
				measure "${systems[$(((k + round - 1) % n))]}" "$c" "$p" "$round"
			done
		done
	done
done

# --- is the load generator the bottleneck? -----------------------------------
# The ceilings at C=64, 100 B, driven by `oslohost bench` through one
# connection and through two, and by bench/loadgen (a minimal oslo-wire
# caller), interleaved. If neither a second connection nor the minimal
# generator gets more out of a ceiling than one `oslohost bench`
# connection, the generator is not what limits the measurements.
for ((round = 1; round <= ROUNDS; round++)); do
	for s in ceiling ceiling-oslo; do
		if [[ -n ${PID[$s]:-} ]]; then
			measure "$s" 64 100 "$round" 2
			measure "$s" 64 100 "$round" 1 loadgen
			measure "$s" 64 100 "$round" 1 loadgen-oslo
			measure "$s" 64 100 "$round" 1
		fi
	done
done

# --- the plugin call alone ------------------------------------------------------
: >"$WORK/invoke.txt"
if [[ ${BENCH_INVOKE:-1} != 0 ]]; then
	say "BenchmarkInvoke (host <-> plugin gRPC, no broker)"
	$GO test -run '^$' -bench Invoke -benchmem -benchtime 2s ./plugin/pluginv1/ | tee "$WORK/invoke.txt" >&2
fi

"$PYTHON" - "$META" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["load_end"] = open("/proc/loadavg").read().split()[:3]
json.dump(m, open(sys.argv[1], "w"))
EOF
"$PYTHON" bench/report.py --meta "$META" --idle "$IDLE" --invoke "$WORK/invoke.txt" "$RAW" | tee "$OUT"
say "wrote $OUT and $RAW"

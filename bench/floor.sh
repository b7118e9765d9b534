#!/usr/bin/env bash
# bench/floor.sh (make bench-floor): the parts of one oslo call on oslohost
# that cannot go, each measured alone on this machine, as CPU µs per call:
#   plugin hop   BenchmarkInvoke (plugin/pluginv1): one InvokeStream round
#                trip of the echo plugin over go-plugin's gRPC unix socket,
#                64 at once, host side and plugin side
#   AMQP         bench/floor: a request consumed and acked on receipt, a
#                reply published mandatory on a confirm channel and its
#                confirm awaited (amqp091-go alone), this process and the
#                broker
#   ceilings     bench/ceiling (bare, and -oslo) driven by bench/loadgen
#                -oslo at C=64: the server's CPU per call and the broker's
# Every process on one Go processor (GOMAXPROCS=1), as the host picks on
# this machine. Prints a markdown table; the raw lines go to $FLOOR_OUT
# [bench/floor.jsonl].
# Environment: FLOOR_COUNT [50000] messages/calls per part, FLOOR_SIZE [300]
# AMQP body bytes, OSLOHOST_TRANSPORT_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
N=${FLOOR_COUNT:-50000}
SIZE=${FLOOR_SIZE:-300}
OUT=${FLOOR_OUT:-bench/floor.jsonl}
URL=${OSLOHOST_TRANSPORT_URL:-rabbit://guest:guest@127.0.0.1:5672/}
AURL=${URL/#rabbit:/amqp:}
BIN=$PWD/bin/bench
export GOMAXPROCS=1
say() { echo "floor: $*" >&2; }

mkdir -p "$BIN"
$GO build -o "$BIN/" ./bench/floor ./bench/ceiling ./bench/loadgen
scripts/ensure-broker.sh
: >"$OUT"
echo "{\"part\":\"load\",\"uptime\":\"$(uptime)\"}" >>"$OUT"

cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
BEAM=$({ pgrep -x beam.smp || true; } | head -1)

for unary in 0 1; do
	say "plugin hop (BenchmarkInvoke, unary=$unary, ${N} calls)"
	OSLOHOST_PLUGIN_UNARY=$([[ $unary == 1 ]] && echo 1) $GO test -run '^$' -bench 'Invoke/(sequential|parallel64)/100B$' -benchtime "${N}x" ./plugin/pluginv1/ |
		awk -v unary=$unary '/^BenchmarkInvoke/ {h=p=""; for (i = 1; i <= NF; i++) {if ($(i+1) == "host-µs/op") h=$i; if ($(i+1) == "plugin-µs/op") p=$i}
			printf "{\"part\":\"grpc\",\"unary\":%s,\"name\":\"%s\",\"ns_per_op\":%s,\"host_us\":%s,\"plugin_us\":%s}\n", unary, $1, $3, h, p}' >>"$OUT"
done

for m in false true; do
	say "AMQP publish+confirm, consume+ack (multiple=$m, ${N} messages)"
	"$BIN/floor" -url "$AURL" -count "$N" -size "$SIZE" -multiple=$m | sed 's/^{/{"part":"amqp",/' >>"$OUT"
done

for mode in bare oslo; do
	t="b-floor-$mode-$$"
	"$BIN/ceiling" -url "$AURL" -topic "$t" $([[ $mode == oslo ]] && echo -oslo) >/dev/null 2>&1 &
	cpid=$!
	sleep 2
	say "ceiling ($mode) under loadgen -oslo, C=64, ${N} calls"
	c0=$(cputicks $cpid) b0=$(cputicks "$BEAM")
	TIMEFORMAT='%3U %3S'
	{ time "$BIN/loadgen" -oslo -url "$AURL" -topic "$t" -concurrency 64 -count "$N" -warmup 0s >"$OUT.tmp"; } 2>"$OUT.time"
	c1=$(cputicks $cpid) b1=$(cputicks "$BEAM")
	kill -TERM $cpid
	wait $cpid 2>/dev/null || true
	python3 - "$mode" "$N" "$HZ" "$c0" "$c1" "$b0" "$b1" "$OUT.tmp" "$OUT.time" >>"$OUT" <<'PY'
import json, sys
mode, n, hz, c0, c1, b0, b1, res, tm = sys.argv[1:]
n, hz = int(n), int(hz)
r = json.load(open(res))
u, s = map(float, open(tm).read().split())
calls = r.get("calls", n)
print(json.dumps({"part": "ceiling", "mode": mode, "calls": calls, "calls_per_s": r.get("calls_per_s"),
    "server_us": (int(c1) - int(c0)) * 1e6 / hz / calls, "broker_us": (int(b1) - int(b0)) * 1e6 / hz / calls,
    "loadgen_us": (u + s) * 1e6 / calls}))
PY
done
rm -f "$OUT.tmp" "$OUT.time"
echo "{\"part\":\"load-end\",\"uptime\":\"$(uptime)\"}" >>"$OUT"
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
g = {r["name"]: r for r in rows if r["part"] == "grpc" and not r["unary"]}
gu = {r["name"]: r for r in rows if r["part"] == "grpc" and r["unary"]}
a = {r["multiple"]: r for r in rows if r["part"] == "amqp"}
c = {r["mode"]: r for r in rows if r["part"] == "ceiling"}
par = next((v for k, v in g.items() if "parallel64" in k), None)
one = a.get(False)
print("| part (measured alone, C=64, one Go processor) | µs CPU per call |")
print("|---|---:|")
fl = 0.0
if one:
    p, k = one["publish_confirm"], one["consume_ack"]
    print(f"| request consumed, acked on receipt alone (amqp091-go) | {k['self_us_per_msg']:.1f} |")
    print(f"| reply published mandatory, confirm awaited (amqp091-go) | {p['self_us_per_msg']:.1f} |")
    fl += k["self_us_per_msg"] + p["self_us_per_msg"]
if par:
    print(f"| plugin hop, host side (gRPC InvokeStream over the unix socket) | {par['host_us']:.1f} |")
    print(f"| plugin hop, plugin side (the echo plugin, gRPC and its JSON) | {par['plugin_us']:.1f} |")
    fl += par["host_us"] + par["plugin_us"]
print(f"| **sum: the floor of host + plugin** | **{fl:.1f}** |")
paru = next((v for k, v in gu.items() if "parallel64" in k), None)
if paru:
    print(f"| (plugin hop as unary Invoke instead: host + plugin) | {paru['host_us']:.1f} + {paru['plugin_us']:.1f} |")
for k, v in list(g.items()) + list(gu.items()):
    if "sequential" in k:
        print(f"| (plugin hop one at a time, {'unary' if v['unary'] else 'stream'}: host + plugin, {v['ns_per_op']/1000:.0f} µs wall) | {v['host_us']:.1f} + {v['plugin_us']:.1f} |")
if True in a:
    m = a[True]
    print(f"| (consume with one multiple ack per burst instead) | {m['consume_ack']['self_us_per_msg']:.1f} |")
for mode in ("bare", "oslo"):
    if mode in c:
        r = c[mode]
        print(f"| ceiling ({mode}) own CPU per call, {r['calls_per_s']:.0f} calls/s | {r['server_us']:.1f} |")
if one:
    p, k = one["publish_confirm"], one["consume_ack"]
    print(f"| broker: one message published mandatory + confirmed | {p['broker_us_per_msg']:.1f} |")
    print(f"| broker: one message delivered + acked | {k['broker_us_per_msg']:.1f} |")
for mode in ("bare", "oslo"):
    if mode in c:
        print(f"| broker per call against the {mode} ceiling (loadgen -oslo) | {c[mode]['broker_us']:.1f} |")
        print(f"| loadgen -oslo's own CPU per call against the {mode} ceiling | {c[mode]['loadgen_us']:.1f} |")
for r in rows:
    if r["part"].startswith("load"):
        print(f"\n{r['part']}: {r['uptime'].strip()}")
PY

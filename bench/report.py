#!/usr/bin/python3
"""Turn the raw results of bench/run.sh (one JSON line per bench run) into
the markdown report: the median of the rounds per system, concurrency and
payload, ratios to the broker ceiling, memory, the load generator check,
the plugin call alone, and the targets of issue 6.

    bench/report.py --meta meta.json --idle idle.tsv --invoke invoke.txt results.jsonl
"""

import argparse
import json
import re
import statistics
import sys
from collections import defaultdict

SYSTEMS = ["ceiling", "oslohost-pool", "oslohost-pool-1p", "oslohost-blocking", "python"]
MIB = 1024.0


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def summarize(rows):
    """(system, C, payload) -> medians over rounds, single-transport runs."""
    cells = defaultdict(list)
    for r in rows:
        if r["transports"] == 1 and r["bench"]:
            cells[(r["system"], r["concurrency"], r["payload"])].append(r)
    out = {}
    for key, rs in cells.items():
        b = [r["bench"] for r in rs]
        out[key] = {
            "rounds": len(rs),
            "cps": med([x["calls_per_s"] for x in b]),
            "p50": med([x["latency"]["p50_ms"] for x in b]),
            "p99": med([x["latency"]["p99_ms"] for x in b]),
            "failed": sum(x["errors"] + x["timeouts"] for x in b),
            "rss": max(r["rss_kib"] for r in rs),
            "plugin_rss": max(r["plugin_rss_kib"] for r in rs),
        }
    return out


def order(key):
    s, c, p = key
    return (c, p, SYSTEMS.index(s) if s in SYSTEMS else 99, s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--idle", required=True)
    ap.add_argument("--invoke")
    ap.add_argument("raw")
    a = ap.parse_args()
    meta = json.load(open(a.meta))
    rows = load(a.raw)
    cells = summarize(rows)
    w = sys.stdout.write

    w("# oslohost benchmark results\n\n")
    w("Written by `bench/run.sh` (`make bench`); see BENCHMARKS.md for what is measured and how.\n\n")
    w("| | |\n|---|---|\n")
    for k, label in [("date", "date"), ("commit", "commit"), ("cpu", "CPU"), ("nproc", "nproc"),
                     ("mem", "memory"), ("kernel", "kernel"), ("rabbitmq", "RabbitMQ"),
                     ("go", "Go"), ("python", "Python"), ("oslo_messaging", "oslo.messaging")]:
        w("| %s | %s |\n" % (label, meta.get(k, "")))
    w("| runs | %ss measured after %ss warm-up, %s rounds interleaved, median shown |\n"
      % (meta["duration_s"], meta["warmup_s"], meta["rounds"]))
    w("| load average (1/5/15 min) | start %s, end %s |\n\n"
      % (" ".join(meta.get("load_start", [])), " ".join(meta.get("load_end", []))))

    w("## Calls/s and latency (closed loop, median of rounds)\n\n")
    w("| system | C | payload | calls/s | p50 ms | p99 ms | × ceiling calls/s | failed calls |\n")
    w("|---|---:|---:|---:|---:|---:|---:|---:|\n")
    for key in sorted(cells, key=order):
        s, c, p = key
        v = cells[key]
        ceil = cells.get(("ceiling", c, p))
        ratio = v["cps"] / ceil["cps"] if ceil and ceil["cps"] and v["cps"] is not None else None
        w("| %s | %d | %s | %s | %s | %s | %s | %d |\n" % (
            s, c, "10 KiB" if p == 10240 else "%d B" % p, fmt(v["cps"], ".0f"),
            fmt(v["p50"], ".2f"), fmt(v["p99"], ".2f"), fmt(ratio, ".2f"), v["failed"]))
    w("\n")

    w("## Memory (RSS)\n\n")
    w("| system | idle MiB | peak under C=64 MiB | plugin idle MiB | plugin peak under C=64 MiB |\n")
    w("|---|---:|---:|---:|---:|\n")
    idle = {}
    for line in open(a.idle):
        s, rss, prss = line.split()
        idle[s] = (int(rss), int(prss))
    peak = {}
    for (s, c, p), v in cells.items():
        if c == 64:
            old = peak.get(s, (0, 0))
            peak[s] = (max(old[0], v["rss"]), max(old[1], v["plugin_rss"]))
    for s in sorted(idle, key=lambda s: SYSTEMS.index(s) if s in SYSTEMS else 99):
        i, pk = idle[s], peak.get(s, (0, 0))
        plug = s.startswith("oslohost")
        w("| %s | %.1f | %s | %s | %s |\n" % (
            s, i[0] / MIB, "%.1f" % (pk[0] / MIB) if pk[0] else "n/a",
            "%.1f" % (i[1] / MIB) if plug else "", "%.1f" % (pk[1] / MIB) if plug and pk[1] else ""))
    w("\nThe oslohost rows are the host process alone; the echo plugin is its own process.\n\n")

    tr = defaultdict(list)
    for r in rows:
        if r["system"] == "ceiling" and r["concurrency"] == 64 and r["payload"] == 100 and r["bench"]:
            tr[r["transports"]].append(r["bench"]["calls_per_s"])
    if 2 in tr:
        w("## Is `oslohost bench` the bottleneck?\n\n")
        w("The ceiling at C=64, 100 B, driven over one broker connection and over two "
          "(`--transports 2`), interleaved; median calls/s (the one-connection runs include "
          "those of the table above).\n\n")
        w("| transports | runs | calls/s |\n|---:|---:|---:|\n")
        for k in sorted(tr):
            w("| %d | %d | %.0f |\n" % (k, len(tr[k]), med(tr[k])))
        w("\n")

    if a.invoke:
        w("## A plugin call alone (host ↔ plugin gRPC, no broker)\n\n")
        w("`BenchmarkInvoke` (plugin/pluginv1/bench_test.go): the real echo plugin started through go-plugin, "
          "`Invoke(\"echo\")` from the host side; parallel runs GOMAXPROCS goroutines.\n\n")
        w("| case | µs/call | calls/s | B/op | allocs/op |\n|---|---:|---:|---:|---:|\n")
        for line in open(a.invoke):
            m = re.match(r"BenchmarkInvoke/(\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op.*?(\d+) B/op\s+(\d+) allocs/op", line)
            if m:
                ns = float(m.group(3))
                w("| %s | %.1f | %.0f | %s | %s |\n" % (m.group(1), ns / 1e3, 1e9 / ns, m.group(4), m.group(5)))
        w("\n")

    w("## Targets of issue 6\n\n")
    def cell(s, c, p):
        return cells.get((s, c, p))
    ceil64, py64, ceil1 = cell("ceiling", 64, 100), cell("python", 64, 100), cell("ceiling", 1, 100)
    lines = []
    for s, label in (("oslohost-pool", "oslohost (pool)"), ("oslohost-pool-1p", "oslohost (pool, GOMAXPROCS=1)")):
        pool64, pool1 = cell(s, 64, 100), cell(s, 1, 100)
        if pool64 and ceil64:
            r = pool64["cps"] / ceil64["cps"]
            lines.append(("C=64, 100 B: %s ≥ 70 %% of the ceiling's calls/s" % label, "%.0f %%" % (100 * r), r >= 0.7))
        if pool64 and py64:
            r = pool64["cps"] / py64["cps"]
            lines.append(("C=64, 100 B: %s ≥ 8× the Python server's calls/s" % label, "%.1f×" % r, r >= 8))
        if pool1 and ceil1:
            d = pool1["p50"] - ceil1["p50"]
            lines.append(("C=1, 100 B: %s p50 ≤ ceiling p50 + 0.3 ms" % label, "+%.2f ms" % d, d <= 0.3))
    pool64 = cell("oslohost-pool", 64, 100)
    if "oslohost-pool" in idle:
        i = idle["oslohost-pool"][0] / MIB
        lines.append(("host RSS idle ≤ 40 MiB", "%.1f MiB" % i, i <= 40))
    if peak.get("oslohost-pool", (0, 0))[0]:
        pk = peak["oslohost-pool"][0] / MIB
        lines.append(("host RSS under C=64 ≤ 100 MiB", "%.1f MiB" % pk, pk <= 100))
    if 1 in tr and pool64:
        c1 = med(tr[1])
        lines.append(("bench drives the ceiling harder than oslohost (C=64, 100 B)",
                      "%.0f vs %.0f calls/s" % (c1, pool64["cps"]), c1 > pool64["cps"]))
    w("| target | measured | met |\n|---|---:|:---:|\n")
    for what, got, ok in lines:
        w("| %s | %s | %s |\n" % (what, got, "yes" if ok else "**no**"))


if __name__ == "__main__":
    main()

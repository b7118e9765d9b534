#!/usr/bin/python3
"""Turn the raw results of bench/run.sh (one JSON line per bench run) into
the markdown report: the median of the rounds per system, concurrency and
payload, ratios to both ceilings (bare, and with oslo's wire semantics), CPU
per call, memory, the load generator check, the plugin call alone, and the
targets of issues 15 and 16.

    bench/report.py --meta meta.json --idle idle.tsv --invoke invoke.txt results.jsonl
"""

import argparse
import json
import re
import statistics
import sys
from collections import defaultdict

SYSTEMS = ["ceiling", "ceiling-oslo", "base-pool", "oslohost-pool", "oslohost-pool-2p", "oslohost-blocking", "oslohost-pypool", "python"]
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
    """(system, C, payload) -> medians over rounds, single-transport runs
    of `oslohost bench`."""
    cells = defaultdict(list)
    for r in rows:
        if r["transports"] == 1 and r.get("generator", "bench") == "bench" and r["bench"]:
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
            "cpu": {k: med([per_call(r, k) for r in rs]) for k in ("server", "generator", "broker")},
        }
    return out


def per_call(r, k):
    """µs of CPU per call of process k in run r (warm-up calls included,
    estimated at the measured rate)."""
    cpu, b = r.get("cpu_ms"), r["bench"]
    if not cpu or not b or not b["calls_per_s"]:
        return None
    calls = b["calls"] + b["calls_per_s"] * b.get("warmup_s", 0)
    return cpu[k] * 1000.0 / calls if calls else None


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
    w("`× ceiling` is calls/s over the bare ceiling's in the same cell, `× oslo ceiling` over "
      "`ceiling-oslo`'s (acks each request on receipt, replies mandatory with confirms, as an oslo "
      "server). CPU is µs per call (medians of the rounds) of the server (host + plugin for oslohost), "
      "the broker and the load generator.\n\n")
    w("| system | C | payload | calls/s | p50 ms | p99 ms | × ceiling | × oslo ceiling | failed calls | server CPU µs | broker CPU µs | generator CPU µs |\n")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    def ratio(v, ceil):
        return v["cps"] / ceil["cps"] if ceil and ceil["cps"] and v["cps"] is not None else None
    for key in sorted(cells, key=order):
        s, c, p = key
        v = cells[key]
        w("| %s | %d | %s | %s | %s | %s | %s | %s | %d | %s | %s | %s |\n" % (
            s, c, size(p), fmt(v["cps"], ".0f"),
            fmt(v["p50"], ".2f"), fmt(v["p99"], ".2f"), fmt(ratio(v, cells.get(("ceiling", c, p))), ".2f"),
            fmt(ratio(v, cells.get(("ceiling-oslo", c, p))), ".2f"), v["failed"],
            fmt(v["cpu"]["server"], ".0f"), fmt(v["cpu"]["broker"], ".0f"), fmt(v["cpu"]["generator"], ".0f")))
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
        plug = s.startswith("oslohost") or s.startswith("base-")
        w("| %s | %.1f | %s | %s | %s |\n" % (
            s, i[0] / MIB, "%.1f" % (pk[0] / MIB) if pk[0] else "n/a",
            "%.1f" % (i[1] / MIB) if plug else "", "%.1f" % (pk[1] / MIB) if plug and pk[1] else ""))
    w("\nThe oslohost rows are the host process alone; the echo plugin (Python for oslohost-pypool) is its own process.\n\n")

    gens = defaultdict(list)
    for r in rows:
        if r["system"] in ("ceiling", "ceiling-oslo") and r["concurrency"] == 64 and r["payload"] == 100 and r["bench"]:
            g = r.get("generator", "bench")
            label = {"loadgen": "bench/loadgen (minimal)",
                     "loadgen-oslo": "bench/loadgen -oslo (minimal, oslo caller semantics)"}.get(g) or "`oslohost bench`, %d connection%s" % (
                r["transports"], "" if r["transports"] == 1 else "s")
            gens[(r["system"], label)].append(r)
    if any(k[1].startswith("bench/loadgen") or "2 connections" in k[1] for k in gens):
        w("## Is `oslohost bench` the bottleneck?\n\n")
        w("The ceilings at C=64, 100 B, driven by `oslohost bench` over one broker connection and over "
          "two (`--transports 2`), and by `bench/loadgen`, a minimal oslo-wire caller (raw amqp091-go, "
          "no confirms, no acks, requests from a byte template; `-oslo`: mandatory with confirms and acked replies, as an oslo client), interleaved; medians. If neither gets "
          "more out of a ceiling than one `oslohost bench` connection, the generator is not the limit "
          "(the one-connection runs include those of the table above).\n\n")
        w("| server | generator | runs | calls/s | p50 ms | generator CPU µs/call | broker CPU µs/call |\n")
        w("|---|---|---:|---:|---:|---:|---:|\n")
        for k in sorted(gens):
            rs = gens[k]
            w("| %s | %s | %d | %.0f | %.2f | %s | %s |\n" % (
                k[0], k[1], len(rs), med([r["bench"]["calls_per_s"] for r in rs]),
                med([r["bench"]["latency"]["p50_ms"] for r in rs]),
                fmt(med([per_call(r, "generator") for r in rs]), ".0f"), fmt(med([per_call(r, "broker") for r in rs]), ".0f")))
        w("\n")
    tr = defaultdict(list)
    for (srv, label), rs in gens.items():
        if srv == "ceiling" and label.startswith("`oslohost bench`"):
            for r in rs:
                tr[r["transports"]].append(r["bench"]["calls_per_s"])

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

    w("## Targets of issue 15\n\n")
    def cell(s, c, p):
        return cells.get((s, c, p))
    oc64, py64, oc1 = cell("ceiling-oslo", 64, 100), cell("python", 64, 100), cell("ceiling-oslo", 1, 100)
    lines = []
    for s, label in (("oslohost-pool", "oslohost (pool, defaults)"), ("oslohost-pool-2p", "oslohost (pool, GOMAXPROCS=2 set by hand)")):
        pool64, pool1 = cell(s, 64, 100), cell(s, 1, 100)
        if pool64 and oc64:
            r = pool64["cps"] / oc64["cps"]
            lines.append(("C=64, 100 B: %s ≥ 0.70× the oslo ceiling's calls/s" % label, "%.2f×" % r, r >= 0.7))
        if pool64 and py64:
            r = pool64["cps"] / py64["cps"]
            lines.append(("C=64, 100 B: %s ≥ 10× the Python server's calls/s" % label, "%.1f×" % r, r >= 10))
        if pool1 and oc1:
            d = pool1["p50"] - oc1["p50"]
            lines.append(("C=1, 100 B: %s p50 ≤ oslo ceiling p50 + 0.3 ms" % label, "%+.2f ms" % d, d <= 0.3))
        if pool64 and pool64["cpu"]["server"] is not None:
            v = pool64["cpu"]["server"]
            lines.append(("C=64, 100 B: %s host + plugin CPU ≤ 60 µs per call" % label, "%.0f µs" % v, v <= 60))
        if pool64 and oc64 and pool64["cpu"]["broker"] and oc64["cpu"]["broker"]:
            r = pool64["cpu"]["broker"] / oc64["cpu"]["broker"]
            lines.append(("C=64, 100 B: %s broker CPU per call ≤ 1.2× the oslo ceiling's" % label, "%.2f×" % r, r <= 1.2))
    c64 = cell("ceiling", 64, 100)
    if c64 and c64["cpu"]["generator"] is not None:
        v = c64["cpu"]["generator"]
        lines.append(("the Go client (`oslohost bench`) ≤ 40 µs CPU per call at C=64 (against the bare ceiling)", "%.0f µs" % v, v <= 40))
    if "oslohost-pool" in idle:
        i = idle["oslohost-pool"][0] / MIB
        lines.append(("host RSS idle ≤ 30 MiB", "%.1f MiB" % i, i <= 30))
    if peak.get("oslohost-pool", (0, 0))[0]:
        pk = peak["oslohost-pool"][0] / MIB
        lines.append(("host RSS under C=64 ≤ 150 MiB", "%.1f MiB" % pk, pk <= 150))
    for srv in ("ceiling", "ceiling-oslo"):
        one = [r["bench"]["calls_per_s"] for (s2, label), rs in gens.items() if s2 == srv and label.endswith("1 connection") for r in rs]
        for tag, what in (("(minimal)", "the minimal generator"), ("-oslo", "the minimal generator with oslo's semantics (confirms, mandatory, acked replies)")):
            lg = [r["bench"]["calls_per_s"] for (s2, label), rs in gens.items() if s2 == srv and label.startswith("bench/loadgen " + tag) for r in rs]
            if one and lg:
                lines.append(("%s: %s gets no more than `oslohost bench` (C=64, 100 B)" % (srv, what),
                              "%.0f vs %.0f calls/s (%.2f×)" % (med(lg), med(one), med(lg) / med(one)), med(lg) <= med(one) * 1.05))
    w("| target | measured | met |\n|---|---:|:---:|\n")
    for what, got, ok in lines:
        w("| %s | %s | %s |\n" % (what, got, "yes" if ok else "**no**"))

    # Issue 16: the same Python endpoint class (bench/pyecho EchoEndpoint)
    # as a Python plugin of oslohost against the Python oslo server.
    lines = []
    for p in sorted({k[2] for k in cells}):
        py1, pp1 = cell("python", 1, p), cell("oslohost-pypool", 1, p)
        if py1 and pp1 and py1["p50"]:
            r = pp1["p50"] / py1["p50"]
            lines.append(("C=1, %s: Python plugin p50 ≤ 1.10× the Python server's" % size(p),
                          "%.2f vs %.2f ms (%.2f×)" % (pp1["p50"], py1["p50"], r), r <= 1.10))
        py64, pp64 = cell("python", 64, p), cell("oslohost-pypool", 64, p)
        if py64 and pp64 and py64["cps"]:
            r = pp64["cps"] / py64["cps"]
            lines.append(("C=64, %s: Python plugin calls/s ≥ the Python server's" % size(p),
                          "%.0f vs %.0f calls/s (%.2f×)" % (pp64["cps"], py64["cps"], r), r >= 1.0))
    if lines:
        w("\n## Targets of issue 16 (Python plugin vs Python server, same endpoint class)\n\n")
        w("`oslohost-pypool`: bench/pyecho's `EchoEndpoint` served by oslohost as a Python plugin "
          "(bench/oslohost-pypool.hcl); `python`: the same class under `oslo_messaging.get_rpc_server`.\n\n")
        w("| target | measured | met |\n|---|---:|:---:|\n")
        for what, got, ok in lines:
            w("| %s | %s | %s |\n" % (what, got, "yes" if ok else "**no**"))


def size(p):
    if p >= 1 << 20 and p % (1 << 20) == 0:
        return "%d MiB" % (p >> 20)
    if p >= 1024 and p % 1024 == 0:
        return "%d KiB" % (p >> 10)
    return "%d B" % p


if __name__ == "__main__":
    main()

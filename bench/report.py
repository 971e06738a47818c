#!/usr/bin/env python3
"""Turns bench/run.sh's runs.tsv into the markdown results (medians over rounds).

    report.py RUN/runs.tsv RUN/meta.md
"""
import csv
import statistics
import sys
from collections import defaultdict

# The targets of the "Performance" issue that a load run can check.
ADDED_P50_TARGET_US = 150
RSS_TARGET_MIB = 50
FLAT_TOLERANCE = 1.25  # "flat": CPU µs/request at 1000 connections within 1.25x of its value at 64


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def num(s):
    return float(s) if s not in ("", None) else None


def fmt(v, digits=0, suffix=""):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}{suffix}"


def main(runs_path, meta_path):
    with open(runs_path) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows:
        print("no runs recorded", file=sys.stderr)
        return 1
    order, conns_order = [], []
    groups = defaultdict(list)
    target_of = {}
    for r in rows:
        key = (r["case"], int(r["conns"]))
        if r["case"] not in order:
            order.append(r["case"])
        if int(r["conns"]) not in conns_order:
            conns_order.append(int(r["conns"]))
        target_of[r["case"]] = r["target"]
        groups[key].append(r)
    rounds = max(int(r["round"]) for r in rows)

    # Per (case, conns): medians over rounds.
    agg = {}
    for key, rs in groups.items():
        reqs = [num(r["requests"]) for r in rs]

        def per_req_us(col):
            vals = [num(r[col]) * 1e6 / num(r["requests"]) for r in rs if num(r[col]) is not None and num(r["requests"])]
            return med(vals)

        agg[key] = {
            "rps": med([num(r["rps"]) for r in rs]),
            "p50": med([num(r["p50_us"]) for r in rs]),
            "p99": med([num(r["p99_us"]) for r in rs]),
            "errors": sum(int(r["errors"]) for r in rs),
            "requests": sum(reqs),
            "proxy_us": per_req_us("proxy_cpu_s"),
            "up_us": per_req_us("upstream_cpu_s"),
            "busy": med([num(r["cpu1_busy_pct"]) for r in rs]),
            "steal": med([num(r["cpu1_steal_pct"]) for r in rs]),
            # CPU1 time not used by our servers (other jobs on the machine): a noise indicator.
            "others": med([max(0.0, num(r["cpu1_busy_pct"]) - 100 * ((num(r["proxy_cpu_s"]) or 0) + num(r["upstream_cpu_s"])) / num(r["duration_s"]))
                           for r in rs]),
            "steal_max": max(num(r["cpu1_steal_pct"]) for r in rs),
            "user_share": med([100 * num(r.get("proxy_user_s")) / num(r["proxy_cpu_s"])
                               for r in rs if num(r.get("proxy_user_s")) is not None and num(r["proxy_cpu_s"])]),
            "new_conns": med([num(r.get("new_tcp_conns")) for r in rs]),
            "proxy_hwm": max((num(r["proxy_hwm_kib"]) for r in rs if num(r["proxy_hwm_kib"]) is not None), default=None),
            "rps_all": [num(r["rps"]) for r in rs],
        }

    out = []
    w = out.append
    w("# dialectgate load benchmark (bench/run.sh)")
    w("")
    with open(meta_path) as f:
        w(f.read().rstrip())
    w("")
    w(f"Medians over {rounds} round(s). *proxy CPU µs/req* = the proxy process's utime+stime "
      "(/proc/PID/stat) during the run ÷ requests completed: the proxy alone, upstream excluded "
      "(for *direct* the column shows the upstream's own cost). *peak RSS* = VmHWM of the proxy "
      "process during that run (reset before each run). *CPU1 busy/steal* = the server core; *CPU1 others* = "
      "the part of CPU1 busy time not spent in the upstream or the proxy (other jobs on the machine: noise). "
      "*new TCP conns* = connections opened during the run beyond wrk's own (machine-wide Tcp ActiveOpens "
      "delta − conns): the proxy's new upstream connections (0 = its keep-alive pool covers the load). "
      "Latencies are wrk's (closed loop): at 64 and 1000 connections they are mostly queueing.")
    w("")
    w("## Results")
    w("")
    w("| case | conns | req/s | p50 µs | p99 µs | errors | proxy CPU µs/req | of which user % | upstream CPU µs/req | CPU1 busy % | CPU1 others % | steal % | peak RSS MiB | new TCP conns |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in conns_order:
        for case in order:
            a = agg.get((case, c))
            if not a:
                continue
            proxy_us = a["proxy_us"] if target_of[case] != "upstream" else a["up_us"]
            w(f"| {case} | {c} | {fmt(a['rps'])} | {fmt(a['p50'])} | {fmt(a['p99'])} | {a['errors']} | "
              f"{fmt(proxy_us, 1)} | {fmt(a['user_share'])} | {fmt(a['up_us'], 1)} | {fmt(a['busy'])} | {fmt(a['others'])} | {fmt(a['steal'], 1)} | "
              f"{fmt(a['proxy_hwm'] / 1024 if a['proxy_hwm'] is not None else None, 1)} | {fmt(a['new_conns'])} |")
    w("")

    # Ratios against nginx and direct at the same connection count.
    w("## Ratios (same connection count)")
    w("")
    w("| case | conns | req/s ÷ nginx | proxy CPU µs/req ÷ nginx | added p50 over direct µs | nginx's added p50 µs |")
    w("|---|---:|---:|---:|---:|---:|")
    for c in conns_order:
        n = agg.get(("nginx", c))
        d = agg.get(("direct", c))
        for case in order:
            if target_of[case] not in ("gw", "gw_medusa", "deployed", "lua"):
                continue
            a = agg.get((case, c))
            if not a or not n:
                continue
            rps_ratio = a["rps"] / n["rps"] if n["rps"] else None
            cpu_ratio = a["proxy_us"] / n["proxy_us"] if a["proxy_us"] and n["proxy_us"] else None
            added = a["p50"] - d["p50"] if d else None
            nadded = n["p50"] - d["p50"] if d else None
            w(f"| {case} | {c} | {fmt(rps_ratio, 2)} | {fmt(cpu_ratio, 1)} | {fmt(added)} | {fmt(nadded)} |")
    w("")

    # Targets that a load run can check.
    w("## Targets")
    w("")
    w("| case | added p50 over direct at 1 conn (≤ 150 µs) | peak RSS at 1000 conns (≤ 50 MiB) | proxy CPU µs/req by conns | flat 1→1000? |")
    w("|---|---|---|---|---|")
    for case in order:
        if target_of[case] not in ("gw", "gw_medusa", "deployed", "lua", "proxy"):
            continue
        a1, d1 = agg.get((case, 1)), agg.get(("direct", 1))
        if a1 and d1:
            added = a1["p50"] - d1["p50"]
            lat = f"{added:.1f} µs: {'met' if added <= ADDED_P50_TARGET_US else 'NOT met'}".replace(".0 µs", " µs")
        else:
            lat = "not measured (no 1-connection run)"
        a1000 = agg.get((case, 1000))
        if a1000 and a1000["proxy_hwm"] is not None:
            mib = a1000["proxy_hwm"] / 1024
            rss = f"{mib:.1f} MiB: {'met' if mib <= RSS_TARGET_MIB else 'NOT met'}"
        else:
            rss = "not measured (no 1000-connection run)"
        costs = [(c, agg[(case, c)]["proxy_us"]) for c in conns_order if (case, c) in agg and agg[(case, c)]["proxy_us"]]
        cost_s = " / ".join(f"{c}: {v:.1f}" for c, v in costs)
        by_c = dict(costs)
        if 1000 in by_c and 64 in by_c:
            ratio = by_c[1000] / by_c[64]
            flat = f"1000÷64 = {ratio:.2f}: {'yes' if ratio <= FLAT_TOLERANCE else 'NO'}"
            if 1 in by_c:
                flat += f"; 1÷64 = {by_c[1] / by_c[64]:.2f}"
        else:
            flat = "not measured (needs 64 and 1000)"
        w(f"| {case} | {lat} | {rss} | {cost_s} | {flat} |")
    w("")
    bad = [(k, a) for k, a in agg.items() if a["errors"]]
    if bad:
        w("**Errors:** " + ", ".join(f"{k[0]} c={k[1]}: {a['errors']}" for k, a in bad)
          + " (wrk socket errors + non-2xx answers; a run with errors is not comparable).")
    noisy = [(k, a) for k, a in agg.items() if a["steal_max"] > 5]
    if noisy:
        w("**Steal > 5% on CPU1 during:** " + ", ".join(f"{k[0]} c={k[1]} ({a['steal_max']:.0f}%)" for k, a in sorted(noisy))
          + ". docs/measuring.md's closed-loop rules would discard those runs; they are kept here and marked.")
    if rounds > 1:
        w("")
        w("Spread of req/s over rounds (min–max): " + "; ".join(
            f"{k[0]} c={k[1]} {min(a['rps_all']):,.0f}–{max(a['rps_all']):,.0f}" for k, a in agg.items()))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

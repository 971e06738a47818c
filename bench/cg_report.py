#!/usr/bin/env python3
"""Markdown report for bench/callgrind.sh, and a small callgrind-format reader for profiles.

    cg_report.py RUN_DIR [TOP]                 # the report (reads RUN_DIR/results.tsv, meta.md, dumps)
    cg_report.py profile DUMP NREQ [TOP]       # the profile of one dump, per request

Self (exclusive) and inclusive instruction counts per function are read straight from the
dump: callgrind_annotate 3.19 prints the exclusive list of these Rust dumps wrongly (everything
lands on one function), so this script does not rely on it. Inclusive cost = self + the cost of
the calls made (as callgrind_annotate --inclusive=yes computes it; recursive frames are shown
by callgrind with a 'N suffix).
"""
import csv
import os
import re
import statistics
import sys
from collections import defaultdict

TARGET_RATIO = 5.0  # full dialectgate path <= 5x nginx proxy_pass instructions per request
# Frames that every request passes through (thread start, runtime, hyper's dispatcher): shown
# once, collapsed, so the inclusive list starts where the gateway's own work begins.
SPINE_SHARE = 0.85

NAME_RE = re.compile(r"^(ob|fl|fi|fe|fn|cob|cfi|cfl|cfn)=\((\d+)\)(?: (.*))?$")
PLAIN_RE = re.compile(r"^(ob|fl|fi|fe|fn|cob|cfi|cfl|cfn)=(.*)$")


def read_dump(path):
    """Returns (total Ir, {fn: self Ir}, {fn: inclusive Ir}, {fn: object}, {(caller, callee): Ir})."""
    names = {k: {} for k in ("ob", "fl", "fn")}
    kind_of = {"ob": "ob", "cob": "ob", "fl": "fl", "fi": "fl", "fe": "fl", "cfi": "fl", "cfl": "fl",
               "fn": "fn", "cfn": "fn"}
    self_cost = defaultdict(int)
    incl = defaultdict(int)
    obj_of = {}
    edges = defaultdict(int)
    total = 0
    cur_fn, cur_ob, cur_cfn = None, None, None
    pending_call = False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                ir = int(parts[1]) if len(parts) > 1 else 0
                if pending_call:
                    incl[cur_fn] += ir
                    edges[(cur_fn, cur_cfn)] += ir
                    pending_call = False
                else:
                    self_cost[cur_fn] += ir
                    incl[cur_fn] += ir
                continue
            if line.startswith("calls="):
                pending_call = True
                continue
            if line.startswith(("summary:", "totals:")):
                total = total or int(line.split()[1])
                continue
            m = NAME_RE.match(line)
            if m:
                key, num, name = m.groups()
                table = names[kind_of[key]]
                if name is not None:
                    table[num] = name
                name = table.get(num, f"({num})")
            else:
                m = PLAIN_RE.match(line)
                if not m:
                    continue
                key, name = m.groups()
            if key == "cfn":
                cur_cfn = name
            elif key == "fn":
                cur_fn = name
                obj_of.setdefault(cur_fn, cur_ob)
            elif key == "ob":
                cur_ob = name
    return total, self_cost, incl, obj_of, edges


def crate_of(fn, ob):
    """A coarse owner for a function: its crate, or the shared library it lives in."""
    if ob and not ob.endswith("/dialectgate") and "/release/" not in ob and "/profiling/" not in ob:
        base = os.path.basename(ob)
        if base.startswith("libc."):
            if fn in ("malloc", "free", "_int_malloc", "_int_free", "realloc", "_int_realloc", "malloc_consolidate",
                      "unlink_chunk.constprop.0", "tcache_get", "calloc", "cfree"):
                return "libc malloc/free"
            if fn.startswith(("mem", "__mem", "__strlen", "strlen", "__strchr", "bcmp", "__bcmp")):
                return "libc mem*/str*"
            return "libc syscalls & rest"
        return base
    s = fn
    while s.startswith(("<", "&", "*", "(")):
        s = s[1:]
    for pfx in ("mut ", "const ", "dyn ", "impl "):
        if s.startswith(pfx):
            s = s[len(pfx):]
    head = s.split("::", 1)[0].split("<", 1)[0].strip()
    if head in ("__rustc", "__rdl_alloc", "__rdl_dealloc", "__rust_alloc", "__rust_dealloc", "__rust_realloc"):
        return "Rust allocator shim"
    return head or fn


def short(fn, width=110):
    return fn if len(fn) <= width else fn[: width - 1] + "…"


def profile_md(path, nreq, top=15):
    total, self_cost, incl, obj_of, edges = read_dump(path)
    out = []
    w = out.append
    per = lambda v: v / nreq  # noqa: E731
    w(f"Dump `{os.path.basename(path)}`: {total:,} instructions for {nreq:,} requests "
      f"({per(total):,.0f} per request, idle wake-ups included).")
    w("")
    ranked = sorted(incl.items(), key=lambda kv: -kv[1])
    spine = [(f, v) for f, v in ranked if v >= SPINE_SHARE * total]
    rest = [(f, v) for f, v in ranked if v < SPINE_SHARE * total]
    w(f"**Top {top} functions by inclusive instructions** (per request; the {len(spine)} frames "
      f"that hold ≥ {SPINE_SHARE:.0%} of the total — thread start, tokio worker, task poll, hyper "
      f"connection — are left out: {', '.join('`' + short(f, 60) + '`' for f, _ in spine[:4])}…)")
    w("")
    w("| # | inclusive Ir/req | % | function |")
    w("|---:|---:|---:|---|")
    for i, (f, v) in enumerate(rest[:top], 1):
        w(f"| {i} | {per(v):,.0f} | {100 * v / total:.1f} | `{short(f)}` |")
    w("")
    handler = next((f for f, _ in ranked if f.startswith("dialectgate_gateway::service::Gateway::route")), None)
    if handler:
        calls = sorted(((callee, v) for (caller, callee), v in edges.items() if caller == handler and callee != handler),
                       key=lambda kv: -kv[1])
        inside = sum(v for _, v in calls)
        w(f"**What the request handler `{short(handler, 70)}` calls** (inclusive per request, its direct "
          f"callees; its own code: {per(self_cost[handler]):,.0f}/req; all of it: {per(incl[handler]):,.0f}/req)")
        w("")
        w("| # | inclusive Ir/req | % of total | callee |")
        w("|---:|---:|---:|---|")
        for i, (f, v) in enumerate(calls[:top], 1):
            w(f"| {i} | {per(v):,.0f} | {100 * v / total:.1f} | `{short(f)}` |")
        rest_v = inside - sum(v for _, v in calls[:top])
        if rest_v > 0:
            w(f"| | {per(rest_v):,.0f} | {100 * rest_v / total:.1f} | ({len(calls) - top} other callees) |")
        w("")
    w(f"**Top {top} functions by self (exclusive) instructions**")
    w("")
    w("| # | self Ir/req | % | function |")
    w("|---:|---:|---:|---|")
    for i, (f, v) in enumerate(sorted(self_cost.items(), key=lambda kv: -kv[1])[:top], 1):
        w(f"| {i} | {per(v):,.0f} | {100 * v / total:.1f} | `{short(f)}` |")
    w("")
    by_crate = defaultdict(int)
    for f, v in self_cost.items():
        by_crate[crate_of(f, obj_of.get(f))] += v
    w("**Self instructions by crate / library** (where the instructions are executed)")
    w("")
    w("| crate or library | self Ir/req | % |")
    w("|---|---:|---:|")
    for crate, v in sorted(by_crate.items(), key=lambda kv: -kv[1])[:top]:
        w(f"| {crate} | {per(v):,.0f} | {100 * v / total:.1f} |")
    return "\n".join(out)


def deployed_bodies():
    """{case: body file stem} of bench/deployed-cases.tsv (the floor+JSON case of each)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deployed-cases.tsv")
    out = {}
    with open(path) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 8 and not cols[0].startswith("#"):
                out[cols[0]] = os.path.splitext(cols[7])[0]
    return out


def deployed_section(w, order, server_of, med):
    """Gateway (deployed path), nginx, nginx + Lua and the floor side by side."""
    cases = [c for c in order if server_of[c].startswith("deployed")]
    nginx, lua, floor = med.get("nginx"), med.get("nginx-lua"), med.get("floor")
    if not cases or not nginx:
        return
    bodies = deployed_bodies()
    w("**The deployed path** (bench/deployed-cases.tsv): each caller dialect into a dialect upstream, "
      "a name + an email + one more member, the gateway at the default log level (`info`, one JSON "
      "access line per request). nginx = `proxy_pass` (no translation); nginx + Lua = the Elastic "
      "Path → Medusa job in Lua (bench/nginx/lua.conf.in); floor = hyper + reqwest pass-through; "
      "floor+JSON = the same parsing and re-serialising both bodies (same request body). "
      "Goal: ≤ 5× nginx and below nginx + Lua.")
    w("")
    w(f"nginx: {nginx:,.0f}; nginx + Lua: {f'{lua:,.0f}' if lua else '–'}"
      f"{f' ({lua / nginx:.2f}× nginx)' if lua else ''}; floor: {f'{floor:,.0f}' if floor else '–'}.")
    w("")
    w("| case | gateway | ÷ nginx | ÷ nginx + Lua | floor+JSON, same body | ours (gateway − floor+JSON) | ≤ 5× nginx and < nginx + Lua? |")
    w("|---|---:|---:|---:|---:|---:|---|")
    for c in cases:
        fj = med.get("floor-json-" + bodies.get(c, ""))
        ok = med[c] <= TARGET_RATIO * nginx and (lua is None or med[c] < lua)
        w(f"| {c} | {med[c]:,.0f} | {med[c] / nginx:.2f} | {f'{med[c] / lua:.2f}' if lua else '–'} | "
          f"{f'{fj:,.0f}' if fj else '–'} | {f'{med[c] - fj:,.0f}' if fj else '–'} | {'met' if ok else 'NOT met'} |")
    w("")


def report(run, top):
    with open(os.path.join(run, "results.tsv")) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    order = []
    per_case = defaultdict(list)
    server_of, dump_of, n_of = {}, {}, {}
    for r in rows:
        if r["case"] not in order:
            order.append(r["case"])
        per_case[r["case"]].append(int(r["instr_per_req"]))
        server_of[r["case"]] = r["server"]
        n_of[r["case"]] = int(r["N"])
        if r["rep"] == "1":
            dump_of[r["case"]] = r["dump_2N"]
    med = {c: statistics.median(v) for c, v in per_case.items()}
    nginx = med.get("nginx")
    direct = med.get("direct")
    out = []
    w = out.append
    w("# dialectgate instructions per request (bench/callgrind.sh)")
    w("")
    meta = os.path.join(run, "meta.md")
    if os.path.exists(meta):
        with open(meta) as f:
            w(f.read().rstrip())
        w("")
    w("instructions/request = (I(2N) − I(N)) / N, callgrind Ir of the server process only.")
    w("")
    w("| case | server | instructions/request | ÷ nginx proxy_pass | minus direct upstream | ≤ 5× nginx? |")
    w("|---|---|---:|---:|---:|---|")
    for c in order:
        reps = per_case[c]
        figure = f"{med[c]:,.0f}" + (f" ({', '.join(f'{v:,}' for v in reps)})" if len(reps) > 1 else "")
        ratio = med[c] / nginx if nginx else None
        verdict = "–"
        if server_of[c].startswith(("gateway", "deployed")) and ratio is not None:
            verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        w(f"| {c} | {server_of[c]} | {figure} | {f'{ratio:.2f}' if ratio else '–'} | "
          f"{f'{med[c] - direct:,.0f}' if direct is not None and c != 'direct' else '–'} | {verdict} |")
    w("")
    floor = med.get("floor")
    pairs = [(c, "floor-json-" + c[len("dg-"):]) for c in order
             if server_of[c].startswith("gateway") and "floor-json-" + c[len("dg-"):] in med]
    if pairs and nginx:
        w("**The gateway against its floor** (bench/floor: hyper + reqwest + tokio + mimalloc with the "
          "gateway's settings; `floor+JSON` also parses and re-serialises both bodies, the same body "
          "as the gateway case). *ours* = gateway − floor+JSON: routing, credentials, validation, "
          "translation both ways, headers, metrics.")
        w("")
        w("| case | gateway | floor (bytes) | floor+JSON, same body | ours | floor+JSON ÷ nginx | gateway ÷ nginx |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        for c, f in pairs:
            w(f"| {c} | {med[c]:,.0f} | {f'{floor:,.0f}' if floor else '–'} | {med[f]:,.0f} | "
              f"{med[c] - med[f]:,.0f} | {med[f] / nginx:.2f} | {med[c] / nginx:.2f} |")
        w("")
    deployed_section(w, order, server_of, med)
    w("Reference figures from docs/measuring.md (same machine kind, 417 B body): nginx "
      "upstream ≈ 9.8k, nginx proxy_pass ≈ 23.7k, bare hyper+reqwest buffered proxy ≈ 88.6k, "
      "the same + serde_json both ways ≈ 141k instructions/request.")
    w("")
    gw_cases = [c for c in order if server_of[c].startswith(("gateway", "deployed"))]
    profile_case = os.environ.get("PROFILE_CASE") or (
        max(gw_cases, key=lambda c: med[c]) if gw_cases else None)
    for c in order:
        if c in dump_of:
            text = profile_md(os.path.join(run, dump_of[c]), 2 * n_of[c], top)
            with open(os.path.join(run, f"{c}.profile.md"), "w") as f:
                f.write(f"# Profile: {c}\n\n{text}\n")
    if profile_case:
        w(f"## Profile of `{profile_case}` (the costliest gateway case; every case's profile is in "
          f"`{os.path.basename(run)}/<case>.profile.md`)")
        w("")
        w(profile_md(os.path.join(run, dump_of[profile_case]), 2 * n_of[profile_case], top))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "profile":
        print(profile_md(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 15))
        sys.exit(0)
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(report(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 15))

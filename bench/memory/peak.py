"""Summarise a DHAT profile (valgrind --tool=dhat): the bytes alive at the global peak (t-gmax),
grouped by the innermost frame that is the project's own code, with its caller chain.

    python3 bench/memory/peak.py dhat.out.PID [DEPTH]

DEPTH (default 3) is how many of the project's own frames name each group. Used by
bench/memory/attribute.sh.
"""
import collections
import json
import re
import sys

d = json.load(open(sys.argv[1]))
depth = int(sys.argv[2]) if len(sys.argv) > 2 else 3
ftbl = d["ftbl"]
groups = collections.Counter()
blocks = collections.Counter()
total = 0
for pp in d["pps"]:
    gb = pp.get("gb", 0)
    if not gb:
        continue
    total += gb
    frames = [ftbl[i] for i in pp["fs"]]
    names = []
    for f in frames:
        m = re.search(r": (.*?) \(", f)
        name = m.group(1) if m else f
        if "dialectgate" in name:
            name = re.sub(r"::h[0-9a-f]{16}$", "", name)
            names.append(name)
        if len(names) >= depth:
            break
    key = " <- ".join(names) or (frames[1] if len(frames) > 1 else "?")
    groups[key] += gb
    blocks[key] += pp.get("gbk", 0)
print("alive at t-gmax: %.2f MiB (tgmax at %s)" % (total / 2**20, d.get("tg")))
for k, v in groups.most_common(25):
    print("%8.2f MiB %6d blocks  %s" % (v / 2**20, blocks[k], k[:400]))

#!/usr/bin/env bash
# Renders deploy/kubernetes/configmap-dialects.yaml from the repository's own files:
#   config/dialects/*.toml  -> ConfigMap dialectgate-dialects        (one key per file)
#   schemas/<folder>/*      -> ConfigMap dialectgate-schemas-<folder> (one per folder; a ConfigMap
#                              cannot hold directories, so each folder is mounted on its own)
#
#   deploy/kubernetes/render-configmaps.sh           rewrite the file
#   deploy/kubernetes/render-configmaps.sh --check   exit 1 if the file is stale (writes nothing)
#
# Needs only bash and python3 (standard library). It does not use kubectl on purpose: the output of
# `kubectl create configmap --dry-run=client -o yaml` changes between kubectl versions, and the
# committed file should not change with the machine that rendered it. tests/deploy.rs fails when
# the file is out of step with config/dialects/ or schemas/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/deploy/kubernetes/configmap-dialects.yaml"

mode=write
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

command -v python3 >/dev/null || { echo "render-configmaps.sh: python3 is required" >&2; exit 2; }

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT

python3 - "$root" >"$tmp" <<'PY'
import os, re, sys

root = sys.argv[1]
KEY = re.compile(r"^[-._a-zA-Z0-9]+$")                                # ConfigMap data keys
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")                 # DNS label (name suffix)
MAX_BYTES = 1024 * 1024                                                # ConfigMap size limit


def fail(msg):
    sys.stderr.write("render-configmaps.sh: " + msg + "\n")
    sys.exit(1)


def read_folder(folder):
    """Every file of a folder, sorted, as {name: text}. Subfolders and binary files are refused."""
    files = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        rel = os.path.relpath(path, root)
        if os.path.isdir(path):
            fail(f"{rel}: nested folders cannot be mounted from one ConfigMap")
        if not KEY.match(name):
            fail(f"{rel}: {name!r} is not a valid ConfigMap key")
        with open(path, "rb") as f:
            raw = f.read()
        try:
            files[name] = raw.decode("utf-8")
        except UnicodeDecodeError:
            fail(f"{rel}: not UTF-8 text")
    return files


def printable(text):
    return all(c in "\t\n" or (c.isprintable() and c != "\ufeff") for c in text)


def scalar(text, indent):
    """A YAML scalar holding exactly `text`: a literal block when that is exact, else quoted."""
    pad = " " * indent
    if text.strip("\n") and printable(text):
        chomp = "-" if not text.endswith("\n") else ("" if not text.endswith("\n\n") else "+")
        # An explicit indentation indicator when the first line would otherwise be misread.
        first = text.lstrip("\n")
        ind = "2" if first.startswith(" ") else ""  # relative to the key at column 2
        body = text[:-1] if text.endswith("\n") else text
        lines = [(pad + line) if line else "" for line in body.split("\n")]
        return "|" + ind + chomp + "\n" + "\n".join(lines)
    out = ['"']
    for c in text:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif not c.isprintable() or c == "\ufeff":
            out.append("\\u%04x" % ord(c) if ord(c) <= 0xFFFF else "\\U%08x" % ord(c))
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def configmap(name, component, source, files):
    size = sum(len(t.encode("utf-8")) for t in files.values())
    if size > MAX_BYTES:
        fail(f"{source}: {size} bytes, over the 1 MiB limit of a ConfigMap")
    lines = [
        "---",
        f"# From {source}",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        f"  name: {name}",
        "  labels:",
        "    app.kubernetes.io/name: dialectgate",
        f"    app.kubernetes.io/component: {component}",
    ]
    if not files:
        lines.append("data: {}")
    else:
        lines.append("data:")
        for key, text in files.items():
            lines.append(f"  {key}: " + scalar(text, 4))
    return "\n".join(lines) + "\n"


docs = []
dialects = os.path.join(root, "config", "dialects")
docs.append(configmap("dialectgate-dialects", "dialects", "config/dialects/", read_folder(dialects)))

schemas = os.path.join(root, "schemas")
for entry in sorted(os.listdir(schemas)):
    path = os.path.join(schemas, entry)
    if not os.path.isdir(path):
        fail(f"schemas/{entry}: only folders are expected directly under schemas/")
    if not NAME.match(entry):
        fail(f"schemas/{entry}: the folder name cannot be part of a ConfigMap name")
    docs.append(configmap(f"dialectgate-schemas-{entry}", "schemas", f"schemas/{entry}/", read_folder(path)))

sys.stdout.write(
    "# GENERATED by deploy/kubernetes/render-configmaps.sh from config/dialects/ and schemas/.\n"
    "# Do not edit: change those files and run the script again (tests/deploy.rs checks this file).\n"
)
sys.stdout.write("".join(docs))
PY

if [[ $mode == check ]]; then
  if cmp -s "$tmp" "$out"; then
    echo "deploy/kubernetes/configmap-dialects.yaml is up to date"
  else
    echo "deploy/kubernetes/configmap-dialects.yaml is stale: run deploy/kubernetes/render-configmaps.sh" >&2
    exit 1
  fi
else
  cp "$tmp" "$out"
  echo "wrote deploy/kubernetes/configmap-dialects.yaml"
fi

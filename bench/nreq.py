#!/usr/bin/env python3
"""Send a bounded number of identical requests over ONE keep-alive HTTP/1.1 connection.

Used by bench/callgrind.sh (the load generator for the differential instruction count) and by
the smoke test of bench/run.sh. Standard library only.

    nreq.py PORT COUNT METHOD PATH BODY_FILE ["Header: value|Header2: value"] [--show] [--expect TEXT]

Exit status 0 when every answer was 2xx (and, with --expect, every answer's body holds TEXT: some
dialects answer a refusal with 200, Shopify's userErrors and MicroBase's "ok": false), 1 otherwise
(the first bad answer is printed).
"""
import http.client
import sys
import time


def main(argv):
    if len(argv) < 6:
        print(__doc__, file=sys.stderr)
        return 2
    port, count, method, path, body_file = int(argv[1]), int(argv[2]), argv[3], argv[4], argv[5]
    header_spec = argv[6] if len(argv) > 6 and not argv[6].startswith("--") else ""
    show = "--show" in argv
    expect = None
    if "--expect" in argv:
        at = argv.index("--expect")
        if at + 1 >= len(argv):
            print("--expect needs a value", file=sys.stderr)
            return 2
        expect = argv[at + 1].encode()
    body = b""
    if body_file not in ("", "-"):
        with open(body_file, "rb") as f:
            body = f.read()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    for h in filter(None, header_spec.split("|")):
        k, _, v = h.partition(":")
        headers[k.strip()] = v.strip()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.monotonic()
    for i in range(count):
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if show and i == 0:
            print(f"{resp.status} {data.decode('utf-8', 'replace')}")
        if not 200 <= resp.status < 300:
            print(
                f"request {i + 1}/{count} to :{port} {method} {path}: HTTP {resp.status}: "
                f"{data[:500].decode('utf-8', 'replace')}",
                file=sys.stderr,
            )
            return 1
        if expect is not None and expect not in data:
            print(
                f"request {i + 1}/{count} to :{port} {method} {path}: HTTP {resp.status} without {expect!r}: "
                f"{data[:500].decode('utf-8', 'replace')}",
                file=sys.stderr,
            )
            return 1
        if resp.getheader("Connection", "").lower() == "close":
            print(f"request {i + 1}: the server closed the connection", file=sys.stderr)
            return 1
    conn.close()
    elapsed = time.monotonic() - started
    if not show:
        print(f"{count} requests in {elapsed:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

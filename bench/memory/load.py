"""N concurrent copies of one request (bench/memory.sh): prints the statuses seen, as
`status=count ...`. Each request has its own connection; the whole run is bounded in time.

    python3 load.py PORT N BODY_FILE KEY
"""
import collections
import http.client
import sys
import threading

port, n, path, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
body = open(path, "rb").read()
statuses = collections.Counter()
lock = threading.Lock()


def one():
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        c.request("POST", "/admin/customers/cus_ada", body,
                  {"content-type": "application/json", "x-medusa-access-token": key})
        status = c.getresponse().status
    except Exception as e:  # a refused or reset connection is a result too
        status = type(e).__name__
    with lock:
        statuses[status] += 1


threads = [threading.Thread(target=one) for _ in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join(180)
print(" ".join("%s=%d" % kv for kv in sorted(statuses.items(), key=str)))

"""A stub upstream for the bench scripts: reads each request whole, waits DELAY_MS (or, with
`hold`, never answers), then answers 200 with the JSON in BODY_FILE (default: a small canonical
Customer). Threaded; loopback only. Each time more requests are held at once than ever before
(read, not yet answered), it prints `in flight: N` to stdout (bench/memory.sh divides by it).

    python3 stub_upstream.py PORT DELAY_MS|hold [BODY_FILE]
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
HOLD = sys.argv[2] == "hold"
DELAY = 0 if HOLD else int(sys.argv[2]) / 1000
if len(sys.argv) > 3:
    with open(sys.argv[3], "rb") as f:
        BODY = f.read()
else:
    BODY = json.dumps({"id": "cus_ada", "email": "ada@example.com",
                       "name": {"given": "Ada", "family": "Lovelace"}}).encode()


HELD = {"now": 0, "most": 0}
HELD_LOCK = threading.Lock()


def held(change):
    with HELD_LOCK:
        HELD["now"] += change
        if HELD["now"] > HELD["most"]:
            HELD["most"] = HELD["now"]
            print("in flight: %d" % HELD["most"], flush=True)


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        n = int(self.headers.get("content-length") or 0)
        while n > 0:
            chunk = self.rfile.read(min(n, 1 << 16))
            if not chunk:
                return
            n -= len(chunk)
        held(1)
        if HOLD:
            threading.Event().wait()
        time.sleep(DELAY)
        held(-1)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    do_GET = do_PUT = do_POST = do_PATCH = answer

    def log_message(self, *a):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()

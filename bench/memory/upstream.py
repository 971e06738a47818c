"""A slow canonical upstream for bench/memory.sh: reads the request, waits DELAY_MS, answers a
small canonical Customer (so the answer's size is not what is measured). Loopback only.

    python3 upstream.py PORT DELAY_MS
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELAY = int(sys.argv[2]) / 1000
BODY = json.dumps({"id": "cus_ada", "email": "ada@example.com",
                   "name": {"given": "Ada", "family": "Lovelace"}}).encode()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        n = int(self.headers.get("content-length") or 0)
        while n > 0:
            n -= len(self.rfile.read(min(n, 1 << 16)))
        time.sleep(DELAY)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    do_GET = do_PUT = do_POST = do_PATCH = answer

    def log_message(self, *a):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()

"""Peer: Python's stdlib http.server (ThreadingHTTPServer + BaseHTTPRequestHandler), defaults.

Usage: python3 peers/python-http-server/server.py PORT   (or $PORT)
"""
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
HELLO = (FIXTURES / "hello.html").read_bytes()
NOT_FOUND = (FIXTURES / "404.html").read_bytes()
SLEEP = float(os.environ.get("SLEEP_SECS", "1"))


class Handler(BaseHTTPRequestHandler):
    def route(self):
        if self.path == "/":
            return 200, HELLO
        if self.path == "/sleep":
            time.sleep(SLEEP)  # one thread per request
            return 200, HELLO
        return 404, NOT_FOUND

    def answer(self, with_body):
        status, body = self.route()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):
        self.answer(True)

    def do_HEAD(self):
        self.answer(False)


def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ["PORT"])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

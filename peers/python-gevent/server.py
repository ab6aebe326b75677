"""Peer: a WSGI app on gevent's pywsgi.WSGIServer (PyPI, pinned), default settings: one
greenlet per connection, so /sleep is gevent.sleep.

Usage: peers/python-gevent/.venv/bin/python peers/python-gevent/server.py PORT   (or $PORT)
"""
import os
import sys
from pathlib import Path

import gevent
from gevent.pywsgi import WSGIServer

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
HELLO = (FIXTURES / "hello.html").read_bytes()
NOT_FOUND = (FIXTURES / "404.html").read_bytes()
SLEEP = float(os.environ.get("SLEEP_SECS", "1"))


def app(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
    get = method in ("GET", "HEAD")
    if get and path == "/sleep":
        gevent.sleep(SLEEP)
    status, body = ("200 OK", HELLO) if get and path in ("/", "/sleep") else ("404 Not Found", NOT_FOUND)
    start_response(status, [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
    # pywsgi sends whatever the app returns, HEAD or not: WSGI leaves HEAD to the app.
    return [b""] if method == "HEAD" else [body]


def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ["PORT"])
    server = WSGIServer(("127.0.0.1", port), app, log=None)  # log=None: no line per request
    server.start()  # listens now
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

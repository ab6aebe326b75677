"""Peer: Tornado's web.Application on its own HTTPServer (PyPI, pinned), default settings.

Usage: peers/python-tornado/.venv/bin/python peers/python-tornado/server.py PORT   (or $PORT)
"""
import asyncio
import os
import sys
from pathlib import Path

from tornado.web import Application, RequestHandler

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
HELLO = (FIXTURES / "hello.html").read_bytes()
NOT_FOUND = (FIXTURES / "404.html").read_bytes()
SLEEP = float(os.environ.get("SLEEP_SECS", "1"))


class Root(RequestHandler):  # only get(): HEAD and other methods get Tornado's 405
    def get(self):
        self.set_header("Content-Type", "text/html")
        self.write(HELLO)


class Sleep(RequestHandler):
    async def get(self):
        await asyncio.sleep(SLEEP)
        self.set_header("Content-Type", "text/html")
        self.write(HELLO)


class NotFound(RequestHandler):
    """Tornado's documented hook for unmatched paths (default_handler_class), any method."""

    def prepare(self):
        self.set_status(404)
        self.set_header("Content-Type", "text/html")
        self.finish(NOT_FOUND)


async def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ["PORT"])
    app = Application([(r"/", Root), (r"/sleep", Sleep)], default_handler_class=NotFound)
    app.listen(port, address="127.0.0.1")  # listens on return
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())

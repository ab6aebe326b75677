"""Peer: twisted.web (PyPI, pinned), a Resource tree on the default Site, on the reactor.

Usage: peers/python-twisted/.venv/bin/python peers/python-twisted/server.py PORT   (or $PORT)
"""
import os
import sys
from pathlib import Path

from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
HELLO = (FIXTURES / "hello.html").read_bytes()
NOT_FOUND = (FIXTURES / "404.html").read_bytes()
SLEEP = float(os.environ.get("SLEEP_SECS", "1"))


def page(request, status, body):
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"text/html")
    return body


class Page(Resource):
    """Unknown children get the 404 page instead of twisted.web's NoResource page."""

    def getChild(self, path, request):
        return NotFound()


class NotFound(Page):
    def render(self, request):  # any method
        return page(request, 404, NOT_FOUND)


class Hello(Page):  # render_GET also answers HEAD (twisted.web drops the body); other methods: 405
    def render_GET(self, request):
        return page(request, 200, HELLO)


class Sleep(Page):
    def render_GET(self, request):
        def answer():
            request.write(page(request, 200, HELLO))
            request.finish()

        call = reactor.callLater(SLEEP, answer)  # a reactor timer
        request.notifyFinish().addErrback(lambda _: call.cancel())  # the client left
        return NOT_DONE_YET


def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ["PORT"])
    root = Page()
    root.putChild(b"", Hello())  # GET /
    root.putChild(b"sleep", Sleep())
    listening = reactor.listenTCP(port, Site(root), interface="127.0.0.1")  # listens on return
    print(f"listening on http://127.0.0.1:{listening.getHost().port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()

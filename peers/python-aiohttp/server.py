"""Peer: aiohttp.web (PyPI, pinned in requirements.txt), default settings.

Usage: peers/python-aiohttp/.venv/bin/python peers/python-aiohttp/server.py PORT   (or $PORT)
"""
import asyncio
import os
import sys
from pathlib import Path

from aiohttp import web

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
HELLO = (FIXTURES / "hello.html").read_bytes()
NOT_FOUND = (FIXTURES / "404.html").read_bytes()
SLEEP = float(os.environ.get("SLEEP_SECS", "1"))


async def root(request):
    return web.Response(body=HELLO, content_type="text/html")


async def sleep(request):
    await asyncio.sleep(SLEEP)
    return web.Response(body=HELLO, content_type="text/html")


@web.middleware
async def not_found_page(request, handler):
    # aiohttp's documented way to customise its 404: catch HTTPNotFound from the router.
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return web.Response(status=404, body=NOT_FOUND, content_type="text/html")


def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ["PORT"])
    app = web.Application(middlewares=[not_found_page])
    app.router.add_get("/", root)  # add_get also answers HEAD
    app.router.add_get("/sleep", sleep)
    # run_app prints its banner once the socket is bound; make it one line.
    web.run_app(app, host="127.0.0.1", port=port,
                print=lambda _banner: print(f"listening on http://127.0.0.1:{port}", flush=True))


if __name__ == "__main__":
    main()

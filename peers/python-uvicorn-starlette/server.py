"""Peer: Starlette on uvicorn with its pure-Python h11 protocol (PyPI, pinned), defaults.

Usage: peers/python-uvicorn-starlette/.venv/bin/python peers/python-uvicorn-starlette/server.py PORT
"""
import asyncio
import os
import socket
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
HELLO = (FIXTURES / "hello.html").read_bytes()
NOT_FOUND = (FIXTURES / "404.html").read_bytes()
SLEEP = float(os.environ.get("SLEEP_SECS", "1"))


async def root(request):
    return Response(HELLO, media_type="text/html")


async def sleep(request):
    await asyncio.sleep(SLEEP)
    return Response(HELLO, media_type="text/html")


async def not_found(request, exc):
    return Response(NOT_FOUND, status_code=404, media_type="text/html")


app = Starlette(
    routes=[Route("/", root), Route("/sleep", sleep)],  # GET routes also answer HEAD
    exception_handlers={404: not_found},
)


def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ["PORT"])
    # Bind first so that the one line below is printed only once the port is ours.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, http="h11", log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()

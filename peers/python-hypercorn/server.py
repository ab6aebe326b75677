"""Peer: a plain ASGI app on Hypercorn (PyPI, pinned; HTTP/1.1 through h11), default config.

Usage: peers/python-hypercorn/.venv/bin/python peers/python-hypercorn/server.py PORT   (or $PORT)
"""
import asyncio
import os
import socket
import sys
from pathlib import Path

from hypercorn.asyncio import serve
from hypercorn.config import Config

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
HELLO = (FIXTURES / "hello.html").read_bytes()
NOT_FOUND = (FIXTURES / "404.html").read_bytes()
SLEEP = float(os.environ.get("SLEEP_SECS", "1"))


async def page(send, status, body):
    headers = [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})  # Hypercorn drops it for HEAD


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    get = scope["method"] in ("GET", "HEAD")
    if get and scope["path"] == "/":
        await page(send, 200, HELLO)
    elif get and scope["path"] == "/sleep":
        await asyncio.sleep(SLEEP)
        await page(send, 200, HELLO)
    else:
        await page(send, 404, NOT_FOUND)


def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ["PORT"])
    # Bind first (as Hypercorn would: TCP_NODELAY, its default backlog) so that the one line
    # below is printed only once the port is ours; Hypercorn takes the socket as fd://.
    config = Config()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(config.backlog)
    sock.set_inheritable(True)
    config.bind = [f"fd://{sock.fileno()}"]
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    asyncio.run(serve(app, config))


if __name__ == "__main__":
    main()

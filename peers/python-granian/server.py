"""Peer: a plain ASGI app on Granian (PyPI, pinned; Rust, hyper underneath), default options.

Usage: peers/python-granian/.venv/bin/python peers/python-granian/server.py PORT   (or $PORT)
Granian binds in this process and imports this file again as module `server` in its worker.
"""
import asyncio
import os
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
HELLO = (FIXTURES / "hello.html").read_bytes()
NOT_FOUND = (FIXTURES / "404.html").read_bytes()
SLEEP = float(os.environ.get("SLEEP_SECS", "1"))


async def page(send, status, body):
    headers = [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})  # hyper drops it for HEAD


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # The worker serves from here on (the socket was bound before it started).
                print(f"listening on http://127.0.0.1:{os.environ['UNBLOCKED_PEER_PORT']}", flush=True)
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
    from granian import Granian

    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ["PORT"])
    os.environ["UNBLOCKED_PEER_PORT"] = str(port)  # for the worker's line above
    Granian("server:app", working_dir=Path(__file__).resolve().parent,
            address="127.0.0.1", port=port, interface="asgi").serve()


if __name__ == "__main__":
    main()

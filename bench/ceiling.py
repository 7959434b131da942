"""The ceiling: a bare ASGI app that answers each benchmarked request with the very bytes,
status and headers the service gave it (captured by bench/run.py into the JSON file named by
BENCH_CEILING_ANSWERS). No routing beyond a dict lookup, no middleware, no database: what
uvicorn and the network cost on this machine for the same answers. ``/__ready`` says 204.
"""

import base64
import json
import os
from typing import Any

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def _load() -> dict[tuple[str, str], Answer]:
    path = os.environ.get("BENCH_CEILING_ANSWERS")
    if not path:
        return {}
    with open(path, encoding="utf-8") as file:
        entries = json.load(file)
    return {
        (e["method"], e["target"]): (
            e["status"],
            [(k.encode("latin-1"), v.encode("latin-1")) for k, v in e["headers"]],
            base64.b64decode(e["body"]),
        )
        for e in entries
    }


ANSWERS = _load()
READY: Answer = (204, [], b"")
MISSING: Answer = (404, [(b"content-type", b"text/plain")], b"not captured")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    query = scope["query_string"].decode("latin-1")
    target = scope["path"] + ("?" + query if query else "")
    if target == "/__ready":
        status, headers, body = READY
    else:
        status, headers, body = ANSWERS.get((scope["method"], target), MISSING)
    more = True
    while more:  # read the request body, as the service does
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

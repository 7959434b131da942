"""uvicorn as `dxplan serve` runs it: past the concurrency limit, a 503 like any other; a
body that stops arriving is answered 408 and its connection closed."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from app.core.serving import HeadTimeoutProtocol

BODY_TIMEOUT = 2.0
WAIT = 30.0  # bound on every wait: a loaded 2-core machine, never a hang


async def until(condition: Callable[[], bool], what: str) -> None:
    """Polls `condition` (every 10 ms, at most WAIT seconds) instead of guessing a delay."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT} s: {what}"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def served(app: Any, **config: Any) -> AsyncIterator[uvicorn.Server]:
    """uvicorn with `dxplan serve`'s protocol on a free loopback port, in this event loop."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            http=HeadTimeoutProtocol,
            **{"lifespan": "off", "log_config": None, "access_log": False, **config},
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        await until(lambda: server.started or serving.done(), "uvicorn started")
        assert server.started, serving
        yield server
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, WAIT)


def port_of(server: uvicorn.Server) -> int:
    return int(server.servers[0].sockets[0].getsockname()[1])


async def test_past_the_concurrency_limit_is_a_problem_with_retry_after() -> None:
    release = asyncio.Event()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    # limit_concurrency counts connections too: the second is over.
    async with served(slow, limit_concurrency=2) as server:
        url = f"http://127.0.0.1:{port_of(server)}"
        async with httpx.AsyncClient(base_url=url, timeout=WAIT) as client:
            first = asyncio.create_task(client.get("/a"))
            # The first request holds the only slot once the app runs it.
            await until(lambda: len(server.server_state.tasks) == 1, "the first request runs")
            busy = await client.get("/b", headers={"Accept-Language": "en"})
            release.set()
            assert (await first).status_code == 200
    assert busy.status_code == 503
    assert busy.headers["content-type"] == "application/problem+json"
    assert busy.headers["retry-after"] == "1"
    problem = busy.json()
    assert (problem["code"], problem["status"], problem["title"]) == (
        "server_busy",
        503,
        "Server busy",
    )


@pytest.fixture
def body_timeout(app: Any) -> Iterator[Any]:
    """The session's app (database and all) with a short body timeout, for one test."""
    original = app.state.settings
    app.state.settings = original.model_copy(update={"http_body_timeout_seconds": BODY_TIMEOUT})
    yield app
    app.state.settings = original


async def exchange(port: int, parts: list[bytes], gap: float = 0.0) -> tuple[bytes, float]:
    """Sends `parts` (`gap` seconds apart), then stays silent; returns everything the server
    sends until it closes the connection, and the seconds from the last part to the close."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for index, part in enumerate(parts):
            if index and gap:
                await asyncio.sleep(gap)
            writer.write(part)
            await writer.drain()
        sent = time.monotonic()
        answer = await asyncio.wait_for(reader.read(), WAIT)  # up to EOF
        return answer, time.monotonic() - sent
    finally:
        writer.close()


def head(path: str, content_type: str, framing: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        "Accept-Language: en\r\n"
    ).encode() + framing


async def test_a_body_that_stops_arriving_is_408_and_the_connection_closed(
    body_timeout: Any,
) -> None:
    """Headers, then part of the body or none of it, then silence: once nothing has come
    for DXPLAN_HTTP_BODY_TIMEOUT_SECONDS the client gets a 408 problem and the connection
    is closed, so it no longer holds a slot. The head timer no longer runs then."""
    form = "application/x-www-form-urlencoded"
    token = "/api/v1/auth/token"
    length = b"Content-Length: 100\r\n\r\n"
    chunked = b"Transfer-Encoding: chunked\r\n\r\n"
    cases: dict[str, list[bytes]] = {
        "no body": [head(token, form, length)],
        "part of it": [head(token, form, length) + b"grant_type=password&user"],
        "chunked": [head(token, form, chunked), b"5\r\ngrant\r\n"],
        "json, staff route": [head("/api/v1/periods", "application/json", length) + b'{"ti'],
    }
    async with served(body_timeout) as server:
        port = port_of(server)
        answers = await asyncio.gather(*(exchange(port, parts) for parts in cases.values()))
        for name, (answer, waited) in zip(cases, answers, strict=True):
            status, _, rest = answer.partition(b"\r\n")
            headers, _, body = rest.partition(b"\r\n\r\n")
            assert status == b"HTTP/1.1 408 Request Timeout", (name, answer)
            assert b"content-type: application/problem+json" in headers, name
            assert b"connection: close" in headers, name
            problem = json.loads(body)
            assert (problem["code"], problem["status"]) == ("request_timeout", 408), name
            assert problem["detail"] == (
                "No part of the request body arrived for 2 seconds; send the request again."
            )
            assert problem["request_id"], name
            assert waited >= 0.8 * BODY_TIMEOUT, (name, waited)  # not earlier


async def test_a_slow_body_that_keeps_arriving_is_read(body_timeout: Any) -> None:
    """The deadline is on silence, not on the whole body: a byte every tenth of the
    timeout, for longer than the timeout, is read to the end and answered."""
    body = b"grant_type=nope"
    sent = head("/api/v1/auth/token", "application/x-www-form-urlencoded", b"")
    parts = [sent + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()]
    parts += [bytes([byte]) for byte in body]
    async with served(body_timeout) as server:
        answer, _ = await exchange(port_of(server), parts, gap=BODY_TIMEOUT / 10)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request"), answer
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["code"] == "unsupported_grant_type"

"""uvicorn as `dxplan serve` runs it: past the concurrency limit, a 503 like any other."""

import asyncio
from typing import Any

import httpx
import uvicorn

from app.core.serving import HeadTimeoutProtocol


async def test_past_the_concurrency_limit_is_a_problem_with_retry_after() -> None:
    release = asyncio.Event()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    server = uvicorn.Server(
        uvicorn.Config(
            slow,
            host="127.0.0.1",
            port=0,
            http=HeadTimeoutProtocol,
            limit_concurrency=2,  # counts connections too: the second is over
            lifespan="off",
            log_config=None,
            access_log=False,
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(400):
            if server.started:
                break
            await asyncio.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            first = asyncio.create_task(client.get("/a"))
            await asyncio.sleep(0.3)  # the first request holds the only slot
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
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)

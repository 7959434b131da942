"""A write's transaction commits before its answer leaves the server."""

import secrets
from typing import Any

import httpx
from sqlalchemy import text

from tests.factories import Account


async def test_a_write_is_committed_before_its_answer_is_sent(
    app: Any, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    title = f"Kỳ thử cam kết {secrets.token_hex(3)}"
    seen: dict[str, int] = {}

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        async def watching(message: Any) -> None:
            if message["type"] == "http.response.start" and scope["method"] == "POST":
                async with sessionmaker() as session:  # another connection: committed rows only
                    seen["rows"] = (
                        await session.execute(
                            text("SELECT count(*) FROM reporting_periods WHERE title = :t"),
                            {"t": title},
                        )
                    ).scalar_one()
            await send(message)

        await app(scope, receive, watching)

    transport = httpx.ASGITransport(app=spy)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            "/api/v1/periods",
            headers=accounts["reviewer"].headers,
            json={"title": title, "due_date": "2026-12-20", "cutoff_date": "2026-12-10"},
        )
    assert response.status_code == 201, response.text
    assert seen == {"rows": 1}

"""The test accounts themselves: their tokens cannot expire while the suite runs."""

import time
from typing import Any

import httpx
import jwt

from tests.db import TEST_JWT_SECRET
from tests.factories import signed_in


async def test_an_account_renews_its_token_before_it_expires(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    account = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    original = dict(account.claims)
    # As if the suite had run for 15 minutes: the token in hand has expired.
    account.claims["exp"] = int(time.time()) - 10
    account.token = jwt.encode(account.claims, TEST_JWT_SECRET, algorithm="HS256")
    me = await client.get("/api/v1/me", headers=account.headers)
    assert me.status_code == 200, me.text
    assert me.json()["username"] == account.username
    renewed = jwt.decode(account.token, options={"verify_signature": False})
    # The same sign-in (its revocations still apply), only a later expiry.
    assert {k: v for k, v in renewed.items() if k not in ("exp", "jti")} == {
        k: v for k, v in original.items() if k not in ("exp", "jti")
    }
    assert renewed["exp"] > time.time() + 600

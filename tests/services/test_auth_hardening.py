"""Sign-in throttling that holds, and revocation that takes effect at once (issue 9, 5-6).

Throttling: X-Forwarded-For is believed only from DXPLAN_TRUSTED_PROXIES, and an attempt is
counted before its password is checked, so a burst cannot outrun the limit. Evaluations are
counted by their audit rows (``auth.sign_in_failed``), the same way the fault suite counts
them against a real server.

Revocation: every access token names its sign-in (claim ``sid``); ending the sign-in (logout,
refresh-token replay, password change or reset, deactivation) refuses its access tokens on
the very next request.
"""

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from ipaddress import ip_network
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from app import cli
from app.main import create_app
from tests import db
from tests.factories import PASSWORD, Account, create_user, sign_in, signed_in

TOKEN = "/api/v1/auth/token"
ME = "/api/v1/me"
PROXY = "10.0.0.1"


def client_for(app: Any, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def guess(
    c: httpx.AsyncClient, username: str, password: str = "wrong", **headers: str
) -> int:
    response = await c.post(
        TOKEN, data={"username": username, "password": password}, headers=headers
    )
    assert response.status_code in (200, 400, 429), response.text
    if response.status_code == 429:
        assert int(response.headers["retry-after"]) >= 1
        assert response.json()["code"] == "too_many_requests"
    return response.status_code


async def failed_sign_ins(sessionmaker: Any, entity_id: object) -> list[Any]:
    """The audit rows of evaluated, failed sign-ins of one account (or unknown name)."""
    async with sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT after FROM audit_log WHERE action = 'auth.sign_in_failed'"
                " AND entity = 'user' AND entity_id = :id ORDER BY id"
            ),
            {"id": str(entity_id)},
        )
        return [row[0] for row in rows]


async def forget_address(sessionmaker: Any, address: str) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("DELETE FROM login_throttles WHERE key = :key"), {"key": f"addr:{address}"}
        )


@pytest.fixture(scope="module")
async def proxied_app(database_url: str) -> AsyncIterator[Any]:
    """The app behind a trusted proxy at 10.0.0.1 (and 10.0.1.0/24), low address limit."""
    settings = db.settings_for(database_url).model_copy(
        update={
            "trusted_proxies": [ip_network(PROXY), ip_network("10.0.1.0/24")],
            "login_max_failures_per_address": 3,
        }
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


# Trusted proxies -------------------------------------------------------------------------


async def uvicorn_options_of_dxplan_serve(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Any:
    """The keyword arguments `dxplan serve` passes to uvicorn.run (nothing is started)."""
    captured: dict[str, Any] = {}

    async def no_seed(*_: Any, **__: Any) -> dict[str, Any]:
        return {}

    monkeypatch.setattr(cli, "_settings_with_database", lambda: settings)
    monkeypatch.setattr(cli, "_migrate", lambda _: None)
    monkeypatch.setattr(cli, "run_seed", no_seed)
    monkeypatch.setattr(uvicorn, "run", lambda *_, **kwargs: captured.update(kwargs))
    args = argparse.Namespace(host=None, port=None, workers=None, setup_log=None)
    await asyncio.to_thread(cli.cmd_serve, args)  # it runs its own event loop
    return captured


async def test_serve_ignores_forwarded_for_from_loopback(
    app: Any, sessionmaker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app wrapped as uvicorn wraps it with `dxplan serve`'s options, reached from
    127.0.0.1, which uvicorn trusts by default: a new X-Forwarded-For per guess at a new
    username still runs into the per-address limit."""
    settings = app.state.settings
    options = await uvicorn_options_of_dxplan_serve(monkeypatch, settings)
    config = uvicorn.Config(
        app, **{k: v for k, v in options.items() if k in ("proxy_headers", "forwarded_allow_ips")}
    )
    config.load()
    limit = settings.login_max_failures_per_address
    await forget_address(sessionmaker, "127.0.0.1")
    try:
        async with client_for(config.loaded_app, "127.0.0.1") as c:
            answers = [
                await guess(c, f"nobody.xff{n}", **{"X-Forwarded-For": f"198.51.100.{n}"})
                for n in range(limit + 2)
            ]
        assert answers == [400] * limit + [429, 429]
    finally:
        await forget_address(sessionmaker, "127.0.0.1")


async def test_forwarded_for_from_untrusted_peer_is_ignored(
    app: Any, proxied_app: Any, sessionmaker: Any
) -> None:
    """Per address and per user: a fresh X-Forwarded-For per guess changes nothing."""
    victim = await create_user(sessionmaker, role="officer")
    per_user = app.state.settings.login_max_failures_per_user
    async with client_for(app, "192.0.2.30") as c:
        answers = [
            await guess(c, victim.username, **{"X-Forwarded-For": f"203.0.113.{n}"})
            for n in range(per_user + 1)
        ]
    assert answers == [400] * per_user + [429]
    limit = proxied_app.state.settings.login_max_failures_per_address
    async with client_for(proxied_app, "192.0.2.10") as c:
        answers = [
            await guess(c, f"nobody.untrusted{n}", **{"X-Forwarded-For": f"203.0.113.{n}"})
            for n in range(limit + 1)
        ]
        assert answers == [400] * limit + [429]
        assert (await failed_sign_ins(sessionmaker, "nobody.untrusted0"))[0] == {
            "address": "192.0.2.10"
        }


async def test_forwarded_for_from_trusted_proxy_names_the_client(
    proxied_app: Any, sessionmaker: Any
) -> None:
    # X-Forwarded-For → (the client's address in the audit row, the throttle key).
    cases = {
        "203.0.113.50": ("203.0.113.50", "addr:203.0.113.50"),
        # The rightmost address that is not a trusted proxy; what is left of it is the
        # client's own claim and proves nothing.
        "1.2.3.4, 203.0.113.51, 10.0.1.7": ("203.0.113.51", "addr:203.0.113.51"),
        # IPv6 clients are counted by their /64.
        "[2001:db8::1]:4711": ("2001:db8::1", "addr:2001:db8::/64"),
        # No trusted proxy wrote that: the proxy itself is taken as the client.
        "garbage": (PROXY, f"addr:{PROXY}"),
    }
    for n, (header, (address, key)) in enumerate(cases.items()):
        name = f"nobody.trusted{n}"
        async with client_for(proxied_app, PROXY) as c:
            assert await guess(c, name, **{"X-Forwarded-For": header}) == 400
        assert (await failed_sign_ins(sessionmaker, name))[0] == {"address": address}, header
        async with sessionmaker() as session:
            failures = (
                await session.execute(
                    text("SELECT failures FROM login_throttles WHERE key = :key"), {"key": key}
                )
            ).scalar()
        assert failures is not None and failures >= 1, header
    # Each client behind the proxy has its own count: the proxy's clients are not locked out
    # together when one of them guesses.
    limit = proxied_app.state.settings.login_max_failures_per_address
    async with client_for(proxied_app, PROXY) as c:
        for n in range(limit):
            xff = {"X-Forwarded-For": "203.0.113.60"}
            assert await guess(c, f"nobody.behind{n}", **xff) == 400
        assert await guess(c, "nobody.behind", **{"X-Forwarded-For": "203.0.113.60"}) == 429
        assert await guess(c, "nobody.behind", **{"X-Forwarded-For": "203.0.113.61"}) == 400
    await forget_address(sessionmaker, PROXY)


# Atomic failure accounting ---------------------------------------------------------------


async def test_parallel_burst_evaluates_at_most_the_limit(
    app: Any, client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    settings = app.state.settings
    victim = await create_user(sessionmaker, role="officer")
    async with client_for(app, "10.66.0.1") as c:
        answers = await asyncio.gather(*(guess(c, victim.username) for _ in range(50)))
        evaluated = await failed_sign_ins(sessionmaker, victim.id)
        assert len(evaluated) == settings.login_max_failures_per_user
        assert sorted(answers) == [400] * len(evaluated) + [429] * (50 - len(evaluated))
        # Locked: the right password is refused too, without being checked.
        assert await guess(c, victim.username, PASSWORD) == 429
    async with client_for(app, "10.66.0.2") as c:  # from anywhere
        assert await guess(c, victim.username, PASSWORD) == 429
    assert len(await failed_sign_ins(sessionmaker, victim.id)) == len(evaluated)
    # The same count from outside, as the fault suite reads it: the audit trail.
    trail = await client.get(
        "/api/v1/audit",
        params={"action": "auth.sign_in_failed", "entity": "user", "entity_id": victim.id},
        headers=accounts["admin"].headers,
    )
    assert trail.status_code == 200
    assert trail.json()["total"] == len(evaluated)
    await forget_address(sessionmaker, "10.66.0.1")


async def test_right_password_before_the_limit_still_works(app: Any, sessionmaker: Any) -> None:
    settings = app.state.settings
    victim = await create_user(sessionmaker, role="officer")
    async with client_for(app, "10.66.1.1") as c:
        for _ in range(settings.login_max_failures_per_user - 1):
            assert await guess(c, victim.username) == 400
        assert await guess(c, victim.username, PASSWORD) == 200
        async with sessionmaker() as session:
            counts = dict(
                (
                    await session.execute(
                        text("SELECT key, failures FROM login_throttles WHERE key IN (:u, :a)"),
                        {"u": f"user:{victim.username}", "a": "addr:10.66.1.1"},
                    )
                ).all()
            )
        # The account starts over; the address keeps its failures but not the success.
        assert counts == {"addr:10.66.1.1": settings.login_max_failures_per_user - 1}
    await forget_address(sessionmaker, "10.66.1.1")


async def test_concurrent_right_and_wrong_passwords_never_fail(app: Any, sessionmaker: Any) -> None:
    """Successes giving their attempt back while others reserve theirs, on the same rows:
    every answer is a sign-in, a refusal or a 429, never a deadlock's 500."""
    victim = await create_user(sessionmaker, role="officer")
    async with client_for(app, "10.66.2.1") as c:
        answers = await asyncio.gather(
            *(guess(c, victim.username, PASSWORD if n % 2 else "wrong") for n in range(30))
        )
    assert 200 in answers
    await forget_address(sessionmaker, "10.66.2.1")


# Revocation ------------------------------------------------------------------------------


async def test_logout_ends_the_access_tokens_of_that_sign_in(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    account = await create_user(sessionmaker, role="officer")
    first = await sign_in(client, account)
    other = await sign_in(client, account)  # another device
    rotated = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    for token in (first["access_token"], rotated["access_token"], other["access_token"]):
        assert (await me(client, token)).status_code == 200
    out = await client.post("/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]})
    assert out.status_code == 204
    for token in (first["access_token"], rotated["access_token"]):
        refused = await me(client, token)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert (await me(client, other["access_token"])).status_code == 200


async def test_refresh_replay_ends_the_access_tokens_of_the_family(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    account = await create_user(sessionmaker, role="officer")
    first = await sign_in(client, account)
    other = await sign_in(client, account)
    second = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    assert (await me(client, second["access_token"])).status_code == 200
    replay = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 401
    for token in (first["access_token"], second["access_token"]):
        assert (await me(client, token)).status_code == 401
    assert (await me(client, other["access_token"])).status_code == 200


async def test_password_change_ends_every_sign_in(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    account = await signed_in(client, sessionmaker, role="officer")
    other = await sign_in(client, Account(**{**vars(account), "token": ""}))
    changed = await client.post(
        "/api/v1/me/password",
        headers=account.headers,
        json={"current_password": PASSWORD, "new_password": "A-new-secret-99"},
    )
    assert changed.status_code == 204
    assert (await client.get(ME, headers=account.headers)).status_code == 401
    assert (await me(client, other["access_token"])).status_code == 401
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
    )
    assert refreshed.status_code == 401


async def test_admin_reset_and_deactivation_end_every_sign_in(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    admin = accounts["admin"]
    account = await signed_in(client, sessionmaker, role="officer")
    reset = await client.post(
        f"/api/v1/users/{account.id}/password-reset",
        headers=admin.headers,
        json={"new_password": "Another-secret-42"},
    )
    assert reset.status_code == 204, reset.text
    assert (await client.get(ME, headers=account.headers)).status_code == 401

    await sign_in(client, account, password="Another-secret-42")
    assert (await client.get(ME, headers=account.headers)).status_code == 200
    url = f"/api/v1/users/{account.id}"
    current = await client.get(url, headers=admin.headers)
    off = await client.patch(
        url,
        json={"is_active": False},
        headers={**admin.headers, "If-Match": current.headers["etag"]},
    )
    assert off.status_code == 200
    assert (await client.get(ME, headers=account.headers)).status_code == 401


async def test_tokens_without_a_session_are_refused(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    import jwt

    victim = accounts["officer"]
    # The session-wide account's token may have expired on a slow run: only the sid matters.
    claims = jwt.decode(
        victim.token,
        db.TEST_JWT_SECRET,
        algorithms=["HS256"],
        audience="dxplan-api",
        options={"verify_exp": False},
    )
    del claims["sid"]
    claims["exp"] = int(time.time()) + 600
    token = jwt.encode(claims, db.TEST_JWT_SECRET, algorithm="HS256")
    assert (await me(client, token)).status_code == 401
    assert (await client.get(ME, headers=victim.headers)).status_code == 200


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(ME, headers={"Authorization": f"Bearer {token}"})

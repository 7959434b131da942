"""Sign-in throttling against the live two-worker server.

Before: the lockout was checked before the password and the failure recorded after, so 40
parallel guesses got 14 evaluations against a limit of 5; and `X-Forwarded-For` was
believed from any loopback peer, so a new one per guess was never throttled by address.

Evaluations are counted from outside, in the audit log: every attempt that reaches the
password check leaves one `auth.sign_in_failed` row (a throttled attempt, 429, leaves none).
"""

import asyncio
import secrets
from collections import Counter

import httpx

from tests.faults.harness import API, DxplanServer, PgCluster, Staff, live_client

PER_USER = 5  # DXPLAN_LOGIN_MAX_FAILURES_PER_USER given to the server
PER_ADDRESS = 10  # DXPLAN_LOGIN_MAX_FAILURES_PER_ADDRESS given to the server
BURST = 50


def failed_evaluations(pg: PgCluster, username: str) -> int:
    return int(
        pg.psql(
            "SELECT count(*) FROM audit_log a JOIN users u ON a.entity_id = u.id::text "
            f"WHERE a.action = 'auth.sign_in_failed' AND a.entity = 'user' "
            f"AND u.username = '{username}'"
        )
    )


async def guess(
    http: httpx.AsyncClient, username: str, headers: dict[str, str] | None = None
) -> int:
    answer = await http.post(
        f"{API}/auth/token",
        data={"username": username, "password": f"wrong-{secrets.token_hex(4)}"},
        headers=headers,
    )
    if answer.status_code == 429:
        assert answer.headers["retry-after"].isdigit()
        assert answer.json()["code"] == "too_many_requests"
    else:
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "invalid_grant"
    return answer.status_code


async def test_parallel_burst_of_wrong_passwords_evaluates_at_most_the_limit(
    server: DxplanServer, pg: PgCluster, staff: Staff
) -> None:
    """50 wrong guesses at once for one account, spread by the kernel over both workers."""
    username = "demo.lead"
    assert failed_evaluations(pg, username) == 0
    async with live_client(server, source="127.0.0.3") as http:
        statuses = Counter(await asyncio.gather(*(guess(http, username) for _ in range(BURST))))
        # The right password is refused too, now that the account is locked.
        right = await http.post(
            f"{API}/auth/token", data={"username": username, "password": "Smart-HaiDuong-2358"}
        )
    evaluated = failed_evaluations(pg, username)
    assert 1 <= evaluated <= PER_USER, (evaluated, statuses)
    assert statuses == Counter({400: evaluated, 429: BURST - evaluated})
    assert right.status_code == 429, right.text


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    server: DxplanServer, staff: Staff
) -> None:
    """No trusted proxies are configured: a new X-Forwarded-For per guess changes nothing.

    Sent from 127.0.0.1, the peer uvicorn's own proxy-header support trusts by default, so
    the test sees the app's rule and not a default that happens to match it."""
    async with live_client(server, source="127.0.0.1") as http:
        # One account, a new forwarded address per guess: the account limit still holds.
        one_account = [
            await guess(http, "demo.officer2", {"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(1, PER_USER + 3)
        ]
        # A new account and a new forwarded address per guess (spraying): the limit of the
        # real address (these guesses plus those above) still holds.
        spraying = [
            await guess(
                http, f"nobody.{secrets.token_hex(4)}", {"X-Forwarded-For": f"203.0.113.{n}"}
            )
            for n in range(1, PER_ADDRESS + 3)
        ]
    assert one_account == [400] * PER_USER + [429] * 2
    assert spraying == [400] * (PER_ADDRESS - PER_USER) + [429] * (PER_USER + 2)

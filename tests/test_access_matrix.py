"""Who may call what: every endpoint of the API, for the public, each role and a user of
another agency, with the exact status each gets.

New endpoints are registered in MATRIX; a test fails when the OpenAPI document has an
operation the matrix does not cover.
"""

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.factories import Account, create_user

CALLERS = ["anonymous", "officer", "agency_lead", "reviewer", "observer", "admin", "other_officer"]
STAFF = CALLERS[1:]


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


def staff(status: int, **overrides: int) -> dict[str, int]:
    return {"anonymous": 401, **dict.fromkeys(STAFF, status), **overrides}


def admin_only(status: int) -> dict[str, int]:
    return {"anonymous": 401, **dict.fromkeys(STAFF, 403), "admin": status}


@dataclass
class Context:
    client: httpx.AsyncClient
    sessionmaker: Any
    accounts: dict[str, Account]


Prepare = Callable[[Context, Account], Awaitable[dict[str, Any]]]


async def nothing(ctx: Context, caller: Account) -> dict[str, Any]:
    return {}


async def target_in_syt(ctx: Context, caller: Account) -> dict[str, Any]:
    """A fresh officer of Sở Y tế (the officer's and lead's own agency)."""
    target = await create_user(ctx.sessionmaker, role="officer", agency="SYT")
    etag = (
        await ctx.client.get(f"/api/v1/users/{target.id}", headers=ctx.accounts["admin"].headers)
    ).headers["etag"]
    return {"id": target.id, "headers": {"If-Match": etag}}


async def bad_credentials(ctx: Context, caller: Account) -> dict[str, Any]:
    # A fresh name each time, so the per-username lockout never kicks in here.
    return {"data": {"username": f"nobody.{secrets.token_hex(4)}", "password": "wrong-pass"}}


async def new_user_body(ctx: Context, caller: Account) -> dict[str, Any]:
    return {
        "json": {
            "username": f"new.{secrets.token_hex(4)}",
            "full_name": "Phạm Văn C",
            "password": "Mot-mat-khau-dai-2358",
            "agency": "SYT",
            "role": "officer",
        }
    }


@dataclass
class Endpoint:
    method: str
    path: str  # OpenAPI path template
    expected: dict[str, int]
    url: str | None = None  # concrete URL; may use {id} from prepare
    prepare: Prepare = nothing
    json: Any = None
    data: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


PUBLIC_GETS = [
    ("/api/v1/plan", None),
    ("/api/v1/sections", None),
    ("/api/v1/sections/{code}", "II.1.a"),
    ("/api/v1/tasks", None),
    ("/api/v1/tasks/{code}", "A.I.1"),
    ("/api/v1/indicators", None),
    ("/api/v1/indicators/{code}", "CT-2025-01"),
    ("/api/v1/documents", None),
    ("/api/v1/documents/{number}", "1"),
    ("/api/v1/agencies", None),
    ("/api/v1/agencies/{code}", "STTTT"),
    ("/healthz", None),
    ("/readyz", None),
]

MATRIX: list[Endpoint] = [
    *[
        Endpoint(
            "GET",
            path,
            everyone(200),
            url=path.replace("{code}", arg).replace("{number}", arg) if arg else path,
        )
        for path, arg in PUBLIC_GETS
    ],
    Endpoint(
        "POST",
        "/api/v1/auth/token",
        everyone(400),
        prepare=bad_credentials,
    ),
    Endpoint("POST", "/api/v1/auth/refresh", everyone(401), json={"refresh_token": "unknown"}),
    Endpoint("POST", "/api/v1/auth/logout", everyone(204), json={"refresh_token": "unknown"}),
    Endpoint("GET", "/api/v1/me", staff(200)),
    # A wrong current password proves the caller got past the permission check.
    Endpoint(
        "POST",
        "/api/v1/me/password",
        staff(422),
        json={"current_password": "not-it", "new_password": "Whatever-long-2358"},
    ),
    Endpoint("GET", "/api/v1/users", staff(200)),
    Endpoint("POST", "/api/v1/users", admin_only(201), prepare=new_user_body),
    Endpoint(
        "GET",
        "/api/v1/users/{user_id}",
        staff(200, other_officer=404),
        url="/api/v1/users/{id}",
        prepare=target_in_syt,
    ),
    Endpoint(
        "PATCH",
        "/api/v1/users/{user_id}",
        admin_only(200),
        url="/api/v1/users/{id}",
        prepare=target_in_syt,
        json={"full_name": "Tên mới"},
    ),
    Endpoint(
        "POST",
        "/api/v1/users/{user_id}/password-reset",
        admin_only(204),
        url="/api/v1/users/{id}/password-reset",
        prepare=target_in_syt,
        json={"new_password": "Mat-khau-moi-2358"},
    ),
]

CASES = [(e, caller) for e in MATRIX for caller in CALLERS]


@pytest.mark.parametrize(
    ("endpoint", "caller"), CASES, ids=[f"{e.method} {e.path} as {c}" for e, c in CASES]
)
async def test_access(
    client: httpx.AsyncClient,
    sessionmaker: Any,
    accounts: dict[str, Account],
    endpoint: Endpoint,
    caller: str,
) -> None:
    ctx = Context(client, sessionmaker, accounts)
    account = accounts[caller]
    prepared = await endpoint.prepare(ctx, account)
    url = (endpoint.url or endpoint.path).format(id=prepared.get("id", 0))
    headers = {**account.headers, **prepared.get("headers", {})}
    response = await client.request(
        endpoint.method,
        url,
        headers=headers,
        json=prepared.get("json", endpoint.json),
        data=prepared.get("data", endpoint.data),
    )
    assert response.status_code == endpoint.expected[caller], response.text
    if response.status_code == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"


async def test_matrix_covers_every_operation(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    covered = {(e.method, e.path) for e in MATRIX}
    assert operations == covered

"""Who may call what: every endpoint of the API, for the public, each role and a user of
another agency, with the exact status each gets.

New endpoints are registered in MATRIX, here or as ENDPOINTS in a tests/routers/matrix_*.py
module (which may import Endpoint and the helpers from this one); a test fails when the OpenAPI
document has an operation the matrix does not cover.
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


API = "/api/v1"
ITEM_BODIES = {
    "task-updates": {"task": "E.1", "status": "in_progress", "percent_complete": 20},
    "indicator-values": {"target": "CT-2025-06.1", "value": 40, "as_of": "2026-11-15"},
    "document-updates": {"document": 1, "status": "drafting"},
}
ITEM_PATCHES = {
    "task-updates": {"percent_complete": 30},
    "indicator-values": {"value": 45},
    "document-updates": {"note": "Đang lấy ý kiến."},
}


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, response.text
    return dict(response.json()) if response.content else {}


async def _period(ctx: Context) -> dict[str, Any]:
    return await _ok(
        await ctx.client.post(
            f"{API}/periods",
            headers=ctx.accounts["reviewer"].headers,
            json={
                "title": f"Kỳ thử {secrets.token_hex(3)}",
                "due_date": "2026-12-01",
                "cutoff_date": "2026-11-15",
                "agencies": ["SYT", "SGDDT"],
            },
        )
    )


async def _etag(ctx: Context, url: str, who: str = "officer") -> str:
    response = await ctx.client.get(url, headers=ctx.accounts[who].headers)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


def in_state(
    state: str,
    kind: str | None = None,
    item: str | None = None,
    etag: str = "report",
    body: Any = None,
) -> Prepare:
    """A fresh Sở Y tế report in `state` (draft, submitted, approved), optionally with one
    item of `kind` in review state `item` (returned, resubmitted)."""

    async def prepare(ctx: Context, caller: Account) -> dict[str, Any]:
        acc = ctx.accounts
        period = await _period(ctx)
        report = await _ok(
            await ctx.client.post(
                f"{API}/reports", headers=acc["officer"].headers, json={"period_id": period["id"]}
            )
        )
        url = f"{API}/reports/{report['id']}"
        item_id = 0
        if kind is not None:
            item_id = (
                await _ok(
                    await ctx.client.post(
                        f"{url}/{kind}", headers=acc["officer"].headers, json=ITEM_BODIES[kind]
                    )
                )
            )["id"]
        if state in ("submitted", "approved"):
            await _ok(
                await ctx.client.post(
                    f"{url}/submit",
                    headers={**acc["agency_lead"].headers, "If-Match": await _etag(ctx, url)},
                )
            )
        if state == "approved":
            await _ok(
                await ctx.client.post(
                    f"{url}/approve",
                    headers={
                        **acc["reviewer"].headers,
                        "If-Match": await _etag(ctx, url, "reviewer"),
                    },
                )
            )
        item_url = f"{url}/{kind}/{item_id}"
        moves = {
            "returned": [("return", "reviewer")],
            "resubmitted": [("return", "reviewer"), ("resubmit", "agency_lead")],
        }
        for move, who in moves.get(item or "", []):
            tag = await _item_etag(ctx, url, kind or "", item_id)
            await _ok(
                await ctx.client.post(
                    f"{item_url}/{move}",
                    headers={**acc[who].headers, "If-Match": tag},
                    json={"comment": "Sửa số liệu."},
                )
            )
        tag = (
            await _item_etag(ctx, url, kind or "", item_id)
            if etag == "item"
            else await _etag(ctx, url)
        )
        return {
            "id": report["id"],
            "item": item_id,
            "headers": {"If-Match": tag},
            **({"json": body} if body is not None else {}),
        }

    return prepare


async def _item_etag(ctx: Context, url: str, kind: str, item_id: int) -> str:
    listed = await ctx.client.get(f"{url}/{kind}", headers=ctx.accounts["officer"].headers)
    items = listed.json()["items"]
    version = next(i["version"] for i in items if i["id"] == item_id)
    entity = {
        "task-updates": "task_update",
        "indicator-values": "indicator_value",
        "document-updates": "document_update",
    }[kind]
    return f'"{entity}-{item_id}-v{version}"'


async def fresh_period(ctx: Context, caller: Account) -> dict[str, Any]:
    period = await _period(ctx)
    return {
        "id": period["id"],
        "json": {"period_id": period["id"]},
        "headers": {"If-Match": await _etag(ctx, f"{API}/periods/{period['id']}", "reviewer")},
    }


async def period_to_close(ctx: Context, caller: Account) -> dict[str, Any]:
    return {**await fresh_period(ctx, caller), "json": {"status": "closed"}}


async def new_period_body(ctx: Context, caller: Account) -> dict[str, Any]:
    return {
        "json": {"title": "Báo cáo đột xuất", "due_date": "2026-12-20", "cutoff_date": "2026-12-10"}
    }


def agency_only(
    status: int,
    *,
    lead: int | None = None,
    officer: int | None = None,
    reviewer: int = 404,
    observer: int = 404,
    admin: int = 404,
    other: int = 404,
) -> dict[str, int]:
    """For a Sở Y tế object: its own staff get `status`; the rest as given."""
    return {
        "anonymous": 401,
        "officer": status if officer is None else officer,
        "agency_lead": status if lead is None else lead,
        "reviewer": reviewer,
        "observer": observer,
        "admin": admin,
        "other_officer": other,
    }


def reviewer_only(status: int, *, other: int = 404) -> dict[str, int]:
    """For a submitted Sở Y tế report: only reviewers act; others see it or not."""
    return {
        "anonymous": 401,
        "officer": 403,
        "agency_lead": 403,
        "reviewer": status,
        "observer": 403,
        "admin": 403,
        "other_officer": other,
    }


def item_routes(kind: str) -> list["Endpoint"]:
    base = "/api/v1/reports/{report_id}/" + kind
    url = "/api/v1/reports/{id}/" + kind
    return [
        Endpoint("GET", base, agency_only(200), url=url, prepare=in_state("draft")),
        Endpoint(
            "GET",
            base + "/{item_id}",
            agency_only(200),
            url=url + "/{item}",
            prepare=in_state("draft", kind),
        ),
        Endpoint(
            "POST",
            base,
            agency_only(201),
            url=url,
            prepare=in_state("draft", body=ITEM_BODIES[kind]),
        ),
        Endpoint(
            "PATCH",
            base + "/{item_id}",
            agency_only(200),
            url=url + "/{item}",
            prepare=in_state("draft", kind, etag="item", body=ITEM_PATCHES[kind]),
        ),
        Endpoint(
            "DELETE",
            base + "/{item_id}",
            agency_only(204),
            url=url + "/{item}",
            prepare=in_state("draft", kind, etag="item"),
        ),
        Endpoint(
            "POST",
            base + "/{item_id}/return",
            reviewer_only(200),
            url=url + "/{item}/return",
            prepare=in_state("approved", kind, etag="item", body={"comment": "Sai số."}),
        ),
        Endpoint(
            "POST",
            base + "/{item_id}/resubmit",
            {**reviewer_only(403), "agency_lead": 200},
            url=url + "/{item}/resubmit",
            prepare=in_state("approved", kind, "returned", etag="item"),
        ),
        Endpoint(
            "POST",
            base + "/{item_id}/approve",
            reviewer_only(200),
            url=url + "/{item}/approve",
            prepare=in_state("approved", kind, "resubmitted", etag="item"),
        ),
    ]


async def draft_with_comment(ctx: Context, caller: Account) -> dict[str, Any]:
    """A fresh Sở Y tế draft with one comment of its officer; `item` is the comment's id."""
    prepared = await in_state("draft")(ctx, caller)
    comment = await _ok(
        await ctx.client.post(
            f"{API}/reports/{prepared['id']}/comments",
            headers=ctx.accounts["officer"].headers,
            json={"body": "Xin ý kiến."},
        )
    )
    return {**prepared, "item": comment["id"]}


@dataclass
class Endpoint:
    method: str
    path: str  # OpenAPI path template
    expected: dict[str, int]
    url: str | None = None  # concrete URL; may use {id} from prepare
    prepare: Prepare = nothing
    json: Any = None
    data: Any = None
    files: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


PUBLIC_GETS = [
    ("/api/v1/plan", None),
    ("/api/v1/sections", None),
    ("/api/v1/sections/{code}", "II.1.a"),
    ("/api/v1/tasks", None),
    ("/api/v1/tasks/{code}", "A.I.1"),
    ("/api/v1/tasks/{code}/progress", "A.I.1"),
    ("/api/v1/indicators", None),
    ("/api/v1/indicators/{code}", "CT-2025-01"),
    ("/api/v1/indicators/{code}/values", "CT-2025-01"),
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
    # RFC 7009: the same empty 200 for any token, from anyone (an unknown one changes nothing).
    Endpoint("POST", "/api/v1/auth/revoke", everyone(200), data={"token": "unknown"}),
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
    Endpoint("GET", "/api/v1/periods", everyone(200)),
    Endpoint("POST", "/api/v1/periods", reviewer_only(201, other=403), prepare=new_period_body),
    Endpoint(
        "GET",
        "/api/v1/periods/{period_id}",
        {**staff(200), "anonymous": 404},
        url="/api/v1/periods/{id}",
        prepare=fresh_period,
    ),
    Endpoint(
        "PATCH",
        "/api/v1/periods/{period_id}",
        reviewer_only(200, other=403),
        url="/api/v1/periods/{id}",
        prepare=period_to_close,
    ),
    Endpoint("GET", "/api/v1/reports", staff(200)),
    Endpoint(
        "POST",
        "/api/v1/reports",
        {**agency_only(201, reviewer=403, observer=403, admin=403), "other_officer": 201},
        prepare=fresh_period,
    ),
    Endpoint("GET", "/api/v1/review-queue", reviewer_only(200, other=403)),
    Endpoint(
        "GET",
        "/api/v1/reports/{report_id}",
        agency_only(200),
        url="/api/v1/reports/{id}",
        prepare=in_state("draft"),
    ),
    Endpoint(
        "POST",
        "/api/v1/reports/{report_id}/submit",
        agency_only(200, officer=403),
        url="/api/v1/reports/{id}/submit",
        prepare=in_state("draft"),
    ),
    Endpoint(
        "POST",
        "/api/v1/reports/{report_id}/withdraw",
        {**reviewer_only(403), "agency_lead": 200},
        url="/api/v1/reports/{id}/withdraw",
        prepare=in_state("submitted"),
    ),
    Endpoint(
        "POST",
        "/api/v1/reports/{report_id}/approve",
        reviewer_only(200),
        url="/api/v1/reports/{id}/approve",
        prepare=in_state("submitted"),
    ),
    Endpoint(
        "POST",
        "/api/v1/reports/{report_id}/return",
        reviewer_only(200),
        url="/api/v1/reports/{id}/return",
        prepare=in_state("submitted", body={"comment": "Thiếu số liệu."}),
    ),
    Endpoint(
        "GET",
        "/api/v1/reports/{report_id}/history",
        agency_only(200),
        url="/api/v1/reports/{id}/history",
        prepare=in_state("draft"),
    ),
    Endpoint(
        "GET",
        "/api/v1/reports/{report_id}/comments",
        agency_only(200),
        url="/api/v1/reports/{id}/comments",
        prepare=in_state("draft"),
    ),
    Endpoint(
        "POST",
        "/api/v1/reports/{report_id}/comments",
        agency_only(201),
        url="/api/v1/reports/{id}/comments",
        prepare=in_state("draft", body={"body": "Xin ý kiến."}),
    ),
    Endpoint(
        "GET",
        "/api/v1/reports/{report_id}/comments/{comment_id}",
        agency_only(200),
        url="/api/v1/reports/{id}/comments/{item}",
        prepare=draft_with_comment,
    ),
    *item_routes("task-updates"),
    *item_routes("indicator-values"),
    *item_routes("document-updates"),
    Endpoint(
        "POST",
        "/api/v1/users/{user_id}/password-reset",
        admin_only(204),
        url="/api/v1/users/{id}/password-reset",
        prepare=target_in_syt,
        json={"new_password": "Mat-khau-moi-2358"},
    ),
]


def _extra_entries() -> list[Endpoint]:
    """Endpoints registered by other test modules: any tests/routers/matrix_*.py with
    ENDPOINTS (beside this module)."""
    import importlib
    import pkgutil

    from tests import routers

    extra: list[Endpoint] = []
    for module in pkgutil.iter_modules(routers.__path__):
        if module.name.startswith("matrix_"):
            extra += importlib.import_module(f"tests.routers.{module.name}").ENDPOINTS
    return extra


MATRIX += _extra_entries()
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
    url = (endpoint.url or endpoint.path).format(
        id=prepared.get("id", 0), item=prepared.get("item", 0)
    )
    headers = {**account.headers, **prepared.get("headers", {})}
    response = await client.request(
        endpoint.method,
        url,
        headers=headers,
        json=prepared.get("json", endpoint.json),
        data=prepared.get("data", endpoint.data),
        files=prepared.get("files", endpoint.files),
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

"""The audit trail: every write leaves a row, the API reads it, the database keeps it."""

import json
import secrets
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from app.models import AuditEntry
from tests.factories import PASSWORD, Account, signed_in

API = "/api/v1"
AUDIT = f"{API}/audit"


@pytest.fixture
async def team(client: httpx.AsyncClient, sessionmaker: Any) -> dict[str, Account]:
    return {
        "officer": await signed_in(client, sessionmaker, role="officer", agency="SYT"),
        "lead": await signed_in(client, sessionmaker, role="agency_lead", agency="SYT"),
        "reviewer": await signed_in(client, sessionmaker, role="reviewer", agency="STTTT"),
        "admin": await signed_in(client, sessionmaker, role="admin", agency="STTTT"),
        "observer": await signed_in(client, sessionmaker, role="observer", agency="UBND_TINH"),
    }


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json()) if response.content else {}


async def trail(client: httpx.AsyncClient, who: Account, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _ok(await client.get(AUDIT, params=params, headers=who.headers))[
        "items"
    ]
    return items


async def new_period(client: httpx.AsyncClient, reviewer: Account) -> dict[str, Any]:
    return _ok(
        await client.post(
            f"{API}/periods",
            headers=reviewer.headers,
            json={
                "title": f"Kỳ kiểm tra {secrets.token_hex(3)}",
                "due_date": "2026-12-01",
                "cutoff_date": "2026-11-15",
                "agencies": ["SYT"],
            },
        ),
        201,
    )


async def test_report_transition_is_audited_with_request_id(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    period = await new_period(client, team["reviewer"])
    report = _ok(
        await client.post(
            f"{API}/reports", headers=team["officer"].headers, json={"period_id": period["id"]}
        ),
        201,
    )
    url = f"{API}/reports/{report['id']}"
    etag = (await client.get(url, headers=team["lead"].headers)).headers["etag"]
    submitted = await client.post(
        f"{url}/submit", headers={**team["lead"].headers, "If-Match": etag}
    )
    assert submitted.status_code == 200, submitted.text
    request_id = submitted.headers["x-request-id"]

    rows = await trail(client, team["reviewer"], entity="report", entity_id=str(report["id"]))
    assert [r["action"] for r in rows] == ["report.submit", "report.create"]  # newest first
    submit = rows[0]
    assert (submit["before"]["state"], submit["after"]["state"]) == ("draft", "submitted")
    assert submit["request_id"] == request_id
    assert submit["actor"] == team["lead"].username
    assert (submit["entity"], submit["entity_id"]) == ("report", str(report["id"]))
    assert submit["at"].endswith("+07:00")
    assert rows[1]["before"] is None and rows[1]["after"]["state"] == "draft"
    assert rows[1]["actor"] == team["officer"].username

    # The filters combine; the admin reads the same trail.
    only = await trail(client, team["admin"], actor=team["lead"].username, action="report.submit")
    assert [r["id"] for r in only] == [submit["id"]]


async def test_who_may_read_the_trail(client: httpx.AsyncClient, team: dict[str, Account]) -> None:
    assert (await client.get(AUDIT, headers=team["reviewer"].headers)).status_code == 200
    assert (await client.get(AUDIT, headers=team["admin"].headers)).status_code == 200
    for who in ("officer", "lead", "observer"):
        refused = await client.get(AUDIT, headers=team[who].headers)
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
    anonymous = await client.get(AUDIT)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


async def test_pages_and_bad_filters(client: httpx.AsyncClient, team: dict[str, Account]) -> None:
    reviewer = team["reviewer"]
    for _ in range(3):
        await new_period(client, reviewer)
    seen: list[int] = []
    cursor = None
    params: dict[str, Any] = {"actor": reviewer.username, "action": "period.create", "limit": 2}
    for _ in range(3):
        page = _ok(
            await client.get(
                AUDIT,
                params={**params, **({"cursor": cursor} if cursor else {})},
                headers=reviewer.headers,
            )
        )
        assert page["total"] == 3
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 3 and seen == sorted(seen, reverse=True)

    unknown = await client.get(AUDIT, params={"actor": "no.such.user"}, headers=reviewer.headers)
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_filter_value"
    for bad in ({"cursor": "x"}, {"entity": "Report!"}, {"limit": 0}):
        assert (await client.get(AUDIT, params=bad, headers=reviewer.headers)).status_code == 422
    # A cursor is a position (32 hex digits): one the contract does not admit is refused.
    truncated = page["next_cursor"] or "0" * 32
    wrong = await client.get(AUDIT, params={"cursor": truncated[:-1]}, headers=reviewer.headers)
    assert (wrong.status_code, wrong.json()["code"]) == (422, "invalid_cursor")


async def test_period_writes_are_audited(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    reviewer = team["reviewer"]
    period = await new_period(client, reviewer)
    url = f"{API}/periods/{period['id']}"
    etag = (await client.get(url, headers=reviewer.headers)).headers["etag"]
    _ok(
        await client.patch(
            url,
            json={"status": "closed", "due_date": "2026-12-05"},
            headers={**reviewer.headers, "If-Match": etag},
        )
    )
    update, create = await trail(client, reviewer, entity="period", entity_id=str(period["id"]))
    assert (create["action"], create["actor"], create["before"]) == (
        "period.create",
        reviewer.username,
        None,
    )
    assert create["after"]["title"] == period["title"]
    assert create["after"]["status"] == "open"
    assert len(create["after"]["agencies"]) == 1
    assert update["action"] == "period.update"
    assert (update["before"]["status"], update["after"]["status"]) == ("open", "closed")
    assert (update["before"]["due_date"], update["after"]["due_date"]) == (
        "2026-12-01",
        "2026-12-05",
    )
    assert update["after"]["version"] == update["before"]["version"] + 1


async def test_user_writes_are_audited_without_secrets(
    client: httpx.AsyncClient, sessionmaker: Any, team: dict[str, Account]
) -> None:
    admin = team["admin"]
    created = _ok(
        await client.post(
            f"{API}/users",
            headers=admin.headers,
            json={
                "username": f"audit.{secrets.token_hex(4)}",
                "full_name": "Lê Thị D",
                "password": "Mot-mat-khau-dai-2358",
                "agency": "SYT",
                "role": "officer",
            },
        ),
        201,
    )
    url = f"{API}/users/{created['id']}"
    etag = (await client.get(url, headers=admin.headers)).headers["etag"]
    _ok(
        await client.patch(
            url, json={"full_name": "Lê Thị Đ"}, headers={**admin.headers, "If-Match": etag}
        )
    )
    _ok(
        await client.post(
            f"{url}/password-reset",
            headers=admin.headers,
            json={"new_password": "Mat-khau-moi-2358"},
        ),
        204,
    )
    rows = await trail(client, admin, entity="user", entity_id=str(created["id"]))
    assert [r["action"] for r in rows] == ["user.password_reset", "user.update", "user.create"]
    assert all(r["actor"] == admin.username for r in rows)
    reset, update, create = rows
    assert create["after"]["username"] == created["username"]
    assert (update["before"]["full_name"], update["after"]["full_name"]) == (
        "Lê Thị D",
        "Lê Thị Đ",
    )
    assert reset["after"]["version"] == reset["before"]["version"] + 1
    assert reset["after"]["tokens_valid_after"] is not None

    # A user changing their own password is audited too, as its actor.
    own = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    _ok(
        await client.post(
            f"{API}/me/password",
            headers=own.headers,
            json={"current_password": PASSWORD, "new_password": "Mat-khau-rieng-2358"},
        ),
        204,
    )
    (change,) = await trail(
        client, admin, entity="user", entity_id=str(own.id), action="user.password_change"
    )
    assert (change["action"], change["actor"]) == ("user.password_change", own.username)

    # No password hash ever reaches the trail.
    async with sessionmaker() as session:
        stored = (
            await session.execute(
                select(AuditEntry).where(
                    col(AuditEntry.entity) == "user",
                    col(AuditEntry.entity_id).in_([str(created["id"]), str(own.id)]),
                    col(AuditEntry.action).startswith("user."),
                )
            )
        ).scalars()
        dumped = [json.dumps([e.before, e.after]) for e in stored]
    assert len(dumped) == 4
    assert not any("password_hash" in d or "$argon2" in d for d in dumped)


async def test_the_trail_is_append_only(
    client: httpx.AsyncClient, sessionmaker: Any, team: dict[str, Account]
) -> None:
    await new_period(client, team["reviewer"])
    async with sessionmaker() as session:
        newest = (await session.execute(select(func.max(col(AuditEntry.id))))).scalar_one()
        before = await session.execute(select(AuditEntry).where(col(AuditEntry.id) == newest))
        action = before.scalar_one().action
    for statement in (
        "UPDATE audit_log SET action = 'tampered' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
    ):
        async with sessionmaker() as session:
            with pytest.raises(DBAPIError) as refused:
                await session.execute(text(statement), {"id": newest})
            await session.rollback()
        # The runtime role has no UPDATE or DELETE on it; the owner meets the trigger.
        assert getattr(refused.value.orig, "sqlstate", None) == "42501", refused.value
    async with sessionmaker() as session:
        kept = await session.execute(
            select(col(AuditEntry.action)).where(col(AuditEntry.id) == newest)
        )
        assert kept.scalar_one() == action


async def test_sign_in_out_and_refresh_reuse_are_audited(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    from tests.factories import create_user, sign_in

    user = await create_user(sessionmaker, role="officer", agency="SGDDT")
    bad = await client.post(
        "/api/v1/auth/token", data={"username": user.username, "password": "wrong-one"}
    )
    assert bad.status_code == 400
    tokens = await sign_in(client, user)
    first = tokens["refresh_token"]
    await client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    ).status_code == 401
    await client.post("/api/v1/auth/logout", json={"refresh_token": first})

    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(col(AuditEntry.action), col(AuditEntry.actor_id))
                .where(
                    col(AuditEntry.entity_id) == str(user.id),
                    col(AuditEntry.action).startswith("auth."),
                )
                .order_by(col(AuditEntry.id))
            )
        ).all()
    assert [(a, actor) for a, actor in rows] == [
        ("auth.sign_in_failed", None),
        ("auth.sign_in", user.id),
        ("auth.refresh_reused", None),
    ]
    trail = (
        await client.get(
            "/api/v1/audit", params={"action": "auth.sign_out"}, headers=accounts["admin"].headers
        )
    ).json()
    assert trail["total"] >= 1


async def _new_report(client: httpx.AsyncClient, team: dict[str, Account]) -> int:
    period = await new_period(client, team["reviewer"])
    report = await client.post(
        f"{API}/reports", headers=team["officer"].headers, json={"period_id": period["id"]}
    )
    return int(_ok(report, 201)["id"])


async def _submit(client: httpx.AsyncClient, team: dict[str, Account], report_id: int) -> None:
    url = f"{API}/reports/{report_id}"
    etag = (await client.get(url, headers=team["lead"].headers)).headers["etag"]
    _ok(await client.post(f"{url}/submit", headers={**team["lead"].headers, "If-Match": etag}))


async def test_any_entry_naming_a_report_follows_that_reports_visibility(
    client: httpx.AsyncClient, sessionmaker: Any, team: dict[str, Account]
) -> None:
    """Fail-closed: an entry is filtered by the report it names (its entity, or `report_id`
    in `before` or `after`) whatever its entity, so a future report part cannot leak a
    draft; one naming no report (a bad id, null) is never shown; every report it names must
    be visible. Entities unknown to the app, written straight into the table."""
    from app.models import User
    from app.services import audit as service

    draft, submitted = await _new_report(client, team), await _new_report(client, team)
    await _submit(client, team, submitted)
    action = "test." + "".join(secrets.choice("abcdefghijklmnop") for _ in range(12))
    cases: dict[str, tuple[str, Any, Any]] = {
        "after": ("report_signature", None, {"report_id": draft}),
        "before": ("report_signature", {"report_id": draft, "x": 1}, None),
        "text_id": ("report_stamp", None, {"report_id": str(draft)}),
        "moved": ("report_stamp", {"report_id": draft}, {"report_id": submitted}),
        "bad_id": ("report_stamp", None, {"report_id": "x1"}),
        "null_id": ("report_stamp", None, {"report_id": None}),
        "control": ("widget", None, {"name": "không thuộc báo cáo"}),
    }
    async with sessionmaker() as session:
        for label, (entity, before, after) in cases.items():
            session.add(
                AuditEntry(
                    action=action, entity=entity, entity_id=label, before=before, after=after
                )
            )
        await session.commit()

    async def seen_through_http(who: str) -> set[str]:
        return {row["entity_id"] for row in await trail(client, team[who], action=action)}

    async def seen_by(user_id: int) -> set[str]:
        async with sessionmaker() as session:
            caller = await session.get(User, user_id)
            page = await service.list_entries(
                session, caller, entity=None, entity_id=None, actor=None, action=action,
                after=None, limit=50,
            )  # fmt: skip
        return {item.entity_id for item in page.items}

    naming_the_draft = {"after", "before", "text_id", "moved"}
    # The audit route's readers (reviewers, administrators) read every agency's reports
    # once submitted, never a draft.
    assert await seen_through_http("reviewer") == {"control"}
    assert await seen_through_http("admin") == {"control"}
    # The rule itself, for the draft's own agency and for another one.
    assert await seen_by(team["officer"].id) == {"control"} | naming_the_draft
    other = await signed_in(client, sessionmaker, role="officer", agency="SGDDT")
    assert await seen_by(other.id) == {"control"}

    await _submit(client, team, draft)
    assert await seen_through_http("reviewer") == {"control"} | naming_the_draft
    assert await seen_through_http("admin") == {"control"} | naming_the_draft

"""Notifications through HTTP: what a return tells the agency, marking read, reminders."""

import json
import secrets
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.cli import main
from app.core.config import get_settings
from app.models import Notification
from app.services.notifications import create_reminders
from tests.factories import Account, signed_in

API = "/api/v1"
NOTIFICATIONS = f"{API}/me/notifications"


@pytest.fixture
async def team(client: httpx.AsyncClient, sessionmaker: Any) -> dict[str, Account]:
    """Fresh staff, so each test owns its notifications."""
    return {
        "officer": await signed_in(client, sessionmaker, role="officer", agency="SYT"),
        "lead": await signed_in(client, sessionmaker, role="agency_lead", agency="SYT"),
        "reviewer": await signed_in(client, sessionmaker, role="reviewer", agency="STTTT"),
        "other": await signed_in(client, sessionmaker, role="officer", agency="SGDDT"),
    }


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json()) if response.content else {}


async def new_period(
    client: httpx.AsyncClient,
    reviewer: Account,
    agencies: list[str],
    due: str = "2026-12-01",
    cutoff: str = "2026-11-15",
) -> dict[str, Any]:
    return await _ok(
        await client.post(
            f"{API}/periods",
            headers=reviewer.headers,
            json={
                "title": f"Báo cáo đột xuất {secrets.token_hex(3)}",
                "due_date": due,
                "cutoff_date": cutoff,
                "agencies": agencies,
            },
        ),
        201,
    )


async def transition(
    client: httpx.AsyncClient, report_id: int, action: str, who: Account, **body: Any
) -> dict[str, Any]:
    url = f"{API}/reports/{report_id}"
    etag = (await client.get(url, headers=who.headers)).headers["etag"]
    return await _ok(
        await client.post(
            f"{url}/{action}", headers={**who.headers, "If-Match": etag}, json=body or None
        )
    )


async def submitted_report(
    client: httpx.AsyncClient, team: dict[str, Account], period_id: int
) -> dict[str, Any]:
    report = await _ok(
        await client.post(
            f"{API}/reports", headers=team["officer"].headers, json={"period_id": period_id}
        ),
        201,
    )
    await _ok(
        await client.post(
            f"{API}/reports/{report['id']}/task-updates",
            headers=team["officer"].headers,
            json={"task": "E.1", "status": "in_progress", "percent_complete": 30},
        ),
        201,
    )
    return await transition(client, report["id"], "submit", team["lead"])


async def mine(
    client: httpx.AsyncClient, who: Account, lang: str = "vi", **params: Any
) -> dict[str, Any]:
    return await _ok(
        await client.get(
            NOTIFICATIONS, params=params, headers={**who.headers, "Accept-Language": lang}
        )
    )


async def test_returned_report_notifies_the_agency_in_both_languages(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    period = await new_period(client, team["reviewer"], ["SYT", "SGDDT"])
    report = await submitted_report(client, team, period["id"])
    reason = "Bổ sung số liệu cấp huyện."
    await transition(client, report["id"], "return", team["reviewer"], comment=reason)

    vi = await mine(client, team["officer"])
    assert vi["total"] == 2
    assert vi["next_cursor"] is None
    returned, opened = vi["items"]  # newest first
    assert (returned["kind"], opened["kind"]) == ("report_returned", "period_opened")
    title = period["title"]
    assert returned["message"] == f"Báo cáo “{title}” đã bị trả lại: {reason}"
    assert (returned["report_id"], returned["period_id"]) == (report["id"], None)
    assert (opened["report_id"], opened["period_id"]) == (None, period["id"])
    assert opened["message"] == f"Kỳ báo cáo “{title}” đã mở; hạn nộp 01/12/2026."
    assert returned["created_at"].endswith("+07:00")
    assert returned["read_at"] is None
    en = await mine(client, team["officer"], "en-US,en;q=0.9")
    assert en["items"][0]["message"] == f"Report “{title}” was returned: {reason}"
    assert en["items"][0]["id"] == returned["id"]

    # The lead of the same agency gets their own copy; another agency gets only the opening.
    assert [n["kind"] for n in (await mine(client, team["lead"]))["items"]] == [
        "report_returned",
        "period_opened",
    ]
    assert [n["kind"] for n in (await mine(client, team["other"]))["items"]] == ["period_opened"]


async def test_mark_read_is_private_and_idempotent(
    client: httpx.AsyncClient, team: dict[str, Account]
) -> None:
    period = await new_period(client, team["reviewer"], ["SYT"])
    report = await submitted_report(client, team, period["id"])
    await transition(client, report["id"], "return", team["reviewer"], comment="Thiếu số liệu.")
    officer = team["officer"]
    returned, opened = (await mine(client, officer))["items"]
    url = f"{NOTIFICATIONS}/{returned['id']}/read"

    # Nobody else can mark it, not even a colleague of the same agency.
    for intruder in (team["lead"], team["other"], team["reviewer"]):
        refused = await client.post(url, headers=intruder.headers)
        assert refused.status_code == 404
        assert refused.json()["code"] == "not_found"
    assert (await client.post(url)).status_code == 401
    assert (await mine(client, officer, unread="true"))["total"] == 2

    assert (await client.post(url, headers=officer.headers)).status_code == 204
    read = (await mine(client, officer, unread="false"))["items"]
    assert [n["id"] for n in read] == [returned["id"]]
    first_read_at = read[0]["read_at"]
    assert first_read_at.endswith("+07:00")
    unread = (await mine(client, officer, unread="true"))["items"]
    assert [n["id"] for n in unread] == [opened["id"]]
    # Again: still 204, and the first read time is kept.
    assert (await client.post(url, headers=officer.headers)).status_code == 204
    assert (await mine(client, officer, unread="false"))["items"][0]["read_at"] == first_read_at
    # The colleague's copy is untouched.
    assert (await mine(client, team["lead"], unread="true"))["total"] == 2

    assert (
        await client.post(f"{NOTIFICATIONS}/2147483647/read", headers=officer.headers)
    ).status_code == 404
    assert (
        await client.post(f"{NOTIFICATIONS}/read-all", headers=officer.headers)
    ).status_code == 204
    assert (await mine(client, officer, unread="true"))["total"] == 0
    assert (await mine(client, officer))["total"] == 2
    assert (await mine(client, team["lead"], unread="true"))["total"] == 2


async def test_pages_newest_first(client: httpx.AsyncClient, team: dict[str, Account]) -> None:
    periods = [await new_period(client, team["reviewer"], ["SYT"]) for _ in range(3)]
    officer = team["officer"]
    seen: list[int] = []
    cursor = None
    for _ in range(3):
        page = await mine(client, officer, limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["total"] == 3
        seen += [n["period_id"] for n in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [p["id"] for p in reversed(periods)]
    bad = await client.get(NOTIFICATIONS, params={"cursor": "nope"}, headers=officer.headers)
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_cursor"
    assert (await client.get(NOTIFICATIONS)).status_code == 401


async def _kinds(sessionmaker: Any, user: Account, period_id: int) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(col(Notification.kind))
            .where(col(Notification.user_id) == user.id, col(Notification.period_id) == period_id)
            .order_by(col(Notification.id))
        )
        return list(rows.scalars())


def _about(page: dict[str, Any], period_id: int, kind: str) -> dict[str, Any]:
    """The one notification of the page about this period (other tests' periods remind too)."""
    (found,) = [n for n in page["items"] if (n["period_id"], n["kind"]) == (period_id, kind)]
    return found


async def _remind(sessionmaker: Any, today: date) -> dict[str, int]:
    async with sessionmaker() as session, session.begin():
        return await create_reminders(session, today)


async def test_reminders_by_date_once_each(
    client: httpx.AsyncClient, sessionmaker: Any, team: dict[str, Account]
) -> None:
    officer, other = team["officer"], team["other"]
    period = await new_period(client, team["reviewer"], ["SYT", "SGDDT"])
    pid = period["id"]
    # A draft is not "in": Sở Y tế is reminded like Sở GDĐT, which has no report at all.
    await _ok(
        await client.post(f"{API}/reports", headers=officer.headers, json={"period_id": pid}),
        201,
    )

    await _remind(sessionmaker, date(2026, 11, 23))  # 8 days before: too early
    assert await _kinds(sessionmaker, officer, pid) == ["period_opened"]

    await _remind(sessionmaker, date(2026, 11, 24))  # 7 days before
    assert await _remind(sessionmaker, date(2026, 11, 24)) == {"due_soon": 0, "overdue": 0}
    await _remind(sessionmaker, date(2026, 12, 1))  # the due date itself: still "soon"
    for who in (officer, team["lead"], other):
        assert await _kinds(sessionmaker, who, pid) == ["period_opened", "period_due_soon"]
    soon = _about(await mine(client, officer, "en"), pid, "period_due_soon")
    assert soon["message"] == (
        f"Reporting period “{period['title']}” is due on 01/12/2026; the report is not in."
    )

    # Sở Y tế submits; the next day only Sở GDĐT is overdue, once however often the job runs.
    reports = await _ok(
        await client.get(f"{API}/reports", params={"period_id": pid}, headers=officer.headers)
    )
    await transition(client, reports["items"][0]["id"], "submit", team["lead"])
    await _remind(sessionmaker, date(2026, 12, 2))
    assert await _remind(sessionmaker, date(2026, 12, 2)) == {"due_soon": 0, "overdue": 0}
    await _remind(sessionmaker, date(2026, 12, 20))  # later runs add nothing for this period
    assert await _kinds(sessionmaker, officer, pid) == ["period_opened", "period_due_soon"]
    assert await _kinds(sessionmaker, other, pid) == [
        "period_opened",
        "period_due_soon",
        "period_overdue",
    ]
    overdue = _about(await mine(client, other), pid, "period_overdue")
    assert overdue["message"] == (
        f"Kỳ báo cáo “{period['title']}” đã quá hạn (01/12/2026); báo cáo chưa được nộp."
    )


async def test_closed_and_returned(
    client: httpx.AsyncClient, sessionmaker: Any, team: dict[str, Account]
) -> None:
    """A returned report is not in; a closed period reminds nobody."""
    closed = await new_period(
        client, team["reviewer"], ["SGDDT"], due="2026-10-01", cutoff="2026-09-15"
    )
    url = f"{API}/periods/{closed['id']}"
    etag = (await client.get(url, headers=team["reviewer"].headers)).headers["etag"]
    await _ok(
        await client.patch(
            url, json={"status": "closed"}, headers={**team["reviewer"].headers, "If-Match": etag}
        )
    )
    returned = await new_period(
        client, team["reviewer"], ["SYT"], due="2026-10-01", cutoff="2026-09-15"
    )
    report = await submitted_report(client, team, returned["id"])
    await _remind(sessionmaker, date(2026, 10, 5))
    assert await _kinds(sessionmaker, team["officer"], returned["id"]) == ["period_opened"]
    await transition(client, report["id"], "return", team["reviewer"], comment="Sai số liệu.")
    await _remind(sessionmaker, date(2026, 10, 5))
    assert await _kinds(sessionmaker, team["officer"], returned["id"]) == [
        "period_opened",
        "period_overdue",
    ]
    assert await _kinds(sessionmaker, team["other"], closed["id"]) == ["period_opened"]


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("APP_ENV", "test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_remind_command_is_safe_to_repeat(
    cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["remind", "--today", "2026-11-30"])
    first = json.loads(capsys.readouterr().out)
    assert set(first) == {"due_soon", "overdue", "reorganisations"}
    assert all(isinstance(first[k], int) and first[k] >= 0 for k in ("due_soon", "overdue"))
    main(["remind", "--today", "2026-11-30"])
    assert json.loads(capsys.readouterr().out) == {
        "due_soon": 0,
        "overdue": 0,
        "reorganisations": {"events": [], "logged": {}},  # test_reorganisation_sync.py
    }
    with pytest.raises(SystemExit):
        main(["remind", "--today", "30/11/2026"])

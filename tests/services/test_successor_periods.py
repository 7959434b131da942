"""Successors report (issue 11, item 4): periods after a reorganisation ask the successor
agencies, the seed keeps that true idempotently, and compliance, scorecards and the dashboard
follow the lineage (a successor's scorecard shows its predecessors' past, labelled)."""

import asyncio
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.cli import run_seed
from app.core.migrate import upgrade
from app.deps import get_today
from tests import db
from tests.factories import Account, signed_in

API = "/api/v1"
DISSOLVED = {"STTTT", "SKHCN", "SYT", "SGDDT", "UBND_TINH", "TPHD"}


def codes(agencies: list[dict[str, Any]]) -> list[str]:
    return [a["code"] for a in agencies]


async def annual(client: httpx.AsyncClient, year: int) -> dict[str, Any]:
    page = (await client.get(f"{API}/periods", params={"kind": "annual", "year": year})).json()
    assert len(page["items"]) == 1, page
    return dict(page["items"][0])


@pytest.fixture
async def reviewer(client: httpx.AsyncClient, sessionmaker: Any) -> Account:
    return await signed_in(client, sessionmaker, role="reviewer", agency="HP_SKHCN")


async def test_annual_periods_ask_the_agencies_of_their_due_date(
    client: httpx.AsyncClient,
) -> None:
    asked_2026 = set(codes((await annual(client, 2026))["agencies"]))
    assert {"HP_SKHCN", "HP_SYT", "HP_SGDDT", "HP_STC", "UBND_HP"} <= asked_2026
    assert not asked_2026 & DISSOLVED
    assert "G_UBND_XA_HP" not in asked_2026  # a group files no report
    for year in (2021, 2024):
        asked = set(codes((await annual(client, year))["agencies"]))
        assert {"STTTT", "SYT", "SGDDT", "TPHD"} <= asked
        assert not {c for c in asked if c.startswith("HP_")}


async def test_ad_hoc_period_defaults_to_the_agencies_of_its_due_date(
    client: httpx.AsyncClient, reviewer: Account
) -> None:
    def body(due: str, cutoff: str) -> dict[str, str]:
        return {"title": "Báo cáo đột xuất", "due_date": due, "cutoff_date": cutoff}

    now = await client.post(
        f"{API}/periods", headers=reviewer.headers, json=body("2026-12-20", "2026-12-10")
    )
    assert now.status_code == 201, now.text
    asked = set(codes(now.json()["agencies"]))
    assert "HP_SKHCN" in asked and not asked & DISSOLVED
    before = await client.post(
        f"{API}/periods", headers=reviewer.headers, json=body("2024-12-20", "2024-12-10")
    )
    assert before.status_code == 201, before.text
    asked = set(codes(before.json()["agencies"]))
    assert "STTTT" in asked and "HP_SKHCN" not in asked


async def test_compliance_and_dashboard_follow_the_lineage(
    client: httpx.AsyncClient, reviewer: Account
) -> None:
    period = await annual(client, 2026)
    result = (
        await client.get(f"{API}/periods/{period['id']}/compliance", headers=reviewer.headers)
    ).json()
    listed = codes([a["agency"] for a in result["agencies"]])
    assert "HP_SKHCN" in listed and not set(listed) & DISSOLVED
    assert sum(result["counts"].values()) == len(listed)
    board = (await client.get(f"{API}/dashboard")).json()
    assert board["current_period"]["period"]["code"] == "annual-2026"
    assert not set(codes([a["agency"] for a in board["current_period"]["agencies"]])) & DISSOLVED


async def test_successor_scorecard_shows_its_predecessors_past_labelled(
    client: httpx.AsyncClient,
) -> None:
    # On a fixed day: from 1 December 2026 (Việt Nam) annual-2026 is due too and joins the card.
    app: Any = client._transport.app  # type: ignore[attr-defined]
    app.dependency_overrides[get_today] = lambda: date(2026, 11, 30)
    try:
        card = (await client.get(f"{API}/agencies/HP_SKHCN/scorecard")).json()
        own = (await client.get(f"{API}/agencies/STTTT/scorecard")).json()
    finally:
        app.dependency_overrides.pop(get_today, None)
    rows = [
        (p["period"]["code"], p["reported_by"]["code"] if p["reported_by"] else None)
        for p in card["periods"]
    ]
    past = [(f"annual-{y}", by) for y in range(2021, 2025) for by in ("SKHCN", "STTTT")]
    assert sorted(rows[:-1]) == sorted(past)
    assert rows[-1] == ("annual-2025", None)  # asked itself: due 2025-12-01, after July 2025
    assert {p["status"] for p in card["periods"]} <= {"on_time", "late", "missing"}
    assert [p["period"]["code"] for p in own["periods"]] == [
        f"annual-{y}" for y in range(2021, 2025)
    ]
    assert all(p["reported_by"] is None for p in own["periods"])


# The seed on a database that predates the lineage --------------------------------------------


@pytest.fixture
def scratch_url(server_url: str) -> Any:
    url = db.create_database(server_url, prefix="dxplan_scratch")
    yield url
    db.drop_database(server_url, url)


ASKED = text(
    "SELECT a.code FROM period_agencies pa JOIN agencies a ON a.id = pa.agency_id"
    " JOIN reporting_periods p ON p.id = pa.period_id WHERE p.code = :code ORDER BY a.code"
)


async def _asked(url: str, code: str) -> list[str]:
    engine = db.owner_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(ASKED, {"code": code})).scalars())
    finally:
        await engine.dispose()


async def _as_before_the_lineage(url: str) -> None:
    """The state an older seed left: 2026 and 2025 ask the plan's original agencies; SYT has
    a draft in 2026; 2025 is closed."""
    engine = db.owner_engine(url)
    try:
        async with engine.begin() as conn:
            for code in ("annual-2026", "annual-2025"):
                await conn.execute(
                    text(
                        "DELETE FROM period_agencies WHERE period_id ="
                        " (SELECT id FROM reporting_periods WHERE code = :code)"
                    ),
                    {"code": code},
                )
                await conn.execute(
                    text(
                        "INSERT INTO period_agencies (period_id, agency_id)"
                        " SELECT p.id, pa.agency_id FROM reporting_periods p, period_agencies pa"
                        " JOIN reporting_periods o ON o.id = pa.period_id"
                        " WHERE p.code = :code AND o.code = 'annual-2024'"
                    ),
                    {"code": code},
                )
            await conn.execute(
                text(
                    "INSERT INTO reports (period_id, agency_id, state, version)"
                    " SELECT p.id, a.id, 'draft', 1 FROM reporting_periods p, agencies a"
                    " WHERE p.code = 'annual-2026' AND a.code = 'SYT'"
                )
            )
            await conn.execute(
                text("UPDATE reporting_periods SET status = 'closed' WHERE code = 'annual-2025'")
            )
    finally:
        await engine.dispose()


def test_seed_moves_open_periods_to_the_successors_idempotently(scratch_url: str) -> None:
    settings = db.settings_for(scratch_url)
    upgrade(settings)
    asyncio.run(run_seed(settings, None))
    original = asyncio.run(_asked(scratch_url, "annual-2024"))
    asyncio.run(_as_before_the_lineage(scratch_url))
    assert asyncio.run(_asked(scratch_url, "annual-2026")) == original

    second = asyncio.run(run_seed(settings, None))
    assert second == {"inserted": {}, "updated": {}, "deleted": {}, "stale": {}}
    asked = asyncio.run(_asked(scratch_url, "annual-2026"))
    assert "HP_SKHCN" in asked and "HP_SYT" in asked
    assert "SYT" in asked  # it has a report there: reports stay with the agency that filed them
    assert not (set(asked) - {"SYT"}) & DISSOLVED
    assert asyncio.run(_asked(scratch_url, "annual-2025")) == original  # closed: untouched
    assert asyncio.run(_asked(scratch_url, "annual-2024")) == original  # before the events

    asyncio.run(run_seed(settings, None))
    assert asyncio.run(_asked(scratch_url, "annual-2026")) == asked

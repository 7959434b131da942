"""Read models of public progress (issue 13, item 2; migration 0017).

After every kind of write that can change what is public (an approval, a report's return, an
item returned, resubmitted and approved again, a newer approval superseding an older one, an
annual task's years, indicator values per level and district, a period's cut-off moved, a
re-seed of the plan), the read models equal a recomputation from the raw rows by the code
that computed public progress before them (``approved_task_progress`` / ``approved_values``,
the oracle), and the public answers built on them are the same bytes as the answers built on
the oracle."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlmodel import col

from app.deps import get_today
from app.models import IndicatorTarget, Task
from app.schemas.indicators import ValuePointRead
from app.services import dashboard, indicators, open_data, progress, tasks
from app.services.history import YearlySeries, yearly_values
from app.services.plan_data import DEFAULT_PLAN_FILE, read_plan_file
from app.services.progress import (
    Progress,
    ValuePoint,
    approved_task_progress,
    approved_values,
    item_task_progress,
    latest_task_progress,
    latest_values,
)
from app.services.seed import load_plan
from tests.factories import Account, signed_in
from tests.services.test_reporting import etag_of

API = "/api/v1"

# The public answers built on the read models.
PUBLIC = [
    "/tasks?limit=200",
    "/tasks/A.V.3",
    "/indicators/CT-2025-12",
    "/dashboard",
    "/agencies/STTTT/scorecard",
    "/open-data/tasks.csv",
    "/open-data/indicators.csv",
]
# An annual task judged in its last year, and after its end.
TODAYS = [date(2025, 6, 1), date(2026, 11, 30)]


def newest_per_year(history: list[Progress]) -> list[Progress]:
    """The oracle's history (newest first) kept to the first row of each year."""
    seen: set[int] = set()
    kept = []
    for item in history:
        if item.period_year not in seen:
            seen.add(item.period_year)
            kept.append(item)
    return kept


def newest_per_scope(series: list[ValuePoint]) -> list[ValuePoint]:
    """The oracle's series (oldest first) kept to the last value of each level and district."""
    last: dict[tuple[str | None, str | None], int] = {}
    for i, point in enumerate(series):
        last[(point.level, point.district)] = i
    return [p for i, p in enumerate(series) if i in set(last.values())]


async def oracle_yearly_values(session: Any, target_ids: list[int]) -> dict[int, YearlySeries]:
    """``yearly_values`` recomputed from every approved value (oldest first, by as_of then
    id): per target, level, district and year the last one, and whether there were more."""
    result = {}
    for target_id, series in (await approved_values(session, target_ids)).items():
        groups: dict[tuple[Any, ...], list[ValuePoint]] = {}
        for point in series:
            groups.setdefault((point.level, point.district, point.as_of.year), []).append(point)
        kept = {id(points[-1]) for points in groups.values()}
        overall = [p for p in series if p.level in (None, "province") and p.district is None]
        result[target_id] = YearlySeries(
            points=[
                ValuePointRead(
                    value=float(p.value) if p.value is not None else None,
                    achieved=p.achieved,
                    as_of=p.as_of,
                    level=p.level,  # type: ignore[arg-type]
                    district=p.district,
                    provenance=p.provenance,  # type: ignore[arg-type]
                    source=p.source,
                    period=p.period_code,
                )
                for p in series
                if id(p) in kept
            ],
            complete=all(len(points) == 1 for points in groups.values()),
            overall=overall[-1] if overall else None,
        )
    return result


async def assert_read_models_match(sessionmaker: Any) -> tuple[int, int]:
    """The read models equal the recomputation for every task and target; (task rows,
    value rows) in them."""
    async with sessionmaker() as session:
        task_ids = list((await session.execute(select(col(Task.id)))).scalars())
        target_ids = list((await session.execute(select(col(IndicatorTarget.id)))).scalars())
        expected_tasks = {
            t: newest_per_year(h)
            for t, h in (await approved_task_progress(session, task_ids)).items()
        }
        expected_values = {
            t: newest_per_scope(s) for t, s in (await approved_values(session, target_ids)).items()
        }
        assert await latest_task_progress(session, task_ids) == expected_tasks
        # The same from the items, as the webhooks' status watch reads them mid-transaction.
        assert await item_task_progress(session, task_ids) == expected_tasks
        assert await latest_values(session, target_ids) == expected_values
        # The series of indicator answers (migration 0023), with the point they judge
        # attainment on: the oracle's last province-wide value.
        assert await yearly_values(session, target_ids) == await oracle_yearly_values(
            session, target_ids
        )
        counts = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM task_progress_latest),"
                    " (SELECT count(*) FROM indicator_value_latest)"
                    " + (SELECT count(*) FROM indicator_value_yearly)"
                )
            )
        ).one()
    return int(counts[0]), int(counts[1])


@contextmanager
def oracle() -> Iterator[None]:
    """Public answers computed from the raw rows, as before the read models."""
    with pytest.MonkeyPatch.context() as patch:
        for module in (progress, open_data):
            patch.setattr(module, "latest_task_progress", approved_task_progress)

        async def every_approved(session: Any, rows: Any, today: date) -> Any:
            return await approved_task_progress(session, [row.id for row in rows])

        # The task list reads only the rows it judges; the oracle hands it every one.
        patch.setattr(tasks, "judged_progress", every_approved)
        patch.setattr(open_data, "latest_values", approved_values)
        # The dashboard reads only the value it judges; the oracle hands it every one.
        patch.setattr(dashboard, "province_latest", approved_values)
        patch.setattr(indicators, "yearly_values", oracle_yearly_values)
        yield


async def public_bodies(client: httpx.AsyncClient, reader: Account) -> dict[str, bytes]:
    """The public answers on several days (a bearer: past the cache of public answers)."""
    app: Any = client._transport.app  # type: ignore[attr-defined]
    bodies = {}
    try:
        for today in TODAYS:
            app.dependency_overrides[get_today] = lambda today=today: today
            for url in PUBLIC:
                response = await client.get(f"{API}{url}", headers=reader.headers)
                assert response.status_code == 200, (url, response.text)
                bodies[f"{today} {url}"] = response.content
    finally:
        app.dependency_overrides.pop(get_today, None)
    return bodies


async def check(client: httpx.AsyncClient, sessionmaker: Any, reader: Account) -> tuple[int, int]:
    counts = await assert_read_models_match(sessionmaker)
    built = await public_bodies(client, reader)
    with oracle():
        recomputed = await public_bodies(client, reader)
    for key, body in built.items():
        assert body == recomputed[key], key
    return counts


class Desk:
    """Staff of one agency and a reviewer, writing reports through the API."""

    def __init__(self, client: httpx.AsyncClient, staff: dict[str, Account]) -> None:
        self.client = client
        self.officer, self.lead, self.reviewer = staff["officer"], staff["lead"], staff["reviewer"]

    async def period(self, agencies: list[str], due: str, cutoff: str) -> dict[str, Any]:
        response = await self.client.post(
            f"{API}/periods",
            headers=self.reviewer.headers,
            json={
                "title": f"Báo cáo đột xuất {secrets.token_hex(3)}",
                "due_date": due,
                "cutoff_date": cutoff,
                "agencies": agencies,
            },
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def report(
        self, period: dict[str, Any], updates: list[dict[str, Any]], values: list[dict[str, Any]]
    ) -> tuple[str, list[int], list[int]]:
        """A submitted report with these items: (its URL, task update ids, value ids)."""
        response = await self.client.post(
            f"{API}/reports", headers=self.officer.headers, json={"period_id": period["id"]}
        )
        assert response.status_code == 201, response.text
        url = f"{API}/reports/{response.json()['id']}"
        ids: dict[str, list[int]] = {"task-updates": [], "indicator-values": []}
        for kind, bodies in (("task-updates", updates), ("indicator-values", values)):
            for body in bodies:
                item = await self.client.post(
                    f"{url}/{kind}", headers=self.officer.headers, json=body
                )
                assert item.status_code == 201, item.text
                ids[kind].append(item.json()["id"])
        await self.move(url, "submit", self.lead)
        return url, ids["task-updates"], ids["indicator-values"]

    async def move(
        self, url: str, action: str, by: Account | None = None, comment: str | None = None
    ) -> dict[str, Any]:
        by = by or self.reviewer
        response = await self.client.post(
            f"{url}/{action}",
            headers={**by.headers, "If-Match": await etag_of(self.client, url, by)},
            json={"comment": comment} if comment else None,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


def progress_row(task: str, percent: int, status: str = "in_progress") -> dict[str, Any]:
    return {
        "task": task,
        "status": status,
        "percent_complete": percent,
        "public_summary": f"Hoàn thành {percent}% khối lượng công việc.",
    }


def value_row(target: str, value: float, as_of: str, **scope: Any) -> dict[str, Any]:
    return {"target": target, "value": value, "as_of": as_of, "source": "Sở TTTT", **scope}


async def test_read_models_follow_every_public_write(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    staff = {
        "officer": await signed_in(client, sessionmaker, role="officer", agency="STTTT"),
        "lead": await signed_in(client, sessionmaker, role="agency_lead", agency="STTTT"),
        "reviewer": await signed_in(client, sessionmaker, role="reviewer", agency="STTTT"),
    }
    desk = Desk(client, staff)
    reader = accounts["reviewer"]
    before = await check(client, sessionmaker, reader)

    # Two years of an annual task ("Hàng năm", A.V.3) and values at several levels.
    p2024 = await desk.period(["STTTT"], "2024-12-01", "2024-11-15")
    p2025 = await desk.period(["STTTT"], "2025-12-01", "2025-11-15")
    p2026 = await desk.period(["STTTT"], "2026-12-01", "2026-11-15")
    r2025, _, _ = await desk.report(
        p2025,
        [progress_row("A.V.3", 60), progress_row("A.V.4", 100, "completed")],
        [
            value_row("CT-2025-12.1", 40, "2025-11-01", level="province"),
            value_row("CT-2025-12.1", 41, "2025-11-02"),
            value_row("CT-2025-12.2", 30, "2025-11-01", level="district", district="TPHD"),
            value_row("CT-2025-12.2", 35, "2025-11-01", level="district", district="TPCL"),
        ],
    )
    assert await check(client, sessionmaker, reader) == before  # submitted: not public
    await desk.move(r2025, "approve")
    counts = await check(client, sessionmaker, reader)
    assert counts[0] >= before[0] + 2 and counts[1] >= before[1] + 4

    # An older year approved later: the task's latest stays 2025's, 2024's row is added.
    r2024, _, _ = await desk.report(
        p2024,
        [progress_row("A.V.3", 100, "completed")],
        [value_row("CT-2025-12.1", 90, "2024-11-01", level="province")],
    )
    await desk.move(r2024, "approve")
    await check(client, sessionmaker, reader)

    # Within one year: an earlier cut-off approved later does not replace the row, a later
    # cut-off does (and the same for a value of the same level and district).
    early = await desk.period(["STTTT"], "2025-06-01", "2025-05-15")
    late = await desk.period(["STTTT"], "2025-12-20", "2025-12-10")
    for period, percent, as_of in ((early, 10, "2025-05-01"), (late, 70, "2025-12-05")):
        url, _, _ = await desk.report(
            period,
            [progress_row("A.V.3", percent)],
            [value_row("CT-2025-12.2", percent, as_of, level="district", district="TPHD")],
        )
        await desk.move(url, "approve")
        await check(client, sessionmaker, reader)
    async with sessionmaker() as session:
        task_id = await _task_id(session, "A.V.3")
        latest = (await latest_task_progress(session, [task_id]))[task_id]
    assert [(p.period_year, p.percent_complete) for p in latest] == [(2025, 70), (2024, 100)]

    # A report returned (not public), corrected, approved: it supersedes the older ones.
    r2026, updates_2026, values_2026 = await desk.report(
        p2026,
        [progress_row("A.V.3", 20)],
        [
            value_row("CT-2025-12.1", 55, "2026-11-01", level="province"),
            value_row("CT-2025-12.2", 50, "2026-11-01", level="district", district="TPHD"),
        ],
    )
    await desk.move(r2026, "return", comment="Bổ sung số liệu cấp huyện.")
    await check(client, sessionmaker, reader)
    await desk.move(r2026, "submit", desk.lead)
    await desk.move(r2026, "approve")
    await check(client, sessionmaker, reader)
    async with sessionmaker() as session:
        latest = await latest_task_progress(session, [await _task_id(session, "A.V.3")])
    assert [(p.period_year, p.percent_complete) for p in next(iter(latest.values()))] == [
        (2026, 20),
        (2025, 70),
        (2024, 100),
    ]

    # An item returned alone after approval leaves the public record, resubmitted it stays
    # out, approved again it is back; the same for an indicator value.
    for kind, item_id in (("task-updates", updates_2026[0]), ("indicator-values", values_2026[0])):
        item_url = f"{r2026}/{kind}/{item_id}"
        for action, by in (("return", desk.reviewer), ("resubmit", desk.lead), ("approve", None)):
            response = await client.post(
                f"{item_url}/{action}",
                headers={
                    **(by or desk.reviewer).headers,
                    "If-Match": await etag_of(client, item_url, by or desk.reviewer),
                },
                json={"comment": "Số liệu chưa khớp."} if action == "return" else None,
            )
            assert response.status_code == 200, response.text
            await check(client, sessionmaker, reader)

    # A period's cut-off moved before the others': its progress is no longer the latest.
    period_url = f"{API}/periods/{p2026['id']}"
    response = await client.patch(
        period_url,
        headers={
            **desk.reviewer.headers,
            "If-Match": await etag_of(client, period_url, desk.reviewer),
        },
        json={"cutoff_date": "2024-01-15"},
    )
    assert response.status_code == 200, response.text
    await check(client, sessionmaker, reader)
    async with sessionmaker() as session:
        latest = await latest_task_progress(session, [await _task_id(session, "A.V.3")])
    assert [p.period_year for p in next(iter(latest.values()))] == [2025, 2024, 2026]

    # The plan seeded again (the command run on every deploy) leaves them right.
    async with sessionmaker() as session, session.begin():
        await load_plan(session, read_plan_file(DEFAULT_PLAN_FILE))
    await check(client, sessionmaker, reader)


async def _task_id(session: Any, code: str) -> int:
    return int(
        (await session.execute(select(col(Task.id)).where(col(Task.code) == code))).scalar_one()
    )


async def test_rebuild_recomputes_what_triggers_missed(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    """A bulk load with triggers off (the benchmark's generator) is followed by
    ``rebuild_read_models()``: emptied, the read models come back equal."""
    await assert_read_models_match(sessionmaker)
    async with sessionmaker() as session, session.begin():
        await session.execute(text("DELETE FROM task_progress_latest"))
        await session.execute(text("DELETE FROM indicator_value_latest"))
        await session.execute(text("DELETE FROM indicator_value_yearly"))
        await session.execute(text("SELECT rebuild_read_models()"))
    await assert_read_models_match(sessionmaker)

"""Public progress: what approval makes public, and the derived status rules.

Only items of approved reports that are not sent back for correction are public. The rules
below are a public promise, repeated in the API documentation (see DERIVED_STATUS_RULES).
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import (
    Agency,
    IndicatorTarget,
    IndicatorValue,
    IndicatorValueLatest,
    Report,
    ReportingPeriod,
    Task,
    TaskProgressLatest,
    TaskUpdate,
)

BEHIND_TOLERANCE = 25  # percentage points below the expected progress

DERIVED_STATUS_RULES = f"""
**Derived task status** (dates in Asia/Ho_Chi_Minh; only approved progress counts):
1. `completed`: the latest approved progress says completed, or 100 %.
2. `overdue`: otherwise, if today is after 31 December of the task's end year.
3. `not_started`: otherwise, if today is before 1 January of its start year.
4. `no_data`: otherwise, if no progress has been approved.
5. `on_track` / `behind`: otherwise the expected progress is the share of the task's
   period (1 January of the start year to 31 December of the end year) elapsed by today;
   `behind` when the approved percentage is more than {BEHIND_TOLERANCE} points below it.
Annual tasks ("Hàng năm") are judged per year: the year judged is this year (or the end
year once it has passed), only progress reported for that year counts, and the expected
progress is the share of that year elapsed. Rows without years (the B.3 heading) are
`completed` or `no_data`.

**Indicator target attainment** uses the latest approved value for the whole province
(level unset or `province`): `met` when it satisfies the target's comparator; `not_met`
otherwise, with `progress_ratio` = value ÷ target (target ÷ value for "at most"), between
0 and 1; qualitative targets are met when reported achieved; `no_data` without a value.

**Targets at a level that ended** (the district level, “cấp huyện”, ended on 1 July 2025 by
the recorded `level_abolished` event; its date is read from the events): judged on a day
from that date on (`as_of=`, default today), such a target carries `level_succession` (the
event with its legal basis, and whether another level carries the measure: `carried` with
`carried_by`, `no_successor`, or `unknown`), and if its deadline (31 December of its
deadline year) is not before the day the level ended, its attainment is `not_applicable`,
without `progress_ratio`, with `attainment_reason` (vi/en). Its approved values are kept and
shown; judged on an earlier day it answers as above.
"""


def public_item(model: Any) -> ColumnElement[bool]:
    """An item citizens may see: its report is approved and it is not sent back."""
    return and_(col(Report.state) == "approved", col(model.review_state).is_(None))


@dataclass
class Progress:
    status: str
    percent_complete: int
    public_summary: str
    period_code: str
    period_year: int
    as_of: date
    approved_at: datetime | None


async def approved_task_progress(
    session: AsyncSession, task_ids: list[int]
) -> dict[int, list[Progress]]:
    """Approved progress per task, newest first (by cut-off date, then approval)."""
    rows = await session.execute(
        select(TaskUpdate, ReportingPeriod, Report)
        .join(Report, col(Report.id) == col(TaskUpdate.report_id))
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(Report.period_id))
        .where(col(TaskUpdate.task_id).in_(task_ids), public_item(TaskUpdate))
        .order_by(
            col(ReportingPeriod.cutoff_date).desc(),
            col(Report.approved_at).desc(),
            col(TaskUpdate.id).desc(),
        )
    )
    result: dict[int, list[Progress]] = {t: [] for t in task_ids}
    for update, period, report in rows:
        result[update.task_id].append(
            Progress(
                status=update.status,
                percent_complete=update.percent_complete,
                public_summary=update.public_summary,
                period_code=period.code,
                period_year=period.year,
                as_of=period.cutoff_date,
                approved_at=report.approved_at,
            )
        )
    return result


async def latest_task_progress(
    session: AsyncSession, task_ids: list[int]
) -> dict[int, list[Progress]]:
    """Per task, the newest approved progress of each reporting year, newest first, from
    the read model (one query). Its first item is the task's latest progress and its item
    of a year the newest of that year, as in ``approved_task_progress``, so that
    ``derive_status`` judges both the same."""
    rows = await session.execute(
        select(
            col(TaskProgressLatest.task_id),
            col(TaskProgressLatest.status),
            col(TaskProgressLatest.percent_complete),
            col(TaskProgressLatest.public_summary),
            col(ReportingPeriod.code),
            col(TaskProgressLatest.year),
            col(TaskProgressLatest.cutoff_date),
            col(TaskProgressLatest.approved_at),
        )
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(TaskProgressLatest.period_id))
        .where(col(TaskProgressLatest.task_id).in_(task_ids))
        .order_by(
            col(TaskProgressLatest.task_id),
            col(TaskProgressLatest.cutoff_date).desc(),
            col(TaskProgressLatest.approved_at).desc(),
            col(TaskProgressLatest.task_update_id).desc(),
        )
    )
    return _progress_by_task(task_ids, rows)


def _progress_by_task(task_ids: list[int], rows: Any) -> dict[int, list[Progress]]:
    """Rows of (task id, status, percent, summary, period code, year, cut-off, approved at),
    newest first per task, as Progress lists keyed by task (empty for a task without any)."""
    result: dict[int, list[Progress]] = {t: [] for t in task_ids}
    for task_id, status, percent, summary, code, year, cutoff, approved_at in rows:
        result[task_id].append(
            Progress(
                status=status,
                percent_complete=percent,
                public_summary=summary,
                period_code=code,
                period_year=year,
                as_of=cutoff,
                approved_at=approved_at,
            )
        )
    return result


async def item_task_progress(
    session: AsyncSession, task_ids: list[int]
) -> dict[int, list[Progress]]:
    """What ``latest_task_progress`` answers, computed from the items themselves, as this
    transaction sees them (the read model follows at commit): one row per task and year,
    chosen by the database, not every approved item loaded."""
    newest = (
        select(
            col(TaskUpdate.task_id).label("task_id"),
            col(TaskUpdate.id).label("update_id"),
            col(TaskUpdate.status).label("status"),
            col(TaskUpdate.percent_complete).label("percent"),
            col(TaskUpdate.public_summary).label("summary"),
            col(ReportingPeriod.code).label("code"),
            col(ReportingPeriod.year).label("year"),
            col(ReportingPeriod.cutoff_date).label("cutoff"),
            col(Report.approved_at).label("approved_at"),
        )
        .join(Report, col(Report.id) == col(TaskUpdate.report_id))
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(Report.period_id))
        .where(col(TaskUpdate.task_id).in_(task_ids), public_item(TaskUpdate))
        .ext(distinct_on(col(TaskUpdate.task_id), col(ReportingPeriod.year)))
        .order_by(
            col(TaskUpdate.task_id),
            col(ReportingPeriod.year),
            col(ReportingPeriod.cutoff_date).desc(),
            col(Report.approved_at).desc(),
            col(TaskUpdate.id).desc(),
        )
        .subquery()
    )
    rows = await session.execute(
        select(
            newest.c.task_id,
            newest.c.status,
            newest.c.percent,
            newest.c.summary,
            newest.c.code,
            newest.c.year,
            newest.c.cutoff,
            newest.c.approved_at,
        ).order_by(
            newest.c.task_id,
            newest.c.cutoff.desc(),
            newest.c.approved_at.desc(),
            newest.c.update_id.desc(),
        )
    )
    return _progress_by_task(task_ids, rows)


def _elapsed(start: date, end: date, today: date) -> float:
    total = (end - start).days + 1
    return max(0.0, min(1.0, ((today - start).days + 1) / total)) * 100


def derive_status(
    *,
    start_year: int | None,
    end_year: int | None,
    recurrence: str,
    progress: list[Progress],
    today: date,
) -> tuple[str, int | None]:
    """(derived status, the year judged for annual tasks) by the rules above."""
    if start_year is None or end_year is None:
        done = progress and (
            progress[0].status == "completed" or progress[0].percent_complete == 100
        )
        return ("completed" if done else "no_data"), None
    judged: int | None = None
    start, end = date(start_year, 1, 1), date(end_year, 12, 31)
    if recurrence == "annual":
        judged = min(max(today.year, start_year), end_year)
        progress = [p for p in progress if p.period_year == judged]
        start, end = date(judged, 1, 1), date(judged, 12, 31)
    latest = progress[0] if progress else None
    if latest and (latest.status == "completed" or latest.percent_complete == 100):
        return "completed", judged
    if today > date(end_year, 12, 31):
        return "overdue", judged
    if today < date(start_year, 1, 1):
        return "not_started", judged
    if latest is None:
        return "no_data", judged
    expected = _elapsed(start, end, today)
    behind = latest.percent_complete < expected - BEHIND_TOLERANCE
    return ("behind" if behind else "on_track"), judged


@dataclass
class ValuePoint:
    target_id: int
    value: Decimal | None
    achieved: bool | None
    as_of: date
    level: str | None
    district: str | None
    provenance: str
    source: str
    period_code: str


async def approved_values(
    session: AsyncSession, target_ids: list[int]
) -> dict[int, list[ValuePoint]]:
    """Approved values per target, oldest first (a series)."""
    rows = await session.execute(
        select(IndicatorValue, col(ReportingPeriod.code), col(Agency.code))
        .join(Report, col(Report.id) == col(IndicatorValue.report_id))
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(Report.period_id))
        .outerjoin(Agency, col(Agency.id) == col(IndicatorValue.district_agency_id))
        .where(col(IndicatorValue.target_id).in_(target_ids), public_item(IndicatorValue))
        .order_by(col(IndicatorValue.as_of), col(IndicatorValue.id))
    )
    return _series(rows, target_ids)


def _series(rows: Any, target_ids: list[int]) -> dict[int, list[ValuePoint]]:
    """Per target, the points of rows of (value or read-model row, period code, district
    code), in the rows' order."""
    result: dict[int, list[ValuePoint]] = {t: [] for t in target_ids}
    for value, period_code, district in rows:
        result[value.target_id].append(
            ValuePoint(
                target_id=value.target_id,
                value=value.value,
                achieved=value.achieved,
                as_of=value.as_of,
                level=value.level,
                district=district,
                provenance=value.provenance,
                source=value.source,
                period_code=period_code,
            )
        )
    return result


async def latest_values(
    session: AsyncSession, target_ids: list[int]
) -> dict[int, list[ValuePoint]]:
    """Per target, the newest approved value of each level and district, oldest first, from
    the read model (one query). Its last item is the target's latest value and its last
    province-wide item the one ``attainment`` judges, as in the whole series of
    ``approved_values``."""
    rows = await session.execute(
        select(IndicatorValueLatest, col(ReportingPeriod.code), col(Agency.code))
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(IndicatorValueLatest.period_id))
        .outerjoin(Agency, col(Agency.id) == col(IndicatorValueLatest.district_agency_id))
        .where(col(IndicatorValueLatest.target_id).in_(target_ids))
        .order_by(col(IndicatorValueLatest.as_of), col(IndicatorValueLatest.indicator_value_id))
    )
    return _series(rows, target_ids)


def attainment(target: IndicatorTarget, series: list[ValuePoint]) -> tuple[str, float | None]:
    """(met | not_met | no_data, progress ratio) from the latest province-wide value."""
    overall = [p for p in series if p.level in (None, "province") and p.district is None]
    if not overall:
        return "no_data", None
    latest = overall[-1]
    if target.kind == "qualitative":
        if latest.achieved is None:
            return "no_data", None
        return ("met", 1.0) if latest.achieved else ("not_met", None)
    if latest.value is None or target.value is None:
        return "no_data", None
    value, goal = float(latest.value), float(target.value)
    met = {"gte": value >= goal, "gt": value > goal, "eq": value == goal, "lte": value <= goal}[
        target.comparator or "gte"
    ]
    if met:
        return "met", 1.0
    if target.comparator == "lte":
        ratio = goal / value if value > 0 else 0.0
    else:
        ratio = value / goal if goal > 0 else 0.0
    return "not_met", round(max(0.0, min(1.0, ratio)), 4)


async def derived_statuses(
    session: AsyncSession, tasks: list[Task], today: date, *, uncommitted: bool = False
) -> dict[int, str]:
    """Each task's derived status (by the rules above), by task id, from the read model; with
    ``uncommitted``, from the items themselves, as this transaction has changed them (the
    read model follows at commit)."""
    ids = [t.id or 0 for t in tasks]
    if uncommitted:
        progress = await item_task_progress(session, ids)
    else:
        progress = await latest_task_progress(session, ids)
    return {
        t.id or 0: derive_status(
            start_year=t.start_year,
            end_year=t.end_year,
            recurrence=t.recurrence,
            progress=progress[t.id or 0],
            today=today,
        )[0]
        for t in tasks
    }

"""Approved history that answers embed bounded, and the paged lists of all of it.

An indicator target's `series` and a task's `progress_history` hold one entry per year (per
level and district for values), so their size follows the calendar, not the number of
reports: at 100 times the reporting history the answers are the same size. Every approved
value or update is served newest first, a page at a time, by `GET /indicators/{code}/values`
and `GET /tasks/{code}/progress`; both show only what approval made public (`public_item`).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, bindparam, select, text, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import NotFoundError, UnknownFilterValueError
from app.core.pagination import SortKey, encode_cursor
from app.models import (
    Agency,
    Indicator,
    IndicatorTarget,
    IndicatorValue,
    Plan,
    Report,
    ReportingPeriod,
    Task,
    TaskUpdate,
)
from app.schemas.indicators import ApprovedValuePage, ApprovedValueRead, ValuePointRead
from app.schemas.tasks import TaskProgress, TaskProgressPage
from app.services.common import agency_id_for_filter, count_total
from app.services.progress import Progress, ValuePoint, latest_task_progress, public_item

API = "/api/v1"

# A target's series from the read model of migration 0023: one row per (target, level,
# district, year of as_of), the group's latest approved value, read as one index range per
# target (its primary key), oldest first as answered.
_YEARLY_VALUES = text(
    """
SELECT y.target_id, y.more, y.indicator_value_id, y.value, y.achieved, y.as_of, y.level,
       y.provenance, y.source, p.code AS period_code, a.code AS district
FROM indicator_value_yearly y
JOIN reporting_periods p ON p.id = y.period_id
LEFT JOIN agencies a ON a.id = y.district_agency_id
WHERE y.target_id = ANY(CAST(:ids AS integer[]))
ORDER BY y.target_id, y.as_of, y.indicator_value_id
"""
).bindparams(bindparam("ids"))


@dataclass
class YearlySeries:
    """A target's `series` as answered, whether it is every approved value, and the point
    attainment judges (the latest province-wide one, by as_of then id)."""

    points: list[ValuePointRead] = field(default_factory=list)
    complete: bool = True
    overall: ValuePoint | None = None


async def yearly_values(
    session: AsyncSession, target_ids: Sequence[int]
) -> dict[int, YearlySeries]:
    """Per target, the latest approved value of each year for each level and district,
    oldest first (by as_of, then id); whether that is every approved value of the target;
    and its latest province-wide value (the latest of its groups without district at level
    unset or `province`: the latest of all such values, as ``attainment`` reads it)."""
    result = {t: YearlySeries() for t in target_ids}
    if not target_ids:
        return result
    rows = await session.execute(_YEARLY_VALUES, {"ids": list(target_ids)})
    # Positional rows: named access costs about a microsecond a column. Each target's rows
    # come by (as_of, id): its last province-wide one is the latest such value.
    for (
        target_id,
        more,
        _,
        value,
        achieved,
        as_of,
        level,
        provenance,
        source,
        period_code,
        district,
    ) in rows:
        series = result[target_id]
        if more:
            series.complete = False
        series.points.append(
            ValuePointRead(
                value=float(value) if value is not None else None,
                achieved=achieved,
                as_of=as_of,
                level=level,
                district=district,
                provenance=provenance,
                source=source,
                period=period_code,
            )
        )
        if level in (None, "province") and district is None:
            series.overall = ValuePoint(
                target_id=target_id,
                value=value,
                achieved=achieved,
                as_of=as_of,
                level=level,
                district=district,
                provenance=provenance,
                source=source,
                period_code=period_code,
            )
    return result


def values_url(indicator_code: str, target_code: str) -> str:
    return f"{API}/indicators/{indicator_code}/values?target={target_code}"


def progress_url(task_code: str) -> str:
    return f"{API}/tasks/{task_code}/progress"


# Whether a task has more approved updates than its history keeps: at most `kept` + 1 of
# them are read per task (through ix_task_updates_task_id), whatever the history.
_MORE_PROGRESS = text(
    """
SELECT t.id, (
    SELECT count(*) FROM (
        SELECT 1 FROM task_updates u JOIN reports r ON r.id = u.report_id
        WHERE u.task_id = t.id AND r.state = 'approved' AND u.review_state IS NULL
        LIMIT t.kept + 1
    ) s
) > t.kept AS more
FROM unnest(CAST(:ids AS integer[]), CAST(:kept AS integer[])) AS t(id, kept)
"""
).bindparams(bindparam("ids"), bindparam("kept"))


async def yearly_task_progress(
    session: AsyncSession, task_ids: Sequence[int]
) -> tuple[dict[int, list[Progress]], dict[int, bool]]:
    """Per task, the latest approved progress of each reporting year (the period's year),
    newest first (by cut-off date, then approval): the read model of public progress
    (latest_task_progress, one row per task and year); and whether that is all of it."""
    history = await latest_task_progress(session, list(task_ids))
    complete = dict.fromkeys(task_ids, True)
    if task_ids:
        kept = [len(history[t]) for t in task_ids]
        params = {"ids": list(task_ids), "kept": kept}
        for task_id, more in await session.execute(_MORE_PROGRESS, params):
            complete[task_id] = not more
    return history, complete


def _date_key(after: SortKey | None) -> tuple[date, int] | None:
    """A cursor's (date, id): the first part is a day number (date.toordinal), clamped to
    the dates there are."""
    if after is None:
        return None
    day = min(max(after[0], 1), date.max.toordinal())
    return date.fromordinal(day), after[1]


async def _newest_first_page(
    session: AsyncSession,
    stmt: Select[Any, *tuple[Any, ...]],
    *,
    day: Any,
    row_id: Any,
    after: SortKey | None,
    limit: int,
    list_name: str,
    each: tuple[Any, list[Any]] | None = None,
) -> tuple[list[Any], Any, str | None]:
    """A keyset page of `stmt`, newest first by (day, id); the cursor is (day number, id).
    `each` (a column and its values, e.g. an indicator's targets): the page is merged from
    one ordered, limited read per value (an index range each) instead of sorting every row
    of them all."""
    key = _date_key(after)
    paged = stmt if key is None else stmt.where(tuple_(day, row_id) < tuple_(*key))
    newest = (day.desc(), row_id.desc())
    if each is None or not each[1]:
        paged = paged.order_by(*newest).limit(limit + 1)
    else:
        column, values = each
        branches = [paged.where(column == v).order_by(*newest).limit(limit + 1) for v in values]
        merged = union_all(*branches).subquery() if len(branches) > 1 else None
        if merged is None:
            paged = branches[0]
        else:
            paged = (
                select(merged)
                .order_by(merged.c.day.desc(), merged.c.row_id.desc())
                .limit(limit + 1)
            )
    rows = list((await session.execute(paged)).all())
    whole = len(rows) if after is None and len(rows) <= limit else None
    total = await count_total(session, stmt, grows=True, whole=whole)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(list_name, (last.day.toordinal(), last.row_id))
    return rows, total, next_cursor


async def list_values(
    session: AsyncSession,
    plan: Plan,
    code: str,
    *,
    target: str | None,
    level: str | None,
    district: str | None,
    after: SortKey | None,
    limit: int,
) -> ApprovedValuePage:
    """Every approved value of the indicator's targets, newest first (by as_of, then id)."""
    indicator_id = (
        await session.execute(
            select(col(Indicator.id)).where(
                col(Indicator.plan_id) == plan.id, col(Indicator.code) == code
            )
        )
    ).scalar()
    if indicator_id is None:
        raise NotFoundError("indicator", code)
    targets = dict(
        (
            await session.execute(
                select(col(IndicatorTarget.id), col(IndicatorTarget.code)).where(
                    col(IndicatorTarget.indicator_id) == indicator_id
                )
            )
        ).all()
    )
    wanted = list(targets)
    if target is not None:
        wanted = [t for t, c in targets.items() if c == target]
        if not wanted:
            raise UnknownFilterValueError("target", target)
    stmt: Select[Any, *tuple[Any, ...]] = (
        select(
            col(IndicatorValue.id).label("row_id"),
            col(IndicatorValue.as_of).label("day"),
            col(IndicatorValue.target_id),
            col(IndicatorValue.value),
            col(IndicatorValue.achieved),
            col(IndicatorValue.level),
            col(IndicatorValue.provenance),
            col(IndicatorValue.source),
            col(ReportingPeriod.code).label("period_code"),
            col(Agency.code).label("district"),
        )
        .join(Report, col(Report.id) == col(IndicatorValue.report_id))
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(Report.period_id))
        .outerjoin(Agency, col(Agency.id) == col(IndicatorValue.district_agency_id))
        .where(col(IndicatorValue.target_id).in_(wanted), public_item(IndicatorValue))
    )
    if level is not None:
        stmt = stmt.where(col(IndicatorValue.level) == level)
    if district is not None:
        district_id = await agency_id_for_filter(session, district)
        stmt = stmt.where(col(IndicatorValue.district_agency_id) == district_id)
    rows, total, next_cursor = await _newest_first_page(
        session,
        stmt,
        day=col(IndicatorValue.as_of),
        row_id=col(IndicatorValue.id),
        after=after,
        limit=limit,
        list_name="indicator-values",
        each=(col(IndicatorValue.target_id), wanted),
    )
    items = [
        ApprovedValueRead(
            target=targets[row.target_id],
            value=float(row.value) if row.value is not None else None,
            achieved=row.achieved,
            as_of=row.day,
            level=row.level,
            district=row.district,
            provenance=row.provenance,
            source=row.source,
            period=row.period_code,
        )
        for row in rows
    ]
    return ApprovedValuePage(
        items=items, total=total, total_exact=total.exact, next_cursor=next_cursor
    )


async def list_progress(
    session: AsyncSession, plan: Plan, code: str, *, after: SortKey | None, limit: int
) -> TaskProgressPage:
    """Every approved update of the task, newest first (by the period's cut-off date, then
    by the update)."""
    task_id = (
        await session.execute(
            select(col(Task.id)).where(col(Task.plan_id) == plan.id, col(Task.code) == code)
        )
    ).scalar()
    if task_id is None:
        raise NotFoundError("task", code)
    stmt: Select[Any, *tuple[Any, ...]] = (
        select(
            col(TaskUpdate.id).label("row_id"),
            col(ReportingPeriod.cutoff_date).label("day"),
            col(TaskUpdate.status),
            col(TaskUpdate.percent_complete),
            col(TaskUpdate.public_summary),
            col(ReportingPeriod.code).label("period_code"),
            col(Report.approved_at),
        )
        .join(Report, col(Report.id) == col(TaskUpdate.report_id))
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(Report.period_id))
        .where(col(TaskUpdate.task_id) == task_id, public_item(TaskUpdate))
    )
    rows, total, next_cursor = await _newest_first_page(
        session,
        stmt,
        day=col(ReportingPeriod.cutoff_date),
        row_id=col(TaskUpdate.id),
        after=after,
        limit=limit,
        list_name="task-progress",
    )
    items = [
        TaskProgress(
            status=row.status,
            percent_complete=row.percent_complete,
            public_summary=row.public_summary,
            period=row.period_code,
            as_of=row.day,
            approved_at=row.approved_at,
        )
        for row in rows
    ]
    return TaskProgressPage(
        items=items, total=total, total_exact=total.exact, next_cursor=next_cursor
    )

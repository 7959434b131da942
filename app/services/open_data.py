"""Open data: approved figures only, as CSV (UTF-8 with BOM) or JSON with licence, source
and generation time."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import (
    Document,
    DocumentAgency,
    DocumentUpdate,
    Indicator,
    IndicatorAgency,
    IndicatorTarget,
    Plan,
    Report,
    ReportingPeriod,
    Task,
    TaskAgency,
)
from app.schemas.common import VIETNAM
from app.services import level_succession
from app.services.common import load_agency_links
from app.services.lineage import load_lineage
from app.services.progress import (
    approved_task_progress,
    attainment,
    derive_status,
    latest_task_progress,
    latest_values,
    public_item,
)

Row = dict[str, Any]

COLUMNS = {
    "tasks": [
        "code",
        "title",
        "lead",
        "coordinating",
        "start_year",
        "end_year",
        "recurrence",
        "derived_status",
        "status",
        "percent_complete",
        "public_summary",
        "as_of",
    ],
    "indicators": [
        "indicator",
        "target",
        "target_year",
        "metric",
        "comparator",
        "target_value",
        "unit",
        "level",
        "deadline_year",
        "lead",
        "attainment",
        "progress_ratio",
        "level_outcome",
        "attainment_reason_vi",
        "attainment_reason_en",
        "latest_value",
        "latest_achieved",
        "as_of",
    ],
    "progress": [
        "task",
        "period",
        "status",
        "percent_complete",
        "public_summary",
        "as_of",
        "approved_at",
    ],
    "documents": [
        "number",
        "code",
        "title",
        "type",
        "lead",
        "coordinating",
        "status",
        "issued_number",
        "issued_on",
    ],
}


def _codes(refs: list[Any]) -> str:
    return "; ".join(r.code for r in refs)


async def rows(session: AsyncSession, plan: Plan, dataset: str, today: date) -> list[Row]:
    if dataset in ("tasks", "progress"):
        return await _task_rows(session, plan, dataset, today)
    if dataset == "indicators":
        return await _indicator_rows(session, plan, today)
    return await _document_rows(session, plan)


async def _task_rows(session: AsyncSession, plan: Plan, dataset: str, today: date) -> list[Row]:
    tasks = list(
        (
            await session.execute(
                select(Task).where(col(Task.plan_id) == plan.id).order_by(col(Task.sort_order))
            )
        ).scalars()
    )
    ids = [t.id or 0 for t in tasks]
    if dataset == "progress":  # the whole history, by design
        progress = await approved_task_progress(session, ids)
        return [
            {
                "task": t.code,
                "period": p.period_code,
                "status": p.status,
                "percent_complete": p.percent_complete,
                "public_summary": p.public_summary,
                "as_of": p.as_of,
                "approved_at": p.approved_at,
            }
            for t in tasks
            for p in reversed(progress[t.id or 0])
        ]
    progress = await latest_task_progress(session, ids)
    links = await load_agency_links(session, TaskAgency, "task_id", ids)
    result: list[Row] = []
    for t in tasks:
        history = progress[t.id or 0]
        latest = history[0] if history else None
        result.append(
            {
                "code": t.code,
                "title": t.title,
                "lead": _codes(links[t.id or 0]["lead"]),
                "coordinating": _codes(links[t.id or 0]["coordinating"]),
                "start_year": t.start_year,
                "end_year": t.end_year,
                "recurrence": t.recurrence,
                "derived_status": derive_status(
                    start_year=t.start_year,
                    end_year=t.end_year,
                    recurrence=t.recurrence,
                    progress=history,
                    today=today,
                )[0],
                "status": latest.status if latest else None,
                "percent_complete": latest.percent_complete if latest else None,
                "public_summary": latest.public_summary if latest else None,
                "as_of": latest.as_of if latest else None,
            }
        )
    return result


async def _indicator_rows(session: AsyncSession, plan: Plan, today: date) -> list[Row]:
    targets = list(
        (
            await session.execute(
                select(IndicatorTarget, Indicator)
                .join(Indicator, col(Indicator.id) == col(IndicatorTarget.indicator_id))
                .where(col(Indicator.plan_id) == plan.id)
                .order_by(col(Indicator.sort_order), col(IndicatorTarget.position))
            )
        ).all()
    )
    values = await latest_values(session, [t.id or 0 for t, _ in targets])
    links = await load_agency_links(
        session, IndicatorAgency, "indicator_id", list({i.id or 0 for _, i in targets})
    )
    lineage = await load_lineage(session)
    result: list[Row] = []
    for target, indicator in targets:
        series = values[target.id or 0]
        status, ratio = attainment(target, series)
        ended = level_succession.succession(lineage, plan.code, target.code, target.level, today)
        reason = level_succession.attainment_reason(ended, target.deadline_year)
        if reason is not None:
            status, ratio = "not_applicable", None
        latest = series[-1] if series else None
        result.append(
            {
                "indicator": indicator.code,
                "target": target.code,
                "target_year": indicator.target_year,
                "metric": target.metric,
                "comparator": target.comparator,
                "target_value": float(target.value) if target.value is not None else None,
                "unit": target.unit,
                "level": target.level,
                "deadline_year": target.deadline_year,
                "lead": _codes(links[indicator.id or 0]["lead"]),
                "attainment": status,
                "progress_ratio": ratio,
                "level_outcome": ended.outcome if ended else None,
                "attainment_reason_vi": reason.vi if reason else None,
                "attainment_reason_en": reason.en if reason else None,
                "latest_value": float(latest.value)
                if latest and latest.value is not None
                else None,
                "latest_achieved": latest.achieved if latest else None,
                "as_of": latest.as_of if latest else None,
            }
        )
    return result


async def _document_rows(session: AsyncSession, plan: Plan) -> list[Row]:
    documents = list(
        (
            await session.execute(
                select(Document)
                .where(col(Document.plan_id) == plan.id)
                .order_by(col(Document.number))
            )
        ).scalars()
    )
    links = await load_agency_links(
        session, DocumentAgency, "document_id", [d.id or 0 for d in documents]
    )
    latest_rows = await session.execute(
        select(DocumentUpdate)
        .join(Report, col(Report.id) == col(DocumentUpdate.report_id))
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(Report.period_id))
        .where(
            col(DocumentUpdate.document_id).in_([d.id for d in documents]),
            public_item(DocumentUpdate),
        )
        .order_by(col(ReportingPeriod.cutoff_date), col(Report.approved_at))
    )
    latest = {u.document_id: u for u in latest_rows.scalars()}  # the last one wins
    return [
        {
            "number": d.number,
            "code": d.code,
            "title": d.title,
            "type": d.type,
            "lead": _codes(links[d.id or 0]["lead"]),
            "coordinating": _codes(links[d.id or 0]["coordinating"]),
            "status": latest[d.id or 0].status if d.id in latest else None,
            "issued_number": latest[d.id or 0].issued_number if d.id in latest else None,
            "issued_on": latest[d.id or 0].issued_on if d.id in latest else None,
        }
        for d in documents
    ]


def plain(value: Any) -> Any:
    """Dates as ISO 8601; times at +07:00 (stored in UTC, shown for Việt Nam)."""
    if isinstance(value, datetime):
        return value.astimezone(VIETNAM).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value

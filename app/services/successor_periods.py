"""Which agencies a period asks, through the lineage (issue 11, item 4).

A period asks the agencies that carry the plan's lead roles on its due date: every lead link
(task, indicator, document) is resolved through the recorded reorganisations on that day, with
the item's own transfers, a group through its members. So the 2021-2024 annual periods ask the
plan's original agencies and the 2026 one asks today's successors. Groups that an event names
as successor (the communes that took over the districts) are not asked: a group files no report.

Invariants kept by ``sync_annual_agencies`` (run by every ``dxplan seed``):
- a closed period is never touched (its asked list is part of what was closed);
- an agency that has a report in the period stays asked (reports stay attached to the agency
  that filed them), even when the lineage no longer names it;
- otherwise the asked list becomes the resolved one; running it again changes nothing.
"""

from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import (
    Agency,
    Document,
    DocumentAgency,
    Indicator,
    IndicatorAgency,
    PeriodAgency,
    Plan,
    Report,
    ReportingPeriod,
    Task,
    TaskAgency,
)
from app.services.lineage import Lineage, read_lineage


async def lead_links(session: AsyncSession, plan_id: int) -> list[tuple[str, str]]:
    """(item code, lead agency code) for every lead link of the plan, as the plan names them."""
    links: list[tuple[str, str]] = []
    for item, link, owner in (
        (Task, TaskAgency, TaskAgency.task_id),
        (Indicator, IndicatorAgency, IndicatorAgency.indicator_id),
        (Document, DocumentAgency, DocumentAgency.document_id),
    ):
        rows = await session.execute(
            select(col(item.code), col(Agency.code))
            .join(link, col(owner) == col(item.id))
            .join(Agency, col(Agency.id) == col(link.agency_id))
            .where(
                col(item.plan_id) == plan_id,
                col(link.role) == "lead",
            )
        )
        links.extend((code, agency) for code, agency in rows)
    return links


def resolved_codes(lineage: Lineage, links: list[tuple[str, str]], on: date) -> set[str]:
    """The agencies (groups left out) carrying these lead links on ``on``."""
    codes: set[str] = set()
    for item, agency in links:
        if agency not in lineage.agencies:
            continue
        for ref in lineage.resolve(agency, on, item).responsible:
            if ref.kind != "group":
                codes.add(ref.code)
    return codes


async def agency_ids(session: AsyncSession, codes: set[str]) -> list[int]:
    """Ids of these agencies, in the agencies' display order."""
    if not codes:
        return []
    rows = await session.execute(
        select(col(Agency.id))
        .where(col(Agency.code).in_(codes), col(Agency.kind) != "group")
        .order_by(col(Agency.sort_order), col(Agency.id))
    )
    return [i for i in rows.scalars() if i is not None]


async def asked_on(
    session: AsyncSession, plan_id: int, on: date, lineage: Lineage | None = None
) -> list[int]:
    """The agencies a period of this plan due on ``on`` asks by default."""
    lineage = lineage if lineage is not None else await read_lineage(session)
    return await agency_ids(
        session, resolved_codes(lineage, await lead_links(session, plan_id), on)
    )


async def sync_annual_agencies(session: AsyncSession, plan: Plan) -> tuple[int, int]:
    """Set the asked agencies of the plan's annual periods that are not closed to the lineage's
    answer on each due date; returns (rows added, rows removed). Reads the lineage afresh:
    the seed's own transaction may just have loaded the events."""
    lineage = await read_lineage(session)
    links = await lead_links(session, plan.id or 0)
    periods = (
        await session.execute(
            select(ReportingPeriod).where(
                col(ReportingPeriod.plan_id) == plan.id,
                col(ReportingPeriod.kind) == "annual",
                col(ReportingPeriod.status) != "closed",
            )
        )
    ).scalars()
    added = removed = 0
    for period in periods:
        wanted = set(await agency_ids(session, resolved_codes(lineage, links, period.due_date)))
        current = set(
            (
                await session.execute(
                    select(col(PeriodAgency.agency_id)).where(
                        col(PeriodAgency.period_id) == period.id
                    )
                )
            ).scalars()
        )
        reported = set(
            (
                await session.execute(
                    select(col(Report.agency_id)).where(col(Report.period_id) == period.id)
                )
            ).scalars()
        )
        drop = current - wanted - reported
        if drop:
            await session.execute(
                delete(PeriodAgency).where(
                    col(PeriodAgency.period_id) == period.id,
                    col(PeriodAgency.agency_id).in_(drop),
                )
            )
        session.add_all(
            PeriodAgency(period_id=period.id or 0, agency_id=a) for a in wanted - current
        )
        await session.flush()
        added += len(wanted - current)
        removed += len(drop)
    return added, removed


async def sync_every_plan(session: AsyncSession) -> tuple[int, int]:
    """``sync_annual_agencies`` for every plan (the seed, after loading events: the
    reorganisations are shared by every plan, whichever plan's file brought them)."""
    added = removed = 0
    for plan in (await session.execute(select(Plan).order_by(col(Plan.id)))).scalars():
        plus, minus = await sync_annual_agencies(session, plan)
        added, removed = added + plus, removed + minus
    return added, removed

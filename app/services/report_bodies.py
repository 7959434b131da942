"""Reports and their items exactly as their own routes show them, for many at once.

`GET /reports/{id}` and the sync feed's bodies (`include=body`) both read reports here, and
the feed reads items here as `GET /reports/{id}/{kind}/{item id}` shows them, so the two
cannot drift. Visibility is the routes' own (app.services.visibility, through
`reports.visible_rows`): a report or item the caller may not see is left out, never
redacted. Every reader takes a fixed number of queries however many objects it reads
(one per item kind, plus the report rows and their counts), never one per object.
"""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import Agency, Plan, Report, ReportingPeriod, User
from app.schemas.reports import ItemCommon, ReportDetail
from app.services.item_kinds import KINDS, AnyKind
from app.services.report_items import item_actions
from app.services.report_policy import Actor, actor_of
from app.services.reports import read_reports, visible_rows

Row = tuple[Report, ReportingPeriod, Agency]


async def _read(
    session: AsyncSession,
    kind: AnyKind,
    rows: list[tuple[Any, Report, ReportingPeriod]],
    actor: Actor,
) -> list[ItemCommon]:
    """Items with the report and period each belongs to, read as their route reads them."""
    if not rows:
        return []
    extras = await kind.extras(session, [item for item, _, _ in rows])
    return [
        kind.read(item, extras[item.id or 0], item_actions(item, report, period, actor))
        for item, report, period in rows
    ]


async def report_details(
    session: AsyncSession, rows: list[Row], caller: User | Actor
) -> list[ReportDetail]:
    """The reports of `rows` (already loaded for this caller) with every item of each,
    oldest first per kind, as `GET /reports/{id}` shows them."""
    if not rows:
        return []
    actor = actor_of(caller)  # permissions once for the reports and all their items
    bases = await read_reports(session, rows, actor)
    by_id = {report.id or 0: (report, period) for report, period, _ in rows}
    lists: dict[int, dict[str, list[ItemCommon]]] = {rid: {} for rid in by_id}
    for kind in KINDS.values():
        name = kind.path.replace("-", "_")
        items = list(
            (
                await session.execute(
                    select(kind.model)
                    .where(col(kind.model.report_id).in_(list(by_id)))
                    .order_by(col(kind.model.id))
                )
            ).scalars()
        )
        for rid in by_id:
            lists[rid][name] = []
        owned = [(item, *by_id[item.report_id]) for item in items]
        for item, read in zip(items, await _read(session, kind, owned, actor), strict=True):
            lists[item.report_id][name].append(read)
    return [ReportDetail.model_validate({**base.model_dump(), **lists[base.id]}) for base in bases]


async def read_visible_reports(
    session: AsyncSession, plan: Plan, caller: User, ids: list[int]
) -> list[ReportDetail]:
    """The reports of these ids that `GET /reports/{id}` shows this caller, as it shows
    them; the others are left out."""
    stmt = visible_rows(plan, caller).where(col(Report.id).in_(ids)).order_by(col(Report.id))
    rows: list[Row] = [(r, p, a) for r, p, a in await session.execute(stmt)]
    return await report_details(session, rows, caller)


async def read_visible_items(
    session: AsyncSession, plan: Plan, caller: User, kind: AnyKind, ids: list[int]
) -> list[ItemCommon]:
    """The items of one kind of these ids that their own route shows this caller, as it
    shows them; those of reports the caller may not see are left out."""
    stmt = (
        visible_rows(plan, caller)
        .add_columns(kind.model)
        .join(kind.model, col(kind.model.report_id) == col(Report.id))
        .where(col(kind.model.id).in_(ids))
        .order_by(col(kind.model.id))
    )
    rows = [(item, report, period) for report, period, _, item in await session.execute(stmt)]
    return await _read(session, kind, rows, actor_of(caller))

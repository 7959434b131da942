"""Reporting periods: the annual ones (due 1 December, plan 2358 §IV.21) and ad hoc
requests, and which agencies each one asks.

The API names a period's state `state`, as reports do; `status`, its old name, is kept
readable in answers and accepted in PATCH bodies and the list filter (deprecated). The
table keeps its `status` column: the rename is the API's, so no migration is needed.
"""

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import ConflictError, FieldValidationError, NotFoundError
from app.core.http import check_if_match, etag
from app.core.pagination import SortKey
from app.models import (
    Agency,
    PeriodAgency,
    Plan,
    ReportingPeriod,
    User,
)
from app.schemas.common import AgencyRef
from app.schemas.periods import PeriodCreate, PeriodPage, PeriodRead, PeriodUpdate
from app.services import audit, webhooks
from app.services.common import fetch_page
from app.services.lineage import load_lineage
from app.services.successor_periods import asked_on, sync_annual_agencies

ANNUAL_DUE = (12, 1)  # "Định kỳ trước ngày 01/12 hàng năm"
ANNUAL_CUTOFF = (11, 15)  # figures are "as of" this date unless a reviewer changes it


def period_etag(period: ReportingPeriod) -> str:
    return etag("period", period.id or 0, period.version)


async def ensure_annual_periods(session: AsyncSession, plan: Plan) -> int:
    """Create the missing annual periods, then set the agencies the open and planned ones ask
    through the lineage on their due dates (``successor_periods``: closed periods and agencies
    that have reported stay as they are; dates, titles and states stay the reviewers')."""
    created = 0
    for year in range(plan.start_year, plan.end_year + 1):
        period_id = (
            await session.execute(
                pg_insert(ReportingPeriod.__table__)  # type: ignore[attr-defined]
                .values(
                    plan_id=plan.id,
                    code=f"annual-{year}",
                    kind="annual",
                    year=year,
                    title=f"Báo cáo kết quả thực hiện Kế hoạch năm {year}",
                    due_date=date(year, *ANNUAL_DUE),
                    cutoff_date=date(year, *ANNUAL_CUTOFF),
                    status="planned",
                    version=1,
                )
                .on_conflict_do_nothing()
                .returning(col(ReportingPeriod.id))
            )
        ).scalar()
        if period_id is not None:
            created += 1
    await sync_annual_agencies(session, plan)
    return created


def asked(period_id: Any, agency_id: Any) -> ColumnElement[bool]:
    return exists().where(
        col(PeriodAgency.period_id) == period_id, col(PeriodAgency.agency_id) == agency_id
    )


async def read_periods(session: AsyncSession, periods: list[ReportingPeriod]) -> list[PeriodRead]:
    """Periods with the agencies each asks, in one query for all of them: one row per
    agency asked (with the periods of the page that ask it), not one per period and agency,
    so a full page of periods asking 32 agencies each reads and builds 32 agency references
    instead of 1,600. Each period lists its agencies in the agencies' order."""
    asked_by: dict[int, list[AgencyRef]] = {p.id or 0: [] for p in periods}
    rows = await session.execute(
        select(
            col(Agency.code),
            col(Agency.name),
            col(Agency.short_name),
            col(Agency.kind),
            func.array_agg(col(PeriodAgency.period_id)),
        )
        .join(Agency, col(Agency.id) == col(PeriodAgency.agency_id))
        .where(col(PeriodAgency.period_id).in_(list(asked_by)))
        .group_by(col(Agency.id))
        .order_by(col(Agency.sort_order))
    )
    for code, name, short_name, kind, period_ids in rows:
        ref = AgencyRef(code=code, name=name, short_name=short_name, kind=kind)
        for period_id in period_ids:
            asked_by[period_id].append(ref)
    return [
        PeriodRead(
            id=p.id or 0,
            code=p.code,
            kind=p.kind,
            year=p.year,
            title=p.title,
            instructions=p.instructions,
            due_date=p.due_date,
            cutoff_date=p.cutoff_date,
            state=p.status,
            status=p.status,
            agencies=asked_by[p.id or 0],
        )
        for p in periods
    ]


def one_state(state: str | None, status: str | None, location: str) -> str | None:
    """The state asked for under either name (`status` is the deprecated one); both with
    different values is a 422 on `status`, the name to drop."""
    if state is not None and status is not None and state != status:
        raise FieldValidationError([("status", "state_status_mismatch")], location=location)
    return state if state is not None else status


def _visible(stmt: Select[Any], caller: User | None) -> Select[Any]:
    """Everyone sees annual periods; ad hoc requests are listed to the agencies asked
    and to those who read every agency's reports."""
    from app.core.permissions import Permission, permissions_of

    if caller is not None and Permission.reports_read_all in permissions_of(caller.role):
        return stmt
    if caller is None:
        return stmt.where(col(ReportingPeriod.kind) == "annual")
    return stmt.where(
        or_(col(ReportingPeriod.kind) == "annual", asked(ReportingPeriod.id, caller.agency_id))
    )


async def list_periods(
    session: AsyncSession,
    plan: Plan,
    caller: User | None,
    *,
    kind: str | None,
    state: str | None,
    status: str | None,
    year: int | None,
    after: SortKey | None,
    limit: int,
) -> PeriodPage:
    stmt = _visible(select(ReportingPeriod).where(col(ReportingPeriod.plan_id) == plan.id), caller)
    if kind is not None:
        stmt = stmt.where(col(ReportingPeriod.kind) == kind)
    wanted = one_state(state, status, "query")
    if wanted is not None:
        stmt = stmt.where(col(ReportingPeriod.status) == wanted)
    if year is not None:
        stmt = stmt.where(col(ReportingPeriod.year) == year)
    rows, total, next_cursor = await fetch_page(
        session,
        stmt,
        sort_column=col(ReportingPeriod.id),
        id_column=col(ReportingPeriod.id),
        after=after,
        limit=limit,
        list_name="periods",
        grows=True,
    )
    return PeriodPage(
        items=await read_periods(session, [r[0] for r in rows]),
        total=total,
        total_exact=total.exact,
        next_cursor=next_cursor,
    )


async def get_period(
    session: AsyncSession, plan: Plan, caller: User | None, period_id: int
) -> ReportingPeriod:
    stmt = _visible(
        select(ReportingPeriod).where(
            col(ReportingPeriod.plan_id) == plan.id, col(ReportingPeriod.id) == period_id
        ),
        caller,
    )
    period: ReportingPeriod | None = (await session.execute(stmt)).scalar()
    if period is None:
        raise NotFoundError("period", period_id)
    return period


async def read_period(session: AsyncSession, period: ReportingPeriod) -> PeriodRead:
    return (await read_periods(session, [period]))[0]


async def read_visible_periods(
    session: AsyncSession, plan: Plan, caller: User | None, ids: list[int]
) -> list[PeriodRead]:
    """The periods of these ids that `GET /periods/{id}` shows this caller, as it shows
    them, in two queries (the sync feed); the others are left out."""
    stmt = _visible(
        select(ReportingPeriod)
        .where(col(ReportingPeriod.plan_id) == plan.id, col(ReportingPeriod.id).in_(ids))
        .order_by(col(ReportingPeriod.id)),
        caller,
    )
    periods = list((await session.execute(stmt)).scalars())
    return await read_periods(session, periods) if periods else []


async def _opened(session: AsyncSession, period: ReportingPeriod) -> None:
    plan = await session.get(Plan, period.plan_id)
    assert plan is not None  # a period's plan
    await webhooks.emit(
        session,
        "period.opened",
        {
            "plan": plan.code,
            "period": {
                "id": period.id,
                "code": period.code,
                "kind": period.kind,
                "year": period.year,
                "title": period.title,
                "due_date": period.due_date.isoformat(),
                "cutoff_date": period.cutoff_date.isoformat(),
                "state": period.status,
            },
        },
    )


def _check_dates(due: date, cutoff: date) -> None:
    if cutoff > due:
        raise FieldValidationError([("cutoff_date", "cutoff_after_due")])


async def create_ad_hoc(
    session: AsyncSession, plan: Plan, caller: User, body: PeriodCreate
) -> ReportingPeriod:
    _check_dates(body.due_date, body.cutoff_date)
    if body.agencies:
        rows = (
            await session.execute(
                select(col(Agency.code), col(Agency.id), col(Agency.kind)).where(
                    col(Agency.code).in_(body.agencies)
                )
            )
        ).all()
        found = {code: (agency_id, kind) for code, agency_id, kind in rows}
        if set(body.agencies) - set(found) or any(k == "group" for _, k in found.values()):
            raise FieldValidationError([("agencies", "unknown_agency")])
        agency_ids = [found[c][0] or 0 for c in body.agencies]
    else:  # the plan's leads as the lineage has them on the due date
        agency_ids = await asked_on(
            session, plan.id or 0, body.due_date, await load_lineage(session)
        )
    count = (
        await session.execute(
            select(col(ReportingPeriod.id)).where(
                col(ReportingPeriod.plan_id) == plan.id, col(ReportingPeriod.kind) == "ad_hoc"
            )
        )
    ).all()
    period = ReportingPeriod(
        plan_id=plan.id or 0,
        code=f"adhoc-{len(count) + 1}",
        kind="ad_hoc",
        year=body.due_date.year,
        title=body.title,
        instructions=body.instructions,
        due_date=body.due_date,
        cutoff_date=body.cutoff_date,
        status="open",
        created_by_id=caller.id,
    )
    session.add(period)
    await session.flush()
    session.add_all(PeriodAgency(period_id=period.id or 0, agency_id=a) for a in agency_ids)
    await session.flush()
    await _opened(session, period)
    after = audit.snapshot(period) or {}
    await audit.record(
        session,
        caller,
        "period.create",
        "period",
        period.id,
        after={**after, "agencies": agency_ids},
    )
    return period


async def update_period(
    session: AsyncSession,
    period: ReportingPeriod,
    body: PeriodUpdate,
    if_match: str | None,
    caller: User | None = None,
) -> ReportingPeriod:
    check_if_match(if_match, period_etag(period))
    before = audit.snapshot(period)
    was_open = period.status == "open"
    # model_dump, not attributes: reading the deprecated `status` attribute would warn.
    changes = body.model_dump(exclude_unset=True)
    state = one_state(changes.pop("state", None), changes.pop("status", None), "body")
    if state is not None:
        changes["status"] = state  # the column keeps its name
    if period.status == "closed" and (changes.get("status") != "open" or len(changes) > 1):
        raise ConflictError("conflict.period_closed")  # a closed period can only be reopened
    for field, value in changes.items():
        if value is not None:
            setattr(period, field, value)
    _check_dates(period.due_date, period.cutoff_date)
    period.version += 1
    await session.flush()
    await session.refresh(period)  # updated_at is set by the database
    if period.status == "open" and not was_open:
        await _opened(session, period)
    await audit.record(
        session,
        caller,
        "period.update",
        "period",
        period.id,
        before=before,
        after=audit.snapshot(period),
    )
    return period

"""Agency reports: creation, visibility, the review workflow, history and comments.

States: draft → submitted (agency lead) → approved | returned (reviewer, with a comment);
returned is editable and can be submitted again; a lead may withdraw a submitted report
before review. Every transition is recorded with actor, time and comment.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    any_,
    bindparam,
    func,
    literal,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from app.core.db import EXACT_TOTAL_LIMIT
from app.core.errors import ConflictError, FieldValidationError, NotFoundError
from app.core.http import check_if_match, etag
from app.core.pagination import SortKey, encode_cursor
from app.models import Agency, Plan, Report, ReportEvent, ReportingPeriod, User
from app.schemas.common import VIETNAM, AgencyRef, ItemRef
from app.schemas.reports import ReportPage, ReportRead
from app.services import audit, webhooks
from app.services import report_policy as policy
from app.services.auth import utcnow
from app.services.common import Total, agency_ref, count_total, planner_rows
from app.services.item_kinds import KINDS
from app.services.notifications import notify_agency
from app.services.periods import asked, get_period
from app.services.report_policy import Actor
from app.services.visibility import visible


def report_etag(report: Report) -> str:
    """Opaque to clients. The report's version moves with every change to what it shows
    (`touch`), so this tag, and the GET's tag built on it, go stale together."""
    return etag("report", report.id or 0, report.version)


def is_late(report: Report, period: ReportingPeriod) -> bool:
    submitted = report.submitted_at
    return submitted is not None and submitted.astimezone(VIETNAM).date() > period.due_date


def report_actions(report: Report, period: ReportingPeriod, caller: User | Actor) -> list[str]:
    return policy.actions("report", policy.actor_of(caller), report, period)


async def touch(session: AsyncSession, report: Report) -> None:
    """A new version of the report, in the writer's transaction: called by every write to
    something the report shows (an item, an evidence file, a comment). The increment is
    done by the database (row-locked), so concurrent writers never lose one."""
    version = (
        await session.execute(
            update(Report)
            .where(col(Report.id) == report.id)
            .values(version=col(Report.version) + 1)
            .returning(col(Report.version))
            .execution_options(synchronize_session=False)
        )
    ).scalar_one()
    set_committed_value(report, "version", version)


async def _counts(session: AsyncSession, report_ids: list[int]) -> dict[int, dict[str, int]]:
    """Items by kind of each report: one query (a grouped count per kind, united)."""
    names = {kind.path.replace("-", "_"): kind.model for kind in KINDS.values()}
    counts = {rid: dict.fromkeys(names, 0) for rid in report_ids}
    if not report_ids:
        return counts
    ids = bindparam("report_ids", report_ids, type_=ARRAY(Integer))
    per_kind = [
        select(literal(name).label("kind"), col(model.report_id), func.count())
        .where(col(model.report_id) == any_(ids))
        .group_by(col(model.report_id))
        for name, model in names.items()
    ]
    for name, report_id, n in await session.execute(union_all(*per_kind)):
        counts[report_id][name] = n
    return counts


async def read_reports(
    session: AsyncSession,
    rows: list[tuple[Report, ReportingPeriod, Agency]],
    caller: User | Actor,
) -> list[ReportRead]:
    """The reports as shown, built from rows the database returned (trusted: constructed,
    not validated again), with their item counts in one query."""
    actor = policy.actor_of(caller)
    counts = await _counts(session, [r.id or 0 for r, _, _ in rows])
    allowed: dict[tuple[str, bool, str, str | None], list[str]] = {}
    reads = []
    for report, period, agency in rows:
        key = policy.situation(actor, report, period)
        if key not in allowed:
            allowed[key] = report_actions(report, period, actor)
        # Column values as stored (the table's constraints hold what the schema requires).
        fields: dict[str, Any] = {
            "id": report.id,
            "period": ItemRef.model_construct(code=period.code, title=period.title),
            "period_id": report.period_id,
            "agency": agency_ref(agency),
            "state": report.state,
            "version": report.version,
            "late": is_late(report, period),
            "submitted_at": report.submitted_at,
            "approved_at": report.approved_at,
            "created_at": report.created_at,
            "updated_at": report.updated_at,
            "counts": counts[report.id or 0],
            "allowed_actions": list(allowed[key]),
        }
        reads.append(ReportRead.model_construct(**fields))
    return reads


def _base(plan: Plan, caller: User) -> Any:
    return (
        select(Report, ReportingPeriod, Agency)
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(Report.period_id))
        .join(Agency, col(Agency.id) == col(Report.agency_id))
        .where(col(ReportingPeriod.plan_id) == plan.id, visible(caller))
    )


def visible_rows(plan: Plan, caller: User) -> Any:
    """(report, period, agency) rows of the plan that the caller may see: what
    `load_report` reads, for readers of many reports at once (app.services.report_bodies)."""
    return _base(plan, caller)


def _counted(model: Any) -> Any:
    """The report's items of one kind: a correlated count, one index probe per row."""
    return (
        select(func.count())
        .where(col(model.report_id) == col(Report.id))
        .correlate(Report)
        .scalar_subquery()
    )


# What a list shows of each report, as columns (no entities to build): the report's, its
# period's and agency's, and its items by kind.
_SHOWN: tuple[Any, ...] = (
    col(Report.id),
    col(Report.period_id),
    col(Report.agency_id),
    col(Report.state),
    col(Report.version),
    col(Report.submitted_at),
    col(Report.approved_at),
    col(Report.created_at),
    col(Report.updated_at),
    col(ReportingPeriod.code).label("period_code"),
    col(ReportingPeriod.title).label("period_title"),
    col(ReportingPeriod.due_date).label("period_due"),
    col(ReportingPeriod.status),
    col(Agency.code).label("agency_code"),
    col(Agency.name).label("agency_name"),
    col(Agency.short_name).label("agency_short_name"),
    col(Agency.kind).label("agency_kind"),
)
_COUNTED = {kind.path.replace("-", "_"): kind.model for kind in KINDS.values()}


def _listed(plan: Plan, caller: User) -> Any:
    """`_base` as columns: the same joins and visibility, one row of plain values per report."""
    return (
        select(*_SHOWN)
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(Report.period_id))
        .join(Agency, col(Agency.id) == col(Report.agency_id))
        .where(col(ReportingPeriod.plan_id) == plan.id, visible(caller))
    )


def _listed_reads(rows: list[Any], caller: User) -> list[ReportRead]:
    """The page's reports as shown, from `_SHOWN` rows plus their counts (trusted:
    constructed, not validated again). A page's periods and agencies repeat: each is
    built once and shared by its rows."""
    actor = policy.actor_of(caller)
    allowed: dict[tuple[str, bool, str], list[str]] = {}
    periods: dict[int, ItemRef] = {}
    agencies: dict[int, AgencyRef] = {}
    names = list(_COUNTED)
    reads = []
    for row in rows:
        key = (row.state, row.agency_id == caller.agency_id, row.status)
        if key not in allowed:  # policy.situation's key; the row holds all `actions` reads
            allowed[key] = report_actions(row, row, actor)
        period = periods.get(row.period_id)
        if period is None:
            period = periods[row.period_id] = ItemRef.model_construct(
                code=row.period_code, title=row.period_title
            )
        agency = agencies.get(row.agency_id)
        if agency is None:
            agency = agencies[row.agency_id] = AgencyRef.model_construct(
                code=row.agency_code,
                name=row.agency_name,
                short_name=row.agency_short_name,
                kind=row.agency_kind,
            )
        submitted = row.submitted_at
        reads.append(
            ReportRead.model_construct(
                id=row.id,
                period=period,
                period_id=row.period_id,
                agency=agency,
                state=row.state,
                version=row.version,
                late=submitted is not None
                and submitted.astimezone(VIETNAM).date() > row.period_due,
                submitted_at=submitted,
                approved_at=row.approved_at,
                created_at=row.created_at,
                updated_at=row.updated_at,
                counts={name: row[len(_SHOWN) + i] for i, name in enumerate(names)},
                allowed_actions=list(allowed[key]),
            )
        )
    return reads


async def list_reports(
    session: AsyncSession,
    plan: Plan,
    caller: User,
    *,
    period_id: int | None,
    agency: str | None,
    state: str | None,
    after: SortKey | None,
    limit: int,
    queue: bool = False,
) -> ReportPage:
    """One query for the page, its items by kind and the list's total (as columns of the
    page's rows); the total alone again only when the page came back empty, and the
    planner's estimate past the exact-count limit, as `count_total` gives them."""
    stmt = _listed(plan, caller)
    if period_id is not None:
        stmt = stmt.where(col(Report.period_id) == period_id)
    if agency is not None:
        stmt = stmt.where(col(Agency.code) == agency)
    if state is not None:
        stmt = stmt.where(col(Report.state) == state)
    if queue:
        # The review queue is oldest submission first. Keyset, not offset: the cursor is the
        # last served report's (submitted_at in microseconds since 1970, id), so approving or
        # returning reports on earlier pages (which leave the queue) never makes the next
        # page skip one.
        stmt = stmt.where(col(Report.state) == "submitted")
        key = tuple_(col(Report.submitted_at), col(Report.id))
        order: tuple[Any, ...] = (col(Report.submitted_at), col(Report.id))
        bound = None
        if after is not None:
            when = _EPOCH + timedelta(microseconds=min(after[0], _LAST_MICROS))
            bound = tuple_(
                literal(when, DateTime(timezone=True)),
                literal(min(after[1], _INT4_MAX), Integer),
            )
    else:  # by id
        key = tuple_(col(Report.id), col(Report.id))
        order = (col(Report.id), col(Report.id))
        bound = None if after is None else tuple_(*after)
    cap: int | None = session.info.get(EXACT_TOTAL_LIMIT)
    counted = stmt.limit(cap + 1) if cap is not None else stmt
    total_column = select(func.count()).select_from(counted.subquery()).scalar_subquery()
    paged = stmt.add_columns(*(_counted(m) for m in _COUNTED.values()), total_column)
    if bound is not None:
        paged = paged.where(key > bound)
    rows = list((await session.execute(paged.order_by(*order).limit(limit + 1))).all())
    if after is None and len(rows) <= limit and not queue:
        total = Total(len(rows))  # the whole list on one page (fetch_page's shortcut)
    elif not rows:
        total = await count_total(session, stmt, grows=True)
    else:
        exact = rows[0][-1]
        total = Total(exact)
        if cap is not None and exact > cap:
            total = Total(max(await planner_rows(session, stmt), cap + 1), exact=False)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        if queue:
            micros = ((last.submitted_at or _EPOCH) - _EPOCH) // timedelta(microseconds=1)
            next_cursor = encode_cursor("review-queue", (max(micros, 0), last.id))
        else:
            next_cursor = encode_cursor("reports", (last.id, last.id))
    items = _listed_reads(rows, caller)
    return ReportPage(items=items, total=total, total_exact=total.exact, next_cursor=next_cursor)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_MICROS = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_INT4_MAX = 2**31 - 1


async def load_report(
    session: AsyncSession, plan: Plan, caller: User, report_id: int, *, lock: bool = False
) -> tuple[Report, ReportingPeriod, Agency]:
    stmt = _base(plan, caller).where(col(Report.id) == report_id)
    if lock:
        stmt = stmt.with_for_update(of=Report)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFoundError("report", report_id)
    return row[0], row[1], row[2]


async def record_event(
    session: AsyncSession,
    report: Report,
    actor: User,
    action: str,
    *,
    from_state: str | None = None,
    comment: str | None = None,
    item_kind: str | None = None,
    item_id: int | None = None,
    moves_state: bool = True,
) -> ReportEvent:
    """The event, inserted (one statement). `to_state` is the report's state after it,
    or None for an event that does not move the report's state (a comment)."""
    event = ReportEvent(
        report_id=report.id or 0,
        actor_id=actor.id,
        action=action,
        from_state=from_state,
        to_state=report.state if moves_state else None,
        comment=comment,
        item_kind=item_kind,
        item_id=item_id,
    )
    session.add(event)
    await session.flush()
    return event


async def create_report(
    session: AsyncSession, plan: Plan, caller: User, period_id: int
) -> tuple[Report, ReportingPeriod, Agency]:
    """The caller's agency's report for the period; agency and author come from the caller."""
    period = await get_period(session, plan, caller, period_id)
    if period.status != "open":
        raise ConflictError("conflict.period_not_open")
    is_asked = (await session.execute(select(asked(period.id, caller.agency_id)))).scalar()
    if not is_asked:
        raise FieldValidationError([("period_id", "agency_not_asked")])
    report = Report(period_id=period.id or 0, agency_id=caller.agency_id, created_by_id=caller.id)
    session.add(report)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise ConflictError("conflict.report_exists") from exc
    await record_event(session, report, caller, "created")
    await audit.record(
        session, caller, "report.create", "report", report.id, after=audit.snapshot(report)
    )
    agency = await session.get(Agency, caller.agency_id)
    assert agency is not None  # the caller's own agency
    return report, period, agency


TRANSITIONS = {
    "submit": ("submitted", "submitted"),
    "withdraw": ("draft", "withdrawn"),
    "approve": ("approved", "approved"),
    "return": ("returned", "returned"),
}  # action: (the report's new state, the event's name)


async def transition(
    session: AsyncSession,
    plan: Plan,
    caller: User,
    report_id: int,
    action: str,
    comment: str | None,
    if_match: str | None,
) -> tuple[Report, ReportingPeriod, Agency]:
    """Move the report as the policy table allows; a return's reason also joins the
    conversation, as a comment naming the transition."""
    report, period, agency = await load_report(session, plan, caller, report_id, lock=True)
    policy.require("report", action, Actor.of(caller), report, period, comment=comment)
    check_if_match(if_match, report_etag(report))
    watch = webhooks.TaskStatusWatch()
    if action == "approve":  # approval makes the report's task progress public
        await watch.start(session, await webhooks.report_task_ids(session, report.id or 0))
    before = audit.snapshot(report)
    from_state = report.state
    now = utcnow()
    report.state, event_name = TRANSITIONS[action]
    report.version += 1
    if action == "submit":
        report.submitted_at = now
    elif action == "approve":
        report.approved_at = now
        await _clear_item_reviews(session, report)
    event = await record_event(
        session, report, caller, event_name, from_state=from_state, comment=comment
    )
    if action == "return":
        await record_reason(session, report, caller, event)
    await audit.record(
        session,
        caller,
        f"report.{action}",
        "report",
        report.id,
        before=before,
        after=audit.snapshot(report),
    )
    if action in ("approve", "return"):
        kind = "report_approved" if action == "approve" else "report_returned"
        await notify_agency(
            session,
            report.agency_id,
            kind,
            f"{kind}:{report.id}:{report.version}",
            report_id=report.id,
            period=period.title,
            comment=comment or "",
        )
    if action != "withdraw":
        await webhooks.emit(
            session,
            f"report.{report.state}",
            {
                "plan": plan.code,
                "report": {
                    "id": report.id,
                    "agency": agency.code,
                    "period_id": period.id,
                    "period_code": period.code,
                    "state": report.state,
                    "version": report.version,
                },
                "comment": comment,
            },
        )
    await watch.finish(session, report.id or 0)
    await session.flush()
    await session.refresh(report)  # updated_at is set by the database
    return report, period, agency


async def record_reason(
    session: AsyncSession, report: Report, actor: User, transition_event: ReportEvent
) -> ReportEvent:
    """The reason given with a transition, as a comment of the conversation naming it."""
    reason = await record_event(
        session,
        report,
        actor,
        "comment",
        comment=transition_event.comment,
        item_kind=transition_event.item_kind,
        item_id=transition_event.item_id,
    )
    reason.to_state, reason.event_id = None, transition_event.id
    await session.flush()
    return reason


async def _clear_item_reviews(session: AsyncSession, report: Report) -> None:
    for model in (kind.model for kind in KINDS.values()):
        await session.execute(
            update(model).where(col(model.report_id) == report.id).values(review_state=None)
        )

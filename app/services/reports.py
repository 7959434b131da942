"""Agency reports: creation, visibility, the review workflow, history and comments.

States: draft → submitted (agency lead) → approved | returned (reviewer, with a comment);
returned is editable and can be submitted again; a lead may withdraw a submitted report
before review. Every transition is recorded with actor, time and comment.
"""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import ConflictError, FieldValidationError, NotFoundError
from app.core.http import check_if_match, etag
from app.core.pagination import SortKey
from app.core.permissions import Permission, permissions_of
from app.models import (
    Agency,
    DocumentUpdate,
    IndicatorValue,
    Plan,
    Report,
    ReportEvent,
    ReportingPeriod,
    TaskUpdate,
    User,
)
from app.schemas.common import VIETNAM, ItemRef
from app.schemas.reports import EventRead, ReportPage, ReportRead
from app.services import audit, webhooks
from app.services.auth import utcnow
from app.services.common import agency_ref, fetch_page
from app.services.notifications import notify_agency
from app.services.periods import asked, get_period
from app.services.visibility import visible

EDITABLE = ("draft", "returned")


def report_etag(report: Report) -> str:
    return etag("report", report.id or 0, report.version)


def is_late(report: Report, period: ReportingPeriod) -> bool:
    submitted = report.submitted_at
    return submitted is not None and submitted.astimezone(VIETNAM).date() > period.due_date


def report_actions(report: Report, period: ReportingPeriod, caller: User) -> list[str]:
    perms = permissions_of(caller.role)
    own = report.agency_id == caller.agency_id
    open_ = period.status == "open"
    actions = []
    if own and Permission.reports_edit in perms and report.state in EDITABLE and open_:
        actions.append("edit")
    if own and Permission.reports_submit in perms:
        if report.state in EDITABLE and open_:
            actions.append("submit")
        if report.state == "submitted":
            actions.append("withdraw")
    if Permission.reports_review in perms and report.state == "submitted":
        actions += ["approve", "return"]
    if Permission.reports_comment in perms and (own or report.state != "draft"):
        actions.append("comment")
    return actions


async def _counts(session: AsyncSession, report_ids: list[int]) -> dict[int, dict[str, int]]:
    counts = {
        rid: {"task_updates": 0, "indicator_values": 0, "document_updates": 0} for rid in report_ids
    }
    for name, model in (
        ("task_updates", TaskUpdate),
        ("indicator_values", IndicatorValue),
        ("document_updates", DocumentUpdate),
    ):
        rows = await session.execute(
            select(col(model.report_id), func.count())
            .where(col(model.report_id).in_(report_ids))
            .group_by(col(model.report_id))
        )
        for report_id, n in rows:
            counts[report_id][name] = n
    return counts


async def read_reports(
    session: AsyncSession, rows: list[tuple[Report, ReportingPeriod, Agency]], caller: User
) -> list[ReportRead]:
    counts = await _counts(session, [r.id or 0 for r, _, _ in rows])
    return [
        ReportRead(
            id=report.id or 0,
            period=ItemRef(code=period.code, title=period.title),
            period_id=period.id or 0,
            agency=agency_ref(agency),
            state=report.state,
            late=is_late(report, period),
            submitted_at=report.submitted_at,
            approved_at=report.approved_at,
            created_at=report.created_at,
            updated_at=report.updated_at,
            counts=counts[report.id or 0],
            allowed_actions=report_actions(report, period, caller),
        )
        for report, period, agency in rows
    ]


def _base(plan: Plan, caller: User) -> Any:
    return (
        select(Report, ReportingPeriod, Agency)
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(Report.period_id))
        .join(Agency, col(Agency.id) == col(Report.agency_id))
        .where(col(ReportingPeriod.plan_id) == plan.id, visible(caller))
    )


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
    stmt = _base(plan, caller)
    if period_id is not None:
        stmt = stmt.where(col(Report.period_id) == period_id)
    if agency is not None:
        stmt = stmt.where(col(Agency.code) == agency)
    if state is not None:
        stmt = stmt.where(col(Report.state) == state)
    # The review queue is oldest submission first; other lists are by id.
    sort = col(Report.submitted_at) if queue else col(Report.id)
    if queue:
        stmt = stmt.where(col(Report.state) == "submitted")
        rows, total, next_cursor = await _queue_page(session, stmt, after, limit)
    else:
        rows, total, next_cursor = await fetch_page(
            session,
            stmt,
            sort_column=sort,
            id_column=col(Report.id),
            after=after,
            limit=limit,
            list_name="reports",
        )
    items = await read_reports(session, [tuple(r) for r in rows], caller)
    return ReportPage(items=items, total=total, next_cursor=next_cursor)


async def _queue_page(
    session: AsyncSession, stmt: Any, after: SortKey | None, limit: int
) -> tuple[list[Any], int, str | None]:
    """Oldest submission first; the cursor carries the position in that order."""
    from app.core.pagination import encode_cursor

    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    offset = after[0] if after else 0
    rows = list(
        (
            await session.execute(
                stmt.order_by(col(Report.submitted_at), col(Report.id))
                .offset(offset)
                .limit(limit + 1)
            )
        ).all()
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor("review-queue", (offset + limit, 0))
    return rows, total, next_cursor


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


async def _event(
    session: AsyncSession,
    report: Report,
    actor: User,
    action: str,
    *,
    from_state: str | None = None,
    comment: str | None = None,
    item_kind: str | None = None,
    item_id: int | None = None,
) -> ReportEvent:
    event = ReportEvent(
        report_id=report.id or 0,
        actor_id=actor.id,
        action=action,
        from_state=from_state,
        to_state=report.state,
        comment=comment,
        item_kind=item_kind,
        item_id=item_id,
    )
    session.add(event)
    await session.flush()
    return event


async def create_report(session: AsyncSession, plan: Plan, caller: User, period_id: int) -> Report:
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
    await _event(session, report, caller, "created")
    await audit.record(
        session, caller, "report.create", "report", report.id, after=audit.snapshot(report)
    )
    return report


def _require(action: str, report: Report, period: ReportingPeriod, caller: User) -> None:
    """403 when the role can never do this, 409 when the report's state forbids it now."""
    needed = {
        "edit": Permission.reports_edit,
        "submit": Permission.reports_submit,
        "withdraw": Permission.reports_submit,
        "approve": Permission.reports_review,
        "return": Permission.reports_review,
        "comment": Permission.reports_comment,
    }
    from app.core.errors import ForbiddenError

    perms = permissions_of(caller.role)
    if needed[action] not in perms:
        raise ForbiddenError()
    if action in ("edit", "submit", "withdraw") and report.agency_id != caller.agency_id:
        raise ForbiddenError()
    if action not in report_actions(report, period, caller):
        if period.status != "open" and action in ("edit", "submit"):
            raise ConflictError("conflict.period_not_open")
        raise ConflictError("conflict.invalid_state", state=report.state, action=action)


TRANSITIONS = {
    "submit": "submitted",
    "withdraw": "draft",
    "approve": "approved",
    "return": "returned",
}


async def transition(
    session: AsyncSession,
    plan: Plan,
    caller: User,
    report_id: int,
    action: str,
    comment: str | None,
    if_match: str | None,
) -> Report:
    report, period, agency = await load_report(session, plan, caller, report_id, lock=True)
    _require(action, report, period, caller)
    check_if_match(if_match, report_etag(report))
    if action == "return" and not (comment and comment.strip()):
        raise FieldValidationError([("comment", "comment_required")])
    watch = webhooks.TaskStatusWatch()
    if action == "approve":  # approval makes the report's task progress public
        await watch.start(session, await webhooks.report_task_ids(session, report.id or 0))
    before = audit.snapshot(report)
    from_state = report.state
    now = utcnow()
    report.state = TRANSITIONS[action]
    report.version += 1
    if action == "submit":
        report.submitted_at = now
    elif action == "approve":
        report.approved_at = now
        await _clear_item_reviews(session, report)
    await _event(
        session,
        report,
        caller,
        {
            "submit": "submitted",
            "withdraw": "withdrawn",
            "approve": "approved",
            "return": "returned",
        }[action],
        from_state=from_state,
        comment=comment,
    )
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
    return report


async def _clear_item_reviews(session: AsyncSession, report: Report) -> None:
    from sqlalchemy import update

    for model in (TaskUpdate, IndicatorValue, DocumentUpdate):
        await session.execute(
            update(model).where(col(model.report_id) == report.id).values(review_state=None)
        )


async def add_comment(
    session: AsyncSession, plan: Plan, caller: User, report_id: int, body: str
) -> ReportEvent:
    report, period, _ = await load_report(session, plan, caller, report_id)
    _require("comment", report, period, caller)
    event = await _event(session, report, caller, "comment", comment=body)
    event.to_state = None
    await audit.record(
        session, caller, "report.comment", "report", report.id, after={"comment": body}
    )
    return event


async def events(
    session: AsyncSession, plan: Plan, caller: User, report_id: int, *, comments: bool
) -> list[EventRead]:
    await load_report(session, plan, caller, report_id)
    stmt = (
        select(ReportEvent, col(User.username))
        .outerjoin(User, col(User.id) == col(ReportEvent.actor_id))
        .where(col(ReportEvent.report_id) == report_id)
        .order_by(col(ReportEvent.id))
    )
    stmt = stmt.where(
        (col(ReportEvent.action) == "comment")
        if comments
        else (col(ReportEvent.action) != "comment")
    )
    return [
        EventRead(
            id=e.id or 0,
            action=e.action,
            from_state=e.from_state,
            to_state=e.to_state,
            item_kind=e.item_kind,
            item_id=e.item_id,
            comment=e.comment,
            actor=username,
            at=e.created_at,
        )
        for e, username in (await session.execute(stmt)).all()
    ]

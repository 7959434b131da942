"""A report's history (its transitions and those of its items) and its conversation.

Both are pages of `report_events` in id order. The conversation is the comments: those
written on their own and those given with a transition (a return's reason, recorded by
app.services.reports.record_reason with `event_id` naming the transition), so the officer
finds the reviewer's reason where they talk with the reviewer. The history holds the
transitions, each with its comment.
"""

from sqlalchemy import insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from app.core.errors import NotFoundError
from app.core.logging import request_id_var
from app.core.pagination import SortKey
from app.models import AuditEntry, Plan, Report, ReportEvent, User
from app.schemas.reports import EventPage, EventRead
from app.services import report_policy as policy
from app.services.common import fetch_page
from app.services.reports import load_report


def event_read(event: ReportEvent, actor: str | None) -> EventRead:
    return EventRead.model_validate({**event.model_dump(), "actor": actor, "at": event.created_at})


async def add_comment(
    session: AsyncSession, plan: Plan, caller: User, report_id: int, body: str
) -> EventRead:
    """The comment, the report's new version (`touch`: a comment is part of what the report
    shows) and the audit row, written in one statement (three data-modifying CTEs, one
    round trip); the audit chain links the row at commit as for any other."""
    report, period, _ = await load_report(session, plan, caller, report_id)
    policy.require("report", "comment", policy.Actor.of(caller), report, period)
    events_, reports_, audit_ = ReportEvent.__table__, Report.__table__, AuditEntry.__table__  # type: ignore[attr-defined]
    event = (
        insert(events_)
        .values(report_id=report.id, actor_id=caller.id, action="comment", comment=body)
        .returning(events_.c.id, events_.c.created_at)
        .cte("event")
    )
    bump = (
        update(reports_)
        .where(reports_.c.id == report.id)
        .values(version=reports_.c.version + 1)
        .returning(reports_.c.version)
        .cte("bump")
    )
    logged = insert(audit_).values(
        actor_id=caller.id,
        action="report.comment",
        entity="report",
        entity_id=str(report.id),
        after={"comment": body},
        request_id=request_id_var.get(),
    )
    written = (
        await session.execute(
            select(event.c.id, event.c.created_at, bump.c.version)
            .select_from(event)
            .join(bump, true())
            .add_cte(logged.cte("logged"))
        )
    ).one()
    set_committed_value(report, "version", written.version)
    return EventRead.model_validate(
        {
            "id": written.id,
            "action": "comment",
            "from_state": None,
            "to_state": None,
            "item_kind": None,
            "item_id": None,
            "event_id": None,
            "comment": body,
            "actor": caller.username,
            "at": written.created_at,
        }
    )


async def events(
    session: AsyncSession,
    plan: Plan,
    caller: User,
    report_id: int,
    *,
    comments: bool,
    after: SortKey | None,
    limit: int,
) -> EventPage:
    await load_report(session, plan, caller, report_id)
    is_comment = col(ReportEvent.action) == "comment"
    stmt = (
        select(ReportEvent, col(User.username))
        .outerjoin(User, col(User.id) == col(ReportEvent.actor_id))
        .where(col(ReportEvent.report_id) == report_id, is_comment if comments else ~is_comment)
    )
    rows, total, next_cursor = await fetch_page(
        session,
        stmt,
        sort_column=col(ReportEvent.id),
        id_column=col(ReportEvent.id),
        after=after,
        limit=limit,
        list_name=list_name(comments),
        grows=True,
    )
    return EventPage(
        items=[event_read(e, username) for e, username in rows],
        total=total,
        total_exact=total.exact,
        next_cursor=next_cursor,
    )


async def get_comment(
    session: AsyncSession, plan: Plan, caller: User, report_id: int, comment_id: int
) -> EventRead:
    """One comment of the conversation, for whoever may see the report (404 otherwise, and
    for an event of the history that is not a comment)."""
    await load_report(session, plan, caller, report_id)
    row = (
        await session.execute(
            select(ReportEvent, col(User.username))
            .outerjoin(User, col(User.id) == col(ReportEvent.actor_id))
            .where(
                col(ReportEvent.id) == comment_id,
                col(ReportEvent.report_id) == report_id,
                col(ReportEvent.action) == "comment",
            )
        )
    ).first()
    if row is None:
        raise NotFoundError("comment", comment_id)
    return event_read(row[0], row[1])


def list_name(comments: bool) -> str:
    return "report-comments" if comments else "report-history"

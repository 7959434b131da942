"""A report's history (its transitions and those of its items) and its conversation.

Both are pages of `report_events` in id order. The conversation is the comments: those
written on their own and those given with a transition (a return's reason, recorded by
app.services.reports.record_reason with `event_id` naming the transition), so the officer
finds the reviewer's reason where they talk with the reviewer. The history holds the
transitions, each with its comment.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import NotFoundError
from app.core.pagination import SortKey
from app.models import Plan, ReportEvent, User
from app.schemas.reports import EventPage, EventRead
from app.services import audit
from app.services import report_policy as policy
from app.services.common import fetch_page
from app.services.reports import load_report, record_event, touch


def event_read(event: ReportEvent, actor: str | None) -> EventRead:
    return EventRead.model_validate({**event.model_dump(), "actor": actor, "at": event.created_at})


async def add_comment(
    session: AsyncSession, plan: Plan, caller: User, report_id: int, body: str
) -> EventRead:
    report, period, _ = await load_report(session, plan, caller, report_id)
    policy.require("report", "comment", policy.Actor.of(caller), report, period)
    event = await record_event(session, report, caller, "comment", comment=body, moves_state=False)
    await touch(session, report)
    await audit.record(
        session, caller, "report.comment", "report", report.id, after={"comment": body}
    )
    return event_read(event, caller.username)


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

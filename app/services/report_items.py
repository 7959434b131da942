"""Items of a report, whatever their kind: one life cycle, written once.

Created and edited while the report is editable (or while the item alone is returned),
sent back alone by a reviewer after approval, resubmitted by the agency lead, approved
again; who may do which and when is the item rows of app.services.report_policy. What
differs between kinds (table, schemas, subject, field rules, read shape) is the kind's
(app.services.item_kinds). An item may only concern a task, indicator or document that
the agency leads or coordinates, directly or through a group it belongs to.

Every write also moves the report's version (`touch`), in the same transaction, since the
report shows its items. A `client_id` names an item for an offline client's retries: a
create with a stored `client_id` answers the stored item, even when the first create is
still running (the retry waits for it on the unique index, then reads it).
"""

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import ConflictError, NotFoundError
from app.core.http import check_if_match
from app.core.pagination import SortKey
from app.models import Plan, Report, ReportingPeriod, User
from app.models.reports import ItemBase
from app.schemas.reports import ItemCommon
from app.services import audit, webhooks
from app.services import report_policy as policy
from app.services.common import fetch_page
from app.services.item_kinds import KINDS, AnyKind
from app.services.notifications import notify_agency
from app.services.report_policy import Actor, actor_of
from app.services.reports import load_report, record_event, record_reason, touch

Kind = AnyKind  # the name app.services.attachments knows
__all__ = ["KINDS", "Kind", "item_actions", "load_item", "require_item"]


def item_actions(
    item: ItemBase, report: Report, period: ReportingPeriod, caller: User | Actor
) -> list[str]:
    actor = actor_of(caller)
    return policy.actions("item", actor, report, period, item.review_state)


def require_item(
    action: str,
    item: ItemBase,
    report: Report,
    period: ReportingPeriod,
    caller: User | Actor,
    *,
    comment: str | None = None,
) -> None:
    """403 for a role or agency that never may, 409 while the state forbids it, 422
    without a required comment (app.services.report_policy)."""
    actor = actor_of(caller)
    policy.require("item", action, actor, report, period, item.review_state, comment=comment)


_require_item = require_item  # the former name, still imported by attachments


async def read_items(
    session: AsyncSession,
    kind: AnyKind,
    items: list[Any],
    report: Report,
    period: ReportingPeriod,
    actor: Actor,
) -> list[ItemCommon]:
    if not items:
        return []
    extras = await kind.extras(session, items)
    return [kind.read(i, extras[i.id or 0], item_actions(i, report, period, actor)) for i in items]


def list_name(kind: AnyKind) -> str:
    return f"report-{kind.path}"


async def page_items(
    session: AsyncSession,
    plan: Plan,
    caller: User,
    report_id: int,
    kind: AnyKind,
    *,
    after: SortKey | None,
    limit: int,
) -> tuple[list[ItemCommon], int, str | None]:
    """A page of the report's items of one kind, oldest first."""
    report, period, _ = await load_report(session, plan, caller, report_id)
    rows, total, next_cursor = await fetch_page(
        session,
        select(kind.model).where(col(kind.model.report_id) == report.id),
        sort_column=col(kind.model.id),
        id_column=col(kind.model.id),
        after=after,
        limit=limit,
        list_name=list_name(kind),
    )
    actor = Actor.of(caller)
    items = await read_items(session, kind, [row[0] for row in rows], report, period, actor)
    return items, total, next_cursor


async def load_item(
    session: AsyncSession,
    kind: AnyKind,
    plan: Plan,
    caller: User,
    report_id: int,
    item_id: int,
    *,
    lock: bool = False,
) -> tuple[Any, Report, ReportingPeriod]:
    """The item of a report the caller may see (404 otherwise), optionally locked with
    its report."""
    report, period, _ = await load_report(session, plan, caller, report_id, lock=lock)
    stmt = select(kind.model).where(
        col(kind.model.id) == item_id, col(kind.model.report_id) == report.id
    )
    if lock:
        stmt = stmt.with_for_update()
    item = (await session.execute(stmt)).scalar()
    if item is None:
        raise NotFoundError("item", item_id)
    return item, report, period


async def get_item(
    session: AsyncSession, plan: Plan, caller: User, report_id: int, kind: AnyKind, item_id: int
) -> ItemCommon:
    item, report, period = await load_item(session, kind, plan, caller, report_id, item_id)
    return (await read_items(session, kind, [item], report, period, Actor.of(caller)))[0]


async def _stored(session: AsyncSession, kind: AnyKind, client_id: Any) -> Any:
    return (
        await session.execute(select(kind.model).where(col(kind.model.client_id) == client_id))
    ).scalar()


async def create_item(
    session: AsyncSession, plan: Plan, caller: User, report_id: int, kind: AnyKind, body: Any
) -> tuple[ItemCommon, bool]:
    """(item, created). A client_id already stored for this report answers that item.

    The report is read locked (FOR UPDATE) before the policy check, as submit locks it
    before moving it: an item is never added to a report a concurrent submit has just
    taken out of draft. A retry with a stored client_id still answers its item."""
    actor = Actor.of(caller)
    report, period, _ = await load_report(session, plan, caller, report_id, lock=True)

    async def replay() -> tuple[ItemCommon, bool] | None:
        stored = await _stored(session, kind, body.client_id) if body.client_id else None
        if stored is None:
            return None
        if stored.report_id != report.id:
            raise ConflictError("conflict.client_id_taken")
        return (await read_items(session, kind, [stored], report, period, actor))[0], False

    if (found := await replay()) is not None:
        return found
    policy.require("report", "edit", actor, report, period)
    values = await kind.resolve(session, plan, caller.agency_id, body, period.cutoff_date)
    item = kind.model(
        **kind.columns(body, partial=False),
        **values,
        report_id=report.id or 0,
        created_by_id=caller.id,
    )
    await kind.validate(session, item)
    try:
        async with session.begin_nested():  # a failed insert leaves the session usable
            session.add(item)
            await session.flush()
    except IntegrityError as exc:
        # A concurrent create with this client_id committed first: answer its item.
        if (found := await replay()) is not None:
            return found
        raise ConflictError("conflict.item_exists") from exc
    await touch(session, report)
    await audit.record(
        session, caller, f"{kind.entity}.create", kind.entity, item.id, after=audit.snapshot(item)
    )
    return (await read_items(session, kind, [item], report, period, actor))[0], True


async def _item_for(
    session: AsyncSession,
    kind: AnyKind,
    plan: Plan,
    actor: Actor,
    ids: tuple[int, int],
    action: str,
    if_match: str | None,
    comment: str | None = None,
) -> tuple[Any, Report, ReportingPeriod]:
    """The item and its report, locked, after the policy table and If-Match let `action`
    pass."""
    item, report, period = await load_item(session, kind, plan, actor.user, *ids, lock=True)
    require_item(action, item, report, period, actor, comment=comment)
    check_if_match(if_match, kind.etag(item))
    return item, report, period


async def update_item(
    session: AsyncSession,
    plan: Plan,
    caller: User,
    report_id: int,
    kind: AnyKind,
    item_id: int,
    body: Any,
    if_match: str | None,
) -> ItemCommon:
    actor = Actor.of(caller)
    ids = (report_id, item_id)
    item, report, period = await _item_for(session, kind, plan, actor, ids, "update", if_match)
    before = audit.snapshot(item)
    for field, value in kind.columns(body, partial=True).items():
        setattr(item, field, value)
    await kind.validate(session, item)
    item.version += 1
    await session.flush()
    await session.refresh(item)  # updated_at is set by the database
    await touch(session, report)
    after = audit.snapshot(item)
    await audit.record(
        session, caller, f"{kind.entity}.update", kind.entity, item.id, before=before, after=after
    )
    return (await read_items(session, kind, [item], report, period, actor))[0]


async def delete_item(
    session: AsyncSession,
    plan: Plan,
    caller: User,
    report_id: int,
    kind: AnyKind,
    item_id: int,
    if_match: str | None,
) -> None:
    actor = Actor.of(caller)
    ids = (report_id, item_id)
    item, report, _ = await _item_for(session, kind, plan, actor, ids, "delete", if_match)
    await audit.record(
        session, caller, f"{kind.entity}.delete", kind.entity, item.id, before=audit.snapshot(item)
    )
    await session.delete(item)
    await session.flush()
    await touch(session, report)


REVIEW_MOVES = {
    "return": ("returned", "item_reopened"),
    "resubmit": ("resubmitted", "item_resubmitted"),
    "approve": (None, "item_approved"),
}  # action: (the item's new review state, the event's name)


async def review_item(
    session: AsyncSession,
    plan: Plan,
    caller: User,
    report_id: int,
    kind: AnyKind,
    item_id: int,
    action: str,
    comment: str | None,
    if_match: str | None,
) -> ItemCommon:
    """Return one item of an approved report, resubmit it corrected, approve it again. A
    return's reason also joins the conversation."""
    actor = Actor.of(caller)
    ids = (report_id, item_id)
    item, report, period = await _item_for(
        session, kind, plan, actor, ids, action, if_match, comment
    )
    watch = webhooks.TaskStatusWatch()
    if action != "resubmit":  # the item leaves or rejoins the public record
        await watch.start(session, kind.watched_task_ids(item))
    before = audit.snapshot(item)
    item.review_state, event_name = REVIEW_MOVES[action]
    item.version += 1
    await session.flush()
    await session.refresh(item)  # updated_at is set by the database
    await touch(session, report)
    event = await record_event(
        session, report, caller, event_name, comment=comment, item_kind=kind.path, item_id=item.id
    )
    if action == "return":
        await record_reason(session, report, caller, event)
    await audit.record(
        session,
        caller,
        f"{kind.entity}.{action}",
        kind.entity,
        item.id,
        before=before,
        after=audit.snapshot(item),
    )
    if action == "return":
        await notify_agency(
            session,
            report.agency_id,
            "item_reopened",
            f"item_reopened:{kind.entity}:{item.id}:{item.version}",
            report_id=report.id,
            period=period.title,
            comment=comment or "",
        )
    await watch.finish(session, report.id or 0)
    return (await read_items(session, kind, [item], report, period, actor))[0]

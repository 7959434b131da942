"""The audit trail: one append-only row per write, in the write's own transaction."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, ColumnElement, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import SQLModel, col

from app.core.errors import UnknownFilterValueError
from app.core.logging import request_id_var
from app.core.pagination import SortKey
from app.models import AuditEntry, Report, User
from app.schemas.audit import AuditEntryRead, AuditPage
from app.services.common import fetch_page
from app.services.visibility import report_visible, visible

_SECRET_FIELDS = {"password_hash", "token_hash"}
# Entities known to describe something inside a report; their snapshots carry report_id
# (any entry whose snapshots carry one is filtered the same way, whatever its entity).
REPORT_PARTS = ("task_update", "indicator_value", "document_update", "attachment")


def snapshot(row: SQLModel | None) -> dict[str, Any] | None:
    """A JSON-safe copy of a row's columns, secrets left out."""
    if row is None:
        return None
    result: dict[str, Any] = {}
    for name, value in row.model_dump().items():
        if name in _SECRET_FIELDS:
            continue
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, UUID):
            value = str(value)
        result[name] = value
    return result


async def record(
    session: AsyncSession,
    actor: User | None,
    action: str,
    entity: str,
    entity_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.id if actor else None,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            before=before,
            after=after,
            request_id=request_id_var.get(),
        )
    )


def _as_report_id(value: ColumnElement[Any] | Mapped[Any]) -> ColumnElement[Any]:
    """A named report id as a bigint: decimal digits that fit, else 0, which names no report
    (so the entry is hidden, and a malformed id never makes the query fail)."""
    return case((value.regexp_match("^[0-9]{1,18}$"), cast(value, BigInteger)), else_=0)


def _named_reports() -> tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]]:
    """The reports an entry names, from the row as written (no column added): (the one to
    join on, the one in ``after``, the one in ``before``); each NULL when not named.

    Fail-closed, whatever the entity: an entry names a report when it is about one
    (``report``, its id in ``entity_id``), when either snapshot has a ``report_id`` key (a
    part of a report, including kinds added later), or when it is a known part
    (``REPORT_PARTS``) whose snapshots lost it (then 0). A present but null or malformed
    id is 0: it names no report that exists, so the entry is hidden, never shown."""
    # The JSONB comparator's has_key (PostgreSQL's ``?``); the ORM attribute's type hides it.
    after: Any = col(AuditEntry.after)
    before: Any = col(AuditEntry.before)
    in_after = case(
        (after.has_key("report_id"), _as_report_id(after["report_id"].astext)),
        else_=None,
    )
    in_before = case(
        (before.has_key("report_id"), _as_report_id(before["report_id"].astext)),
        else_=None,
    )
    primary = case(
        (col(AuditEntry.entity) == "report", _as_report_id(col(AuditEntry.entity_id))),
        (col(AuditEntry.entity).in_(REPORT_PARTS), func.coalesce(in_after, in_before, 0)),
        else_=func.coalesce(in_after, in_before),
    )
    return primary, in_after, in_before


async def list_entries(
    session: AsyncSession,
    caller: User,
    *,
    entity: str | None,
    entity_id: str | None,
    actor: str | None,
    action: str | None,
    after: SortKey | None,
    limit: int,
) -> AuditPage:
    """The trail, newest first. An unknown actor username is 422, like other filters.

    An entry about a report, its items, comments, attachments or transitions is left out
    unless the caller may see that report now through its own route (the same rule,
    applied in the query, through a join on the report's primary key): a reviewer reads
    no draft here either. An entry whose report is gone is left out too, and so is one
    that names a second report (``before`` and ``after`` differ) the caller may not see."""
    report_id, in_after, in_before = _named_reports()
    stmt = (
        select(AuditEntry, col(User.username))
        .outerjoin(User, col(User.id) == col(AuditEntry.actor_id))
        .outerjoin(Report, col(Report.id) == report_id)
        .where(
            or_(report_id.is_(None), visible(caller)),
            *(
                or_(
                    named.is_(None),
                    named == report_id,
                    # Its own FROM: the outer query has joined Report already.
                    report_visible(caller, named).correlate_except(Report),
                )
                for named in (in_after, in_before)
            ),
        )
    )
    if actor is not None:
        actor_id = (
            await session.execute(select(col(User.id)).where(col(User.username) == actor))
        ).scalar()
        if actor_id is None:
            raise UnknownFilterValueError("actor", actor)
        stmt = stmt.where(col(AuditEntry.actor_id) == actor_id)
    if entity is not None:
        stmt = stmt.where(col(AuditEntry.entity) == entity)
    if entity_id is not None:
        stmt = stmt.where(col(AuditEntry.entity_id) == entity_id)
    if action is not None:
        stmt = stmt.where(col(AuditEntry.action) == action)
    rows, total, next_cursor = await fetch_page(
        session,
        stmt,
        sort_column=col(AuditEntry.id),
        id_column=col(AuditEntry.id),
        descending=True,
        after=after,
        limit=limit,
        list_name="audit",
        grows=True,
    )
    return AuditPage(
        items=[
            AuditEntryRead(
                id=entry.id or 0,
                at=entry.at,
                actor=username,
                action=entry.action,
                entity=entry.entity,
                entity_id=entry.entity_id,
                before=entry.before,
                after=entry.after,
                request_id=entry.request_id,
            )
            for entry, username in rows
        ],
        total=total,
        total_exact=total.exact,
        next_cursor=next_cursor,
    )

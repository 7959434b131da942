"""The audit trail: one append-only row per write, in the write's own transaction."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, ColumnElement, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from app.core.errors import UnknownFilterValueError
from app.core.logging import request_id_var
from app.core.pagination import SortKey
from app.models import AuditEntry, Report, User
from app.schemas.audit import AuditEntryRead, AuditPage
from app.services.common import fetch_page
from app.services.visibility import visible

_SECRET_FIELDS = {"password_hash", "token_hash"}
# Entities whose rows describe something inside a report; their snapshots carry report_id.
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


def _report_id() -> ColumnElement[Any]:
    """The report an entry is about, derived from the row as written (no column added):
    a report's own id, or the `report_id` in an item's or attachment's snapshot (the
    `before` one once it is deleted); NULL for entries about anything else. A part with no
    report id in its snapshot gets 0, which names no report: it is hidden, not shown."""
    snapshot_id = func.coalesce(
        col(AuditEntry.after)["report_id"].astext, col(AuditEntry.before)["report_id"].astext
    )
    return case(
        (col(AuditEntry.entity) == "report", cast(col(AuditEntry.entity_id), BigInteger)),
        (
            col(AuditEntry.entity).in_(REPORT_PARTS),
            func.coalesce(cast(snapshot_id, BigInteger), 0),
        ),
        else_=None,
    )


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
    no draft here either. An entry whose report is gone is left out too."""
    report_id = _report_id()
    stmt = (
        select(AuditEntry, col(User.username))
        .outerjoin(User, col(User.id) == col(AuditEntry.actor_id))
        .outerjoin(Report, col(Report.id) == report_id)
        .where(or_(report_id.is_(None), visible(caller)))
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
        next_cursor=next_cursor,
    )

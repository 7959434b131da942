"""The audit trail: one append-only row per write, in the write's own transaction."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from app.core.errors import UnknownFilterValueError
from app.core.logging import request_id_var
from app.core.pagination import SortKey
from app.models import AuditEntry, User
from app.schemas.audit import AuditEntryRead, AuditPage
from app.services.common import fetch_page

_SECRET_FIELDS = {"password_hash", "token_hash"}


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


async def list_entries(
    session: AsyncSession,
    *,
    entity: str | None,
    entity_id: str | None,
    actor: str | None,
    action: str | None,
    after: SortKey | None,
    limit: int,
) -> AuditPage:
    """The trail, newest first. An unknown actor username is 422, like other filters."""
    stmt = select(AuditEntry, col(User.username)).outerjoin(
        User, col(User.id) == col(AuditEntry.actor_id)
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

"""The audit trail: one append-only row per write, in the write's own transaction."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.core.logging import request_id_var
from app.models import AuditEntry, User

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

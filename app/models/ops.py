"""Cross-cutting records: idempotency keys, the audit trail, notifications."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.models.common import Timestamp, created_at


class IdempotencyKey(SQLModel, table=True):
    """The first answer to a POST carrying an Idempotency-Key, replayed for repeats
    (app.core.idempotency). ``scope`` is the caller (``user:<id>``, or ``anon`` for callers
    without a valid token); ``request_hash`` is a keyed HMAC of the request, never a plain
    hash of a body that may hold a password; ``response_body`` is sealed (AES-GCM under a
    key derived from the JWT signing key) when ``sealed``. Rows past ``expires_at`` are
    forgotten and purged."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=80)
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE")
    key: str = Field(max_length=200)
    method: str = Field(max_length=8)
    path: str = Field(max_length=500)
    request_hash: str = Field(max_length=64)
    status_code: int | None = None
    response_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    response_headers: Any = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    sealed: bool = False
    created_at: Timestamp = created_at()
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)


class AuditEntry(SQLModel, table=True):
    """Append-only: the runtime role may only SELECT and INSERT, and a trigger refuses UPDATE,
    DELETE and TRUNCATE to everyone else. Each row is chained at commit (``AuditLink``).
    ``at`` is set by a BEFORE INSERT trigger to the transaction's time, whatever is asked."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    at: Timestamp = created_at()
    actor_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=40)
    entity: str = Field(max_length=40)
    entity_id: str = Field(max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    request_id: str | None = Field(default=None, max_length=64)


class AuditLink(SQLModel, table=True):
    """One link of the audit hash chain, appended at commit by a database trigger.

    ``hash`` = SHA-256(``prev_hash`` || the canonical message of (``seq``, the audit row));
    the first link's ``prev_hash`` is 32 zero bytes. The message is defined, and checked
    independently of the database's functions, in ``app.services.audit_chain``. Written only
    by the SECURITY DEFINER trigger function; append-only like the audit log.
    """

    __tablename__ = "audit_chain"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    audit_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("audit_log.id", name="fk_audit_chain_audit_id_audit_log"),
            nullable=False,
            unique=True,
        )
    )
    prev_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=30)
    # Makes scheduled reminders safe to create again: one row per (user, dedupe_key).
    dedupe_key: str = Field(max_length=200, unique=True)
    report_id: int | None = Field(default=None, foreign_key="reports.id", ondelete="CASCADE")
    period_id: int | None = Field(
        default=None, foreign_key="reporting_periods.id", ondelete="CASCADE"
    )
    message_vi: str
    message_en: str
    created_at: Timestamp = created_at()
    read_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )

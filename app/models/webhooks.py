"""Webhooks: subscriptions, the outbox of deliveries and the log of their attempts."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.models.common import Timestamp, created_at, updated_at


class Webhook(SQLModel, table=True):
    """A receiver an administrator registered for some events."""

    __tablename__ = "webhooks"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    # The HMAC key. It must be kept as given to sign with it; the API never returns it.
    secret: str = Field(max_length=200)
    events: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    description: str = Field(default="", max_length=500)
    active: bool = True
    version: int = 1
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: Timestamp = created_at()
    updated_at: Timestamp = updated_at()


class WebhookDelivery(SQLModel, table=True):
    """The outbox: one row per event and webhook, written in the transaction of the change.

    A worker claims due rows (a lease in `locked_until`, taken with SKIP LOCKED so several
    workers share the work), posts them, and records the attempt; a failure schedules the
    next attempt with exponential back-off until the attempts run out.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    webhook_id: int = Field(foreign_key="webhooks.id", ondelete="CASCADE")
    # The event's id: the same for every delivery of it (redeliveries included), so a
    # receiver can drop duplicates.
    event_id: UUID
    event: str = Field(max_length=40)
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    status: str = Field(default="pending", max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    locked_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    redelivery_of_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("webhook_deliveries.id", ondelete="SET NULL"), nullable=True
        ),
    )
    created_at: Timestamp = created_at()


class WebhookAttempt(SQLModel, table=True):
    """The delivery log: one row per HTTP attempt."""

    __tablename__ = "webhook_attempts"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    delivery_id: int = Field(
        sa_column=Column(
            BigInteger,
            ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    attempt: int
    at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    duration_ms: int
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    # No longer written: a receiver's answer is not kept (it could be an internal service's
    # data), and the API shows null. The column stays until a migration drops it.
    response_excerpt: str | None = Field(default=None, max_length=500)

"""The audit trail, as read by reviewers and administrators."""

from typing import Any

from pydantic import BaseModel, Field

from app.schemas.common import LocalDateTime, Page


class AuditEntryRead(BaseModel):
    id: int = Field(examples=[1532])
    at: LocalDateTime
    actor: str | None = Field(
        description="Username of who made the change; null for the system (command line, "
        "scheduled jobs).",
        examples=["reviewer.sotttt"],
    )
    action: str = Field(examples=["report.return"])
    entity: str = Field(examples=["report"])
    entity_id: str = Field(examples=["42"])
    before: dict[str, Any] | None = Field(
        description="The object's columns before the change (secrets left out); null on create.",
        examples=[{"id": 42, "state": "submitted", "version": 3}],
    )
    after: dict[str, Any] | None = Field(
        description="The object's columns after the change (secrets left out); null on delete.",
        examples=[{"id": 42, "state": "returned", "version": 4}],
    )
    request_id: str | None = Field(
        description="The X-Request-ID of the request that made the change.",
        examples=["5f0c2b8e6a0d4c1f"],
    )


class AuditPage(Page[AuditEntryRead]):
    pass

"""Report and report-item contracts."""

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import AgencyRef, ItemRef, LocalDateTime, Page

ReportState = Literal["draft", "submitted", "approved", "returned"]
TaskStatus = Literal["not_started", "in_progress", "completed", "suspended"]
Provenance = Literal["self_reported", "verified", "measured"]
Level = Literal["province", "district", "commune"]
ReviewState = Literal["returned", "resubmitted"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReportCreate(_Body):
    period_id: int = Field(ge=1, le=2**31 - 1)


class ReportRead(BaseModel):
    id: int
    period: ItemRef = Field(description="code: the period's code; title: its title.")
    period_id: int
    agency: AgencyRef
    state: ReportState
    late: bool = Field(description="Submitted after the period's due date.")
    submitted_at: LocalDateTime | None
    approved_at: LocalDateTime | None
    created_at: LocalDateTime
    updated_at: LocalDateTime
    counts: dict[str, int] = Field(description="Items by kind.")
    allowed_actions: list[str] = Field(
        description="What the caller may do now: edit, submit, withdraw, approve, return, comment."
    )


class ReportPage(Page[ReportRead]):
    pass


class Transition(_Body):
    comment: str | None = Field(default=None, max_length=5000)


class CommentCreate(_Body):
    body: str = Field(min_length=1, max_length=5000)


class EventRead(BaseModel):
    id: int
    action: str = Field(examples=["submitted"])
    from_state: str | None
    to_state: str | None
    item_kind: str | None
    item_id: int | None
    comment: str | None
    actor: str | None = Field(description="Username of who did it.")
    at: LocalDateTime


class ItemCommon(BaseModel):
    id: int
    report_id: int
    client_id: UUID | None
    review_state: ReviewState | None
    version: int
    created_at: LocalDateTime
    updated_at: LocalDateTime
    allowed_actions: list[str] = Field(
        description="update, delete, return (reviewer), resubmit, approve (reviewer)."
    )


class TaskUpdateFields(_Body):
    status: TaskStatus
    percent_complete: int = Field(ge=0, le=100)
    public_summary: str = Field(default="", max_length=5000)
    internal_difficulties: str = Field(default="", max_length=5000)
    next_steps: str = Field(default="", max_length=5000)


class TaskUpdateCreate(TaskUpdateFields):
    client_id: UUID | None = None
    task: str = Field(max_length=32, examples=["A.I.1"])


class TaskUpdatePatch(_Body):
    status: TaskStatus | None = None
    percent_complete: int | None = Field(default=None, ge=0, le=100)
    public_summary: str | None = Field(default=None, max_length=5000)
    internal_difficulties: str | None = Field(default=None, max_length=5000)
    next_steps: str | None = Field(default=None, max_length=5000)


class TaskUpdateRead(ItemCommon):
    task: ItemRef
    status: TaskStatus
    percent_complete: int
    public_summary: str
    internal_difficulties: str
    next_steps: str


class IndicatorValueFields(_Body):
    value: float | None = Field(default=None, ge=-1e12, le=1e12)
    achieved: bool | None = Field(default=None, description="For qualitative targets.")
    numerator: float | None = Field(default=None, ge=0, le=1e12)
    denominator: float | None = Field(default=None, gt=0, le=1e12)
    as_of: date
    level: Level | None = None
    district: str | None = Field(
        default=None,
        max_length=32,
        description="Code of the district-level agency the value is for.",
    )
    source: str = Field(default="", max_length=1000)
    provenance: Provenance = "self_reported"


class IndicatorValueCreate(IndicatorValueFields):
    client_id: UUID | None = None
    target: str = Field(max_length=40, examples=["CT-2025-01.1"])


class IndicatorValuePatch(_Body):
    value: float | None = Field(default=None, ge=-1e12, le=1e12)
    achieved: bool | None = None
    numerator: float | None = Field(default=None, ge=0, le=1e12)
    denominator: float | None = Field(default=None, gt=0, le=1e12)
    as_of: date | None = None
    source: str | None = Field(default=None, max_length=1000)
    provenance: Provenance | None = None


class IndicatorValueRead(ItemCommon):
    target: ItemRef
    indicator: str
    value: float | None
    achieved: bool | None
    numerator: float | None
    denominator: float | None
    as_of: date
    level: Level | None
    district: str | None
    source: str
    provenance: Provenance


class DocumentUpdateFields(_Body):
    status: Literal["drafting", "issued"]
    issued_number: str | None = Field(default=None, max_length=60)
    issued_on: date | None = None
    note: str = Field(default="", max_length=5000)


class DocumentUpdateCreate(DocumentUpdateFields):
    client_id: UUID | None = None
    document: int = Field(ge=1, le=10_000, description="Row number in Phụ lục 2.")


class DocumentUpdatePatch(_Body):
    status: Literal["drafting", "issued"] | None = None
    issued_number: str | None = Field(default=None, max_length=60)
    issued_on: date | None = None
    note: str | None = Field(default=None, max_length=5000)


class DocumentUpdateRead(ItemCommon):
    document: ItemRef
    status: Literal["drafting", "issued"]
    issued_number: str | None
    issued_on: date | None
    note: str


class ReportDetail(ReportRead):
    task_updates: list[TaskUpdateRead]
    indicator_values: list[IndicatorValueRead]
    document_updates: list[DocumentUpdateRead]

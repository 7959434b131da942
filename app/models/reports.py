"""Reporting: periods, agency reports, their items, history and evidence.

A report belongs to one agency and one period and stays attached to that agency even if
the agency is later renamed or merged. Only items of approved reports (and not returned
for correction since) are public.
"""

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import CheckConstraint, Column, DateTime, Index, Numeric, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.models.common import Timestamp, created_at, updated_at


def _tz() -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=True)


class ReportingPeriod(SQLModel, table=True):
    __tablename__ = "reporting_periods"
    __table_args__ = (
        UniqueConstraint("plan_id", "code"),
        CheckConstraint("kind IN ('annual', 'ad_hoc')", name="kind"),
        CheckConstraint("status IN ('planned', 'open', 'closed')", name="status"),
        CheckConstraint("cutoff_date <= due_date", name="cutoff_before_due"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plans.id", ondelete="CASCADE")
    code: str = Field(max_length=40)  # "annual-2026", "adhoc-3"
    kind: str = Field(max_length=8)
    year: int
    title: str = Field(max_length=300)
    instructions: str | None = None
    due_date: date
    cutoff_date: date
    status: str = Field(default="planned", max_length=8)
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    version: int = 1
    created_at: Timestamp = created_at()
    updated_at: Timestamp = updated_at()


class PeriodAgency(SQLModel, table=True):
    """The agencies a period asks to report."""

    __tablename__ = "period_agencies"
    # The periods that ask an agency, without reading every period's agencies (0024).
    __table_args__ = (Index("ix_period_agencies_agency_id", "agency_id", "period_id"),)

    period_id: int = Field(foreign_key="reporting_periods.id", primary_key=True, ondelete="CASCADE")
    agency_id: int = Field(foreign_key="agencies.id", primary_key=True, ondelete="RESTRICT")


class Report(SQLModel, table=True):
    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("period_id", "agency_id"),
        CheckConstraint("state IN ('draft', 'submitted', 'approved', 'returned')", name="state"),
        # The review queue in its order, whatever the history (migration 0021).
        Index(
            "ix_reports_queue", "submitted_at", "id", postgresql_where=text("state = 'submitted'")
        ),
        # The plan's last approval, newest first (migration 0025).
        Index(
            "ix_reports_approved_at",
            "approved_at",
            postgresql_where=text("approved_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="reporting_periods.id", ondelete="RESTRICT", index=True)
    agency_id: int = Field(foreign_key="agencies.id", ondelete="RESTRICT", index=True)
    state: str = Field(default="draft", max_length=10)
    version: int = 1
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    submitted_at: datetime | None = Field(default=None, sa_column=_tz())
    approved_at: datetime | None = Field(default=None, sa_column=_tz())
    created_at: Timestamp = created_at()
    updated_at: Timestamp = updated_at()


class ItemBase(SQLModel):
    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="reports.id", ondelete="CASCADE", index=True)
    # Set by an offline client so a lost answer can be retried without a duplicate.
    client_id: UUID | None = Field(default=None, unique=True)
    # null: follows the report; "returned": sent back alone after approval;
    # "resubmitted": corrected and waiting for review again.
    review_state: str | None = Field(default=None, max_length=12)
    version: int = 1
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: Timestamp = created_at()
    updated_at: Timestamp = updated_at()


class TaskUpdate(ItemBase, table=True):
    __tablename__ = "task_updates"
    __table_args__ = (
        UniqueConstraint("report_id", "task_id"),
        CheckConstraint(
            "status IN ('not_started', 'in_progress', 'completed', 'suspended')", name="status"
        ),
        CheckConstraint("percent_complete BETWEEN 0 AND 100", name="percent"),
        CheckConstraint(
            "review_state IS NULL OR review_state IN ('returned', 'resubmitted')",
            name="review_state",
        ),
    )

    task_id: int = Field(foreign_key="tasks.id", ondelete="RESTRICT", index=True)
    status: str = Field(max_length=12)
    percent_complete: int
    public_summary: str = ""
    internal_difficulties: str = ""
    next_steps: str = ""


class IndicatorValue(ItemBase, table=True):
    __tablename__ = "indicator_values"
    __table_args__ = (
        CheckConstraint(
            "provenance IN ('self_reported', 'verified', 'measured')", name="provenance"
        ),
        CheckConstraint(
            "level IS NULL OR level IN ('province', 'district', 'commune')", name="level"
        ),
        CheckConstraint(
            "review_state IS NULL OR review_state IN ('returned', 'resubmitted')",
            name="review_state",
        ),
        # A target's values by level, district and date (the recomputation of the bounded
        # series' read model, migration 0023), and by date (its paged values); migration 0021.
        Index(
            "ix_indicator_values_series",
            "target_id",
            text("coalesce(level, '')"),
            text("coalesce(district_agency_id, 0)"),
            "as_of",
            "id",
        ),
        Index("ix_indicator_values_target_as_of", "target_id", "as_of", "id"),
    )

    target_id: int = Field(foreign_key="indicator_targets.id", ondelete="RESTRICT", index=True)
    value: Decimal | None = Field(default=None, sa_column=Column(Numeric(16, 4)))
    achieved: bool | None = None  # for qualitative targets
    numerator: Decimal | None = Field(default=None, sa_column=Column(Numeric(16, 4)))
    denominator: Decimal | None = Field(default=None, sa_column=Column(Numeric(16, 4)))
    as_of: date
    level: str | None = Field(default=None, max_length=10)
    district_agency_id: int | None = Field(
        default=None, foreign_key="agencies.id", ondelete="RESTRICT"
    )
    source: str = ""
    provenance: str = Field(default="self_reported", max_length=16)


class DocumentUpdate(ItemBase, table=True):
    __tablename__ = "document_updates"
    __table_args__ = (
        UniqueConstraint("report_id", "document_id"),
        CheckConstraint("status IN ('drafting', 'issued')", name="status"),
        CheckConstraint(
            "status = 'drafting' OR (issued_number IS NOT NULL AND issued_on IS NOT NULL)",
            name="issued_fields",
        ),
        CheckConstraint(
            "review_state IS NULL OR review_state IN ('returned', 'resubmitted')",
            name="review_state",
        ),
    )

    document_id: int = Field(foreign_key="documents.id", ondelete="RESTRICT")
    status: str = Field(max_length=10)
    issued_number: str | None = Field(default=None, max_length=60)
    issued_on: date | None = None
    note: str = ""


class ReportEvent(SQLModel, table=True):
    """The report's history and conversation: transitions, item returns, comments."""

    __tablename__ = "report_events"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="reports.id", ondelete="CASCADE", index=True)
    actor_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    action: str = Field(max_length=20)
    from_state: str | None = Field(default=None, max_length=12)
    to_state: str | None = Field(default=None, max_length=12)
    item_kind: str | None = Field(default=None, max_length=20)
    item_id: int | None = None
    # A comment given with a transition (a return's reason) names that transition.
    event_id: int | None = Field(default=None, foreign_key="report_events.id", ondelete="CASCADE")
    comment: str | None = None
    created_at: Timestamp = created_at()

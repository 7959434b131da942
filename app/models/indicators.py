"""Indicators of Phụ lục 1, each with one or more measurable targets."""

from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Numeric, PrimaryKeyConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.common import AgencyLinkBase, Timestamp, created_at, jsonb_list, updated_at


class Indicator(SQLModel, table=True):
    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plans.id", ondelete="CASCADE")
    code: str = Field(max_length=32)
    target_year: int
    number: int
    text: str
    lead_text: str = ""
    coordinating_text: str = ""
    lead_note: str | None = None
    footnotes: list[str] = jsonb_list()
    sort_order: int = 0
    search_text: str = ""
    created_at: Timestamp = created_at()
    updated_at: Timestamp = updated_at()


class IndicatorTarget(SQLModel, table=True):
    __tablename__ = "indicator_targets"
    __table_args__ = (
        UniqueConstraint("indicator_id", "code"),
        CheckConstraint("kind IN ('numeric', 'qualitative')", name="kind"),
        CheckConstraint(
            "comparator IS NULL OR comparator IN ('gte', 'gt', 'eq', 'lte')", name="comparator"
        ),
        CheckConstraint(
            "level IS NULL OR level IN ('province', 'district', 'commune')", name="level"
        ),
        CheckConstraint(
            "(kind = 'numeric') = (value IS NOT NULL AND comparator IS NOT NULL)", name="numeric"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicators.id", ondelete="CASCADE")
    code: str = Field(max_length=40)
    metric: str
    kind: str = Field(max_length=12)
    comparator: str | None = Field(default=None, max_length=4)
    value: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 4)))
    unit: str | None = Field(default=None, max_length=40)
    level: str | None = Field(default=None, max_length=10)
    deadline_year: int
    baseline: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 4)))
    text: str = ""
    position: int = 0


class IndicatorAgency(AgencyLinkBase, table=True):
    __tablename__ = "indicator_agencies"
    __table_args__ = (
        PrimaryKeyConstraint("indicator_id", "agency_id", "role"),
        CheckConstraint("role IN ('lead', 'coordinating')", name="role"),
    )

    indicator_id: int = Field(foreign_key="indicators.id", ondelete="CASCADE")

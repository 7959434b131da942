"""Plan sections: every numbered part of the plan body (I … IV), with its text and bullets."""

from sqlalchemy import CheckConstraint, Column, PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.models.common import AgencyLinkBase, Timestamp, created_at, jsonb_list, updated_at


class Section(SQLModel, table=True):
    __tablename__ = "plan_sections"
    __table_args__ = (
        UniqueConstraint("plan_id", "code"),
        CheckConstraint("level BETWEEN 1 AND 3", name="level"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plans.id", ondelete="CASCADE")
    code: str = Field(max_length=32)
    parent_id: int | None = Field(default=None, foreign_key="plan_sections.id", ondelete="CASCADE")
    level: int
    number: str = Field(max_length=8)
    title: str | None = None
    text: str | None = None
    bullets: list[str] = jsonb_list()
    lead_note: str | None = None
    sort_order: int = 0
    search_text: str = ""
    created_at: Timestamp = created_at()
    updated_at: Timestamp = updated_at()


class SectionAgency(AgencyLinkBase, table=True):
    __tablename__ = "section_agencies"
    __table_args__ = (
        PrimaryKeyConstraint("section_id", "agency_id", "role"),
        CheckConstraint("role IN ('lead', 'coordinating', 'addressee')", name="role"),
    )

    section_id: int = Field(foreign_key="plan_sections.id", ondelete="CASCADE")
    # 1-based bullet numbers ("ý") when section IV assigns only some of the bullets.
    bullets: list[int] | None = Field(
        default=None, sa_column=Column(JSONB(none_as_null=True), nullable=True)
    )
    source: str | None = Field(default=None, max_length=16)
    note: str | None = None

"""Tasks of Phụ lục 3 and the headings (groups A-F, sub-groups I-VI) they sit under."""

from sqlalchemy import CheckConstraint, PrimaryKeyConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.common import AgencyLinkBase, Timestamp, created_at, jsonb_list, updated_at


class TaskGroup(SQLModel, table=True):
    __tablename__ = "task_groups"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plans.id", ondelete="CASCADE")
    code: str = Field(max_length=16)
    parent_id: int | None = Field(default=None, foreign_key="task_groups.id", ondelete="CASCADE")
    title: str
    sort_order: int = 0


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("plan_id", "code"),
        CheckConstraint("recurrence IN ('once', 'annual')", name="recurrence"),
        CheckConstraint(
            "start_year IS NULL OR end_year IS NULL OR end_year >= start_year", name="years"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plans.id", ondelete="CASCADE")
    code: str = Field(max_length=32)
    group_id: int = Field(foreign_key="task_groups.id", ondelete="RESTRICT")
    subgroup_id: int | None = Field(default=None, foreign_key="task_groups.id", ondelete="RESTRICT")
    parent_id: int | None = Field(default=None, foreign_key="tasks.id", ondelete="CASCADE")
    number: str = Field(max_length=8)
    title: str
    full_text: str
    deliverables: list[str] = jsonb_list()
    lead_text: str = ""
    lead_note: str | None = None
    start_year: int | None = None
    end_year: int | None = None
    recurrence: str = Field(default="once", max_length=8)
    source_section_id: int | None = Field(
        default=None, foreign_key="plan_sections.id", ondelete="SET NULL"
    )
    note: str | None = None
    sort_order: int = 0
    search_text: str = ""
    created_at: Timestamp = created_at()
    updated_at: Timestamp = updated_at()


class TaskAgency(AgencyLinkBase, table=True):
    __tablename__ = "task_agencies"
    __table_args__ = (
        PrimaryKeyConstraint("task_id", "agency_id", "role"),
        CheckConstraint("role IN ('lead', 'coordinating')", name="role"),
    )

    task_id: int = Field(foreign_key="tasks.id", ondelete="CASCADE")

"""Public summaries: dashboard, agency scorecard, period compliance, my assignments."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import AgencyRef, ItemRef, LocalDateTime

Compliance = Literal["on_time", "late", "missing"]


class AgencyCompliance(BaseModel):
    agency: AgencyRef
    status: Compliance = Field(
        description="on_time: first submitted by the due date; late: after it; missing: not "
        "submitted."
    )
    first_submitted_at: LocalDateTime | None


class PeriodCompliance(BaseModel):
    period: ItemRef
    period_id: int
    due_date: date
    counts: dict[str, int] = Field(description="Agencies by status: on_time, late, missing.")
    agencies: list[AgencyCompliance]


class Dashboard(BaseModel):
    tasks_by_group: dict[str, dict[str, int]] = Field(
        description="Per group A-F, tasks by derived status (headings with sub-items left out)."
    )
    targets_by_year: dict[str, dict[str, int]] = Field(
        description="Per target year, indicator targets by attainment."
    )
    current_period: PeriodCompliance | None = Field(
        description="This year's annual period and who has reported."
    )
    last_approval_at: LocalDateTime | None


class StatusItem(BaseModel):
    code: str
    title: str
    status: str
    via: str | None = None


class Scorecard(BaseModel):
    agency: AgencyRef
    tasks: dict[str, int] = Field(description="Tasks it leads, by derived status.")
    task_list: list[StatusItem]
    targets: dict[str, int] = Field(description="Targets of indicators it leads, by attainment.")
    periods: list["PeriodStatus"] = Field(
        description="Its compliance in each period that asked it and is due by today."
    )


class PeriodStatus(BaseModel):
    period: ItemRef
    due_date: date
    status: Compliance


class AssignmentItem(BaseModel):
    code: str
    title: str | None
    role: Literal["lead", "coordinating"]
    via: str | None


class DuePeriod(BaseModel):
    period: ItemRef
    period_id: int
    due_date: date
    cutoff_date: date
    report_id: int | None
    report_state: Literal["draft", "submitted", "approved", "returned"] | None


class Assignments(BaseModel):
    agency: AgencyRef
    tasks: list[AssignmentItem]
    indicators: list[AssignmentItem]
    documents: list[AssignmentItem]
    open_periods: list[DuePeriod] = Field(
        description="Open periods asking my agency, with my agency's report state for each."
    )

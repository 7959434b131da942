"""Public summaries: dashboard, agency scorecard, period compliance, my assignments."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import AgencyRef, ItemRef, LocalDateTime

Compliance = Literal["on_time", "late", "missing"]

_PERIOD = {"code": "annual-2026", "title": "Báo cáo kết quả thực hiện Kế hoạch năm 2026"}
_COUNTS = {"on_time": 31, "late": 4, "missing": 3}


class AgencyCompliance(BaseModel):
    agency: AgencyRef
    status: Compliance = Field(
        description="on_time: first submitted by the due date; late: after it; missing: not "
        "submitted."
    )
    first_submitted_at: LocalDateTime | None


class PeriodCompliance(BaseModel):
    period: ItemRef = Field(examples=[_PERIOD])
    period_id: int = Field(examples=[6])
    due_date: date = Field(examples=["2026-12-01"])
    counts: dict[str, int] = Field(
        description="Agencies by status: on_time, late, missing.", examples=[_COUNTS]
    )
    agencies: list[AgencyCompliance]


class Dashboard(BaseModel):
    tasks_by_group: dict[str, dict[str, int]] = Field(
        description="Per group A-F, tasks by derived status (headings with sub-items left out).",
        examples=[
            {
                "A": {"completed": 20, "on_track": 6, "behind": 3, "overdue": 2, "no_data": 4},
                "B": {"completed": 9, "on_track": 3, "no_data": 3},
            }
        ],
    )
    targets_by_year: dict[str, dict[str, int]] = Field(
        description="Per target year, indicator targets by attainment, judged today "
        "(`not_applicable`: a target whose level ended before its deadline).",
        examples=[
            {
                "2025": {"met": 18, "not_met": 6, "no_data": 5, "not_applicable": 1},
                "2030": {"met": 0, "not_met": 0, "no_data": 19, "not_applicable": 2},
            }
        ],
    )
    current_period: PeriodCompliance | None = Field(
        description="This year's annual period and who has reported."
    )
    last_approval_at: LocalDateTime | None


class StatusItem(BaseModel):
    code: str = Field(examples=["A.I.1"])
    title: str = Field(
        examples=["Chương trình đào tạo nâng cao nhận thức và kỹ năng số trong các cơ quan đảng"]
    )
    status: str = Field(description="The task's derived status.", examples=["completed"])
    via: str | None = Field(default=None, examples=[None])


class Scorecard(BaseModel):
    agency: AgencyRef
    tasks: dict[str, int] = Field(
        description="Tasks it leads, by derived status.",
        examples=[{"completed": 9, "on_track": 3, "behind": 1, "no_data": 2}],
    )
    task_list: list[StatusItem]
    targets: dict[str, int] = Field(
        description="Targets of indicators it leads, by attainment, judged today.",
        examples=[{"met": 4, "not_met": 1, "no_data": 6, "not_applicable": 0}],
    )
    periods: list["PeriodStatus"] = Field(
        description="Its compliance in each period that asked it and is due by today, and its "
        "predecessors' (labelled `reported_by`) while they existed or where they reported, by "
        "due date."
    )


class PeriodStatus(BaseModel):
    period: ItemRef = Field(examples=[_PERIOD])
    due_date: date = Field(examples=["2026-12-01"])
    status: Compliance
    reported_by: AgencyRef | None = Field(
        default=None,
        description="The predecessor agency this period asked, when the row is a predecessor's "
        "past (issue 11: a successor's scorecard shows it); null for the agency itself.",
        examples=[None],
    )


class AssignmentItem(BaseModel):
    code: str = Field(examples=["A.V.3"])
    title: str | None = Field(examples=["Triển khai hệ thống phòng, chống mã độc tập trung"])
    role: Literal["lead", "coordinating"]
    via: str | None = Field(examples=[None])
    via_predecessor: str | None = Field(
        default=None,
        examples=[None],
        description="Set when the item comes to this agency through a reorganisation: the "
        "code of the agency the plan names (a member, for a group) whose part it carries today.",
    )


class DuePeriod(BaseModel):
    period: ItemRef = Field(examples=[_PERIOD])
    period_id: int = Field(examples=[6])
    due_date: date = Field(examples=["2026-12-01"])
    cutoff_date: date = Field(examples=["2026-11-15"])
    report_id: int | None = Field(examples=[12])
    report_state: Literal["draft", "submitted", "approved", "returned"] | None


class Assignments(BaseModel):
    agency: AgencyRef
    tasks: list[AssignmentItem]
    indicators: list[AssignmentItem]
    documents: list[AssignmentItem]
    open_periods: list[DuePeriod] = Field(
        description="Open periods asking my agency, with my agency's report state for each."
    )

"""Task contracts (Phụ lục 3)."""

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import AgencyRef, ItemRef, LocalDateTime, Page
from app.schemas.reorganisations import Responsibility

Recurrence = Literal["once", "annual"]
DerivedStatus = Literal["completed", "not_started", "on_track", "behind", "overdue", "no_data"]


class TaskProgress(BaseModel):
    """Approved progress as published: internal difficulties stay with the report."""

    status: Literal["not_started", "in_progress", "completed", "suspended"]
    percent_complete: int = Field(examples=[60])
    public_summary: str = Field(
        examples=["Đã tổ chức 12 lớp bồi dưỡng kỹ năng số cho 1.200 cán bộ, công chức."]
    )
    period: str = Field(description="Code of the reporting period.", examples=["annual-2026"])
    as_of: date = Field(description="The period's data cut-off date.")
    approved_at: LocalDateTime | None


TASK_SUMMARY_EXAMPLE: dict[str, Any] = {
    "code": "A.I.1",
    "group": "A",
    "subgroup": "A.I",
    "parent": None,
    "number": "1",
    "title": "Chương trình đào tạo nâng cao nhận thức và kỹ năng số trong các cơ "
    "quan đảng, cơ quan nhà nước, tổ chức chính trị - xã hội (bao gồm cả nhận "
    "thức về an toàn thông tin)",
    "lead": [
        {
            "code": "STTTT",
            "name": "Sở Thông tin và Truyền thông",
            "short_name": "Sở TTTT",
            "kind": "department",
        }
    ],
    "coordinating": [],
    "lead_text": "Sở TTTT",
    "lead_note": None,
    "start_year": 2021,
    "end_year": 2022,
    "recurrence": "once",
    "derived_status": "on_track",
    "judged_year": None,
    "progress": None,
}


class TaskSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [TASK_SUMMARY_EXAMPLE]})

    code: str = Field(description="Stable code: group, sub-group and number, e.g. A.I.1, B.3.2.")
    group: str = Field(description="Group code A-F.")
    subgroup: str | None = Field(description="Sub-group code (A.I … A.VI) or null.")
    parent: str | None = Field(description="Parent task code for B.3's sub-items, else null.")
    number: str
    title: str
    lead: list[AgencyRef]
    coordinating: list[AgencyRef]
    lead_text: str = Field(description="The lead cell exactly as the plan writes it.")
    lead_note: str | None = Field(description="Set where the plan leaves the lead blank.")
    start_year: int | None
    end_year: int | None
    recurrence: Recurrence = Field(description="annual for tasks the plan marks “Hàng năm”.")
    derived_status: DerivedStatus = Field(description="See the rules in the API description.")
    judged_year: int | None = Field(description="For annual tasks, the year judged.")
    progress: TaskProgress | None = Field(description="The latest approved progress.")
    responsible: Responsibility | None = Field(
        default=None,
        description="Who carries the plan's lead and coordinating roles on `as_of` (default "
        "today), through the recorded reorganisations; `lead`/`coordinating` stay as the plan "
        "wrote them.",
    )


class TaskRead(TaskSummary):
    # Its own example: the one inherited from TaskSummary lacks the fields added here.
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **TASK_SUMMARY_EXAMPLE,
                    "full_text": TASK_SUMMARY_EXAMPLE["title"],
                    "deliverables": [],
                    "group_title": "Phát triển nền tảng cho chuyển đổi số",
                    "subgroup_title": "Nhóm Chương trình, Dự án nâng chuyển đổi nhận thức",
                    "source_section": {"code": "II.1.a", "title": "Chuyển đổi nhận thức"},
                    "subtasks": [],
                    "note": None,
                    "progress_history": [],
                    "progress_history_complete": True,
                    "progress_url": "/api/v1/tasks/A.I.1/progress",
                }
            ]
        }
    )

    full_text: str
    deliverables: list[str]
    group_title: str
    subgroup_title: str | None
    source_section: ItemRef | None = Field(
        description="The section II item this task carries out, where one fits."
    )
    subtasks: list[ItemRef]
    note: str | None
    progress_history: list[TaskProgress] = Field(
        description="Bounded, whatever the history: the latest approved progress of each "
        "reporting year (the period's year), newest first. Every approved update is at "
        "`progress_url`."
    )
    progress_history_complete: bool = Field(
        description="True when `progress_history` holds every approved update of this task; "
        "false when some year had more than one (the earlier ones are only at `progress_url`)."
    )
    progress_url: str = Field(
        description="Every approved update of this task, paged: `GET /tasks/{code}/progress`.",
        examples=["/api/v1/tasks/A.I.1/progress"],
    )


class TaskPage(Page[TaskSummary]):
    pass


class TaskProgressPage(Page[TaskProgress]):
    pass

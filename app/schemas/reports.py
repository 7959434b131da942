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

# Example values, shared by the create, patch and read shapes.
_SYT = {"code": "SYT", "name": "Sở Y tế", "short_name": "Sở Y tế", "kind": "department"}
_SUMMARY = "Đã triển khai hồ sơ sức khỏe điện tử tại 12/12 bệnh viện tuyến huyện."
_DIFFICULTIES = "Một số trạm y tế xã chưa có đường truyền ổn định."
_NEXT_STEPS = "Mở rộng đến 100% trạm y tế xã trong năm 2027."
_NOTE = "Đã ban hành; đăng trên Cổng thông tin điện tử tỉnh."
_SOURCE = "Hệ thống quản lý văn bản và điều hành của tỉnh"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReportCreate(_Body):
    period_id: int = Field(ge=1, le=2**31 - 1)


class ReportRead(BaseModel):
    id: int = Field(examples=[12])
    period: ItemRef = Field(
        description="code: the period's code; title: its title.",
        examples=[{"code": "annual-2026", "title": "Báo cáo kết quả thực hiện Kế hoạch năm 2026"}],
    )
    period_id: int = Field(examples=[6])
    agency: AgencyRef = Field(examples=[_SYT])
    state: ReportState = Field(examples=["submitted"])
    version: int = Field(
        description="Moves with every change to anything the report shows: its state, its "
        "items, their evidence files, its conversation.",
        examples=[4],
    )
    late: bool = Field(description="Submitted after the period's due date.", examples=[False])
    submitted_at: LocalDateTime | None
    approved_at: LocalDateTime | None = Field(examples=[None])
    created_at: LocalDateTime
    updated_at: LocalDateTime
    counts: dict[str, int] = Field(
        description="Items by kind.",
        examples=[{"task_updates": 1, "indicator_values": 1, "document_updates": 1}],
    )
    allowed_actions: list[str] = Field(
        description="What the caller may do now: edit, submit, withdraw, approve, return, comment.",
        examples=[["withdraw", "comment"]],
    )


class ReportPage(Page[ReportRead]):
    pass


class Transition(_Body):
    comment: str | None = Field(
        default=None,
        max_length=5000,
        description="Why: required to return a report or an item, optional otherwise.",
        examples=["Đề nghị bổ sung số liệu cấp huyện cho chỉ tiêu CT-2025-01."],
    )


class CommentCreate(_Body):
    body: str = Field(
        min_length=1,
        max_length=5000,
        examples=["Đề nghị gửi kèm minh chứng cho nhiệm vụ E.1."],
    )


class EventRead(BaseModel):
    id: int = Field(examples=[31])
    action: str = Field(examples=["submitted"])
    from_state: str | None = Field(examples=["draft"])
    to_state: str | None = Field(examples=["submitted"])
    item_kind: str | None = Field(
        description="For an event on one item: task-updates, indicator-values or document-updates.",
        examples=[None],
    )
    item_id: int | None = Field(examples=[None])
    event_id: int | None = Field(
        default=None,
        description="On a comment given with a transition (the reason for a return): the "
        "id of that transition in the history.",
        examples=[None],
    )
    comment: str | None = Field(examples=[None])
    actor: str | None = Field(description="Username of who did it.", examples=["nguyen.van.a"])
    at: LocalDateTime


class EventPage(Page[EventRead]):
    pass


_ETAG_DOC = (
    "The item's ETag, for `If-Match` on its writes. Opaque: compare and send back, never "
    "parse or build one."
)


class ItemCommon(BaseModel):
    id: int = Field(examples=[7])
    report_id: int = Field(examples=[12])
    client_id: UUID | None
    review_state: ReviewState | None = Field(examples=[None])
    version: int = Field(examples=[2])
    etag: str = Field(description=_ETAG_DOC, examples=['"task_update-7-v2"'])
    created_at: LocalDateTime
    updated_at: LocalDateTime
    allowed_actions: list[str] = Field(
        description="update, delete, return (reviewer), resubmit, approve (reviewer).",
        examples=[["update", "delete"]],
    )


class TaskUpdateFields(_Body):
    status: TaskStatus = Field(examples=["in_progress"])
    percent_complete: int = Field(ge=0, le=100, examples=[60])
    public_summary: str = Field(default="", max_length=5000, examples=[_SUMMARY])
    internal_difficulties: str = Field(default="", max_length=5000, examples=[_DIFFICULTIES])
    next_steps: str = Field(default="", max_length=5000, examples=[_NEXT_STEPS])


class TaskUpdateCreate(TaskUpdateFields):
    client_id: UUID | None = None
    task: str = Field(max_length=32, examples=["E.1"])


class TaskUpdatePatch(_Body):
    status: TaskStatus | None = Field(default=None, examples=["completed"])
    percent_complete: int | None = Field(default=None, ge=0, le=100, examples=[100])
    public_summary: str | None = Field(default=None, max_length=5000, examples=[_SUMMARY])
    internal_difficulties: str | None = Field(default=None, max_length=5000)
    next_steps: str | None = Field(default=None, max_length=5000)


class TaskUpdateRead(ItemCommon):
    task: ItemRef = Field(
        examples=[
            {
                "code": "E.1",
                "title": "Xây dựng nền tảng số, hoàn thiện và phát triển dịch vụ Y tế thông minh "
                "phổ cập đến cấp cơ sở, đảm bảo điều kiện tham gia vào mạng lưới Y tế thông minh "
                "toàn quốc",
            }
        ]
    )
    status: TaskStatus = Field(examples=["in_progress"])
    percent_complete: int = Field(examples=[60])
    public_summary: str = Field(examples=[_SUMMARY])
    internal_difficulties: str = Field(examples=[_DIFFICULTIES])
    next_steps: str = Field(examples=[_NEXT_STEPS])


class TaskUpdatePage(Page[TaskUpdateRead]):
    pass


class IndicatorValueFields(_Body):
    value: float | None = Field(default=None, ge=-1e12, le=1e12, examples=[92.5])
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
    source: str = Field(default="", max_length=1000, examples=[_SOURCE])
    provenance: Provenance = "self_reported"


class IndicatorValueCreate(IndicatorValueFields):
    client_id: UUID | None = None
    target: str = Field(max_length=40, examples=["CT-2025-01.1"])


class IndicatorValuePatch(_Body):
    value: float | None = Field(default=None, ge=-1e12, le=1e12, examples=[93.1])
    achieved: bool | None = None
    numerator: float | None = Field(default=None, ge=0, le=1e12)
    denominator: float | None = Field(default=None, gt=0, le=1e12)
    as_of: date | None = None
    source: str | None = Field(default=None, max_length=1000)
    provenance: Provenance | None = None


class IndicatorValueRead(ItemCommon):
    target: ItemRef = Field(
        examples=[
            {"code": "CT-2025-01.1", "title": "Hồ sơ công việc được xử lý trên môi trường mạng"}
        ]
    )
    indicator: str = Field(examples=["CT-2025-01"])
    value: float | None = Field(examples=[92.5])
    achieved: bool | None = Field(examples=[None])
    numerator: float | None = Field(examples=[None])
    denominator: float | None = Field(examples=[None])
    as_of: date
    level: Level | None
    district: str | None = Field(examples=[None])
    source: str = Field(examples=[_SOURCE])
    provenance: Provenance


class IndicatorValuePage(Page[IndicatorValueRead]):
    pass


class DocumentUpdateFields(_Body):
    status: Literal["drafting", "issued"] = Field(examples=["issued"])
    issued_number: str | None = Field(
        default=None,
        max_length=60,
        description="Required when issued.",
        examples=["06-NQ/TU"],
    )
    issued_on: date | None = Field(
        default=None, description="Required when issued.", examples=["2021-03-26"]
    )
    note: str = Field(default="", max_length=5000, examples=[_NOTE])


class DocumentUpdateCreate(DocumentUpdateFields):
    client_id: UUID | None = None
    document: int = Field(ge=1, le=10_000, description="Row number in Phụ lục 2.", examples=[1])


class DocumentUpdatePatch(_Body):
    status: Literal["drafting", "issued"] | None = Field(default=None, examples=["issued"])
    issued_number: str | None = Field(default=None, max_length=60, examples=["06-NQ/TU"])
    issued_on: date | None = Field(default=None, examples=["2021-03-26"])
    note: str | None = Field(default=None, max_length=5000)


class DocumentUpdateRead(ItemCommon):
    document: ItemRef = Field(
        examples=[
            {
                "code": "VB-01",
                "title": "Nghị quyết Tỉnh ủy về chuyển đổi số giai đoạn 2021-2025, định hướng "
                "đến năm 2030",
            }
        ]
    )
    status: Literal["drafting", "issued"] = Field(examples=["issued"])
    issued_number: str | None = Field(examples=["06-NQ/TU"])
    issued_on: date | None = Field(examples=["2021-03-26"])
    note: str = Field(examples=[_NOTE])


class DocumentUpdatePage(Page[DocumentUpdateRead]):
    pass


class ReportDetail(ReportRead):
    task_updates: list[TaskUpdateRead]
    indicator_values: list[IndicatorValueRead]
    document_updates: list[DocumentUpdateRead]

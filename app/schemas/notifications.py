"""In-app notifications of the signed-in user."""

from pydantic import BaseModel, Field

from app.schemas.common import LocalDateTime, Page


class NotificationRead(BaseModel):
    id: int = Field(examples=[88])
    kind: str = Field(
        description="What happened: `report_returned`, `report_approved`, `item_reopened`, "
        "`period_opened`, `period_due_soon` or `period_overdue`.",
        examples=["report_returned"],
    )
    message: str = Field(
        description="The notice in the negotiated language (Accept-Language: vi or en).",
        examples=["Báo cáo “Báo cáo đột xuất” đã bị trả lại: Bổ sung số liệu cấp huyện."],
    )
    report_id: int | None = Field(description="The report concerned, if any.", examples=[12])
    period_id: int | None = Field(
        description="The reporting period concerned, if any.", examples=[7]
    )
    plan: str | None = Field(
        description="The code of the plan that period (or the report's) belongs to: pass it "
        "as `plan=` to read them (null when the notice concerns neither).",
        examples=["2358/KH-UBND"],
    )
    created_at: LocalDateTime
    read_at: LocalDateTime | None = Field(
        description="When it was marked read; null if unread.", examples=[None]
    )


class NotificationPage(Page[NotificationRead]):
    pass

"""In-app notifications. Each row has a dedupe key, so creating the same notice twice
(a retried request, the hourly reminder job) adds nothing."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import Notification, User

MESSAGES: dict[str, tuple[str, str]] = {
    "report_returned": (
        "Báo cáo “{period}” đã bị trả lại: {comment}",
        "Report “{period}” was returned: {comment}",
    ),
    "report_approved": ("Báo cáo “{period}” đã được phê duyệt.", "Report “{period}” was approved."),
    "item_reopened": (
        "Một nội dung của báo cáo “{period}” được trả lại để sửa: {comment}",
        "An item of report “{period}” was sent back for correction: {comment}",
    ),
    "period_opened": (
        "Kỳ báo cáo “{period}” đã mở; hạn nộp {due}.",
        "Reporting period “{period}” is open; due {due}.",
    ),
    "period_due_soon": (
        "Kỳ báo cáo “{period}” đến hạn ngày {due}; báo cáo chưa được nộp.",
        "Reporting period “{period}” is due on {due}; the report is not in.",
    ),
    "period_overdue": (
        "Kỳ báo cáo “{period}” đã quá hạn ({due}); báo cáo chưa được nộp.",
        "Reporting period “{period}” is overdue ({due}); the report is not in.",
    ),
}


async def notify_agency(
    session: AsyncSession,
    agency_id: int,
    kind: str,
    key: str,
    *,
    report_id: int | None = None,
    period_id: int | None = None,
    **params: Any,
) -> int:
    """Notify every active officer and lead of the agency; return how many rows were new."""
    users = (
        (
            await session.execute(
                select(col(User.id)).where(
                    col(User.agency_id) == agency_id,
                    col(User.is_active).is_(True),
                    col(User.role).in_(("officer", "agency_lead")),
                )
            )
        )
        .scalars()
        .all()
    )
    if not users:
        return 0
    vi, en = MESSAGES[kind]
    rows = [
        {
            "user_id": user_id,
            "kind": kind,
            "dedupe_key": f"{key}:{user_id}",
            "report_id": report_id,
            "period_id": period_id,
            "message_vi": vi.format(**params),
            "message_en": en.format(**params),
        }
        for user_id in users
    ]
    result = await session.execute(
        pg_insert(Notification.__table__)  # type: ignore[attr-defined]
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(Notification.id))
    )
    return len(result.all())

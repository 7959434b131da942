"""In-app notifications. Each row has a dedupe key, so creating the same notice twice
(a retried request, the hourly reminder job) adds nothing."""

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import NotFoundError
from app.core.i18n import Lang
from app.core.pagination import SortKey
from app.models import Notification, PeriodAgency, Plan, Report, ReportingPeriod, User
from app.schemas.notifications import NotificationPage, NotificationRead
from app.services import audit
from app.services.common import fetch_page
from app.services.visibility import report_visible

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


def _row(
    user_id: int,
    kind: str,
    key: str,
    report_id: int | None,
    period_id: int | None,
    params: dict[str, Any],
) -> dict[str, Any]:
    vi, en = MESSAGES[kind]
    return {
        "user_id": user_id,
        "kind": kind,
        "dedupe_key": f"{key}:{user_id}",
        "report_id": report_id,
        "period_id": period_id,
        "message_vi": vi.format(**params),
        "message_en": en.format(**params),
    }


async def _recipients(session: AsyncSession, agency_ids: Iterable[int]) -> dict[int, list[int]]:
    """Active officers and leads, by agency."""
    rows = await session.execute(
        select(col(User.agency_id), col(User.id))
        .where(
            col(User.agency_id).in_(list(agency_ids)),
            col(User.is_active).is_(True),
            col(User.role).in_(("officer", "agency_lead")),
        )
        .order_by(col(User.id))
    )
    result: dict[int, list[int]] = defaultdict(list)
    for agency_id, user_id in rows:
        result[agency_id].append(user_id or 0)
    return result


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> list[str]:
    """Insert the notifications not already there; the kinds of those inserted."""
    kinds: list[str] = []
    for start in range(0, len(rows), 1000):
        result = await session.execute(
            pg_insert(Notification.__table__)  # type: ignore[attr-defined]
            .values(rows[start : start + 1000])
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(col(Notification.kind))
        )
        kinds += result.scalars().all()
    return kinds


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
    users = (await _recipients(session, [agency_id]))[agency_id]
    rows = [_row(user_id, kind, key, report_id, period_id, params) for user_id in users]
    return len(await _insert(session, rows)) if rows else 0


def notification_read(row: Notification, lang: Lang, plan: str | None = None) -> NotificationRead:
    return NotificationRead(
        id=row.id or 0,
        kind=row.kind,
        message=row.message_en if lang == "en" else row.message_vi,
        report_id=row.report_id,
        period_id=row.period_id,
        plan=plan,
        created_at=row.created_at,
        read_at=row.read_at,
    )


async def list_notifications(
    session: AsyncSession,
    user: User,
    lang: Lang,
    *,
    unread: bool | None,
    after: SortKey | None,
    limit: int,
) -> NotificationPage:
    """The user's own notifications, newest first; nobody reads another's. A notice about
    a report the user may no longer see (moved to another agency, role changed) is left
    out, like everything about that report."""
    about = col(Notification.report_id)
    period_id = func.coalesce(
        col(Notification.period_id),
        select(col(Report.period_id))
        .where(col(Report.id) == about)
        .correlate(Notification)
        .scalar_subquery(),
    )
    plan = (
        select(col(Plan.code))
        .join(ReportingPeriod, col(ReportingPeriod.plan_id) == col(Plan.id))
        .where(col(ReportingPeriod.id) == period_id)
        .correlate(Notification)
        .scalar_subquery()
    )
    stmt = select(Notification, plan).where(
        col(Notification.user_id) == user.id,
        or_(about.is_(None), report_visible(user, about)),
    )
    if unread is True:
        stmt = stmt.where(col(Notification.read_at).is_(None))
    elif unread is False:
        stmt = stmt.where(col(Notification.read_at).is_not(None))
    rows, total, next_cursor = await fetch_page(
        session,
        stmt,
        sort_column=col(Notification.id),
        id_column=col(Notification.id),
        descending=True,
        after=after,
        limit=limit,
        list_name="notifications",
        grows=True,
    )
    return NotificationPage(
        items=[notification_read(r[0], lang, r[1]) for r in rows],
        total=total,
        total_exact=total.exact,
        next_cursor=next_cursor,
    )


async def mark_read(session: AsyncSession, user: User, notification_id: int) -> None:
    """Idempotent: the first read time is kept. Another user's notification is 404."""
    marked = (
        await session.execute(
            update(Notification)
            .where(col(Notification.id) == notification_id, col(Notification.user_id) == user.id)
            .values(read_at=func.coalesce(col(Notification.read_at), func.now()))
            .returning(col(Notification.id))
        )
    ).first()
    if marked is None:
        raise NotFoundError("notification", notification_id)
    await audit.record(session, user, "notification.read", "notification", notification_id)


async def mark_all_read(session: AsyncSession, user: User) -> int:
    result = await session.execute(
        update(Notification)
        .where(col(Notification.user_id) == user.id, col(Notification.read_at).is_(None))
        .values(read_at=func.now())
        .returning(col(Notification.id))
    )
    count = len(result.all())
    if count:
        await audit.record(
            session, user, "notification.read_all", "user", user.id, after={"marked": count}
        )
    return count


DUE_SOON_DAYS = 7


async def create_reminders(session: AsyncSession, today: date) -> dict[str, int]:
    """Dated reminders for every open period and every agency it asks whose report is not
    in (no report, or one in draft or returned): `period_due_soon` from 7 days before the due
    date to the due date itself, `period_overdue` from the day after. Each (period, agency,
    kind) is notified once, so the job is safe to run every hour. Returns how many
    notifications were created, by kind."""
    rows = (
        await session.execute(
            select(
                col(ReportingPeriod.id),
                col(ReportingPeriod.title),
                col(ReportingPeriod.due_date),
                col(PeriodAgency.agency_id),
            )
            .join(PeriodAgency, col(PeriodAgency.period_id) == col(ReportingPeriod.id))
            .outerjoin(
                Report,
                and_(
                    col(Report.period_id) == col(PeriodAgency.period_id),
                    col(Report.agency_id) == col(PeriodAgency.agency_id),
                ),
            )
            .where(
                col(ReportingPeriod.status) == "open",
                col(ReportingPeriod.due_date) <= today + timedelta(days=DUE_SOON_DAYS),
                or_(col(Report.id).is_(None), col(Report.state).in_(("draft", "returned"))),
            )
            .order_by(col(ReportingPeriod.id), col(PeriodAgency.agency_id))
        )
    ).all()
    recipients = await _recipients(session, {agency_id for *_, agency_id in rows})
    notifications = []
    for period_id, title, due, agency_id in rows:
        kind = "period_overdue" if today > due else "period_due_soon"
        params = {"period": title, "due": due.strftime("%d/%m/%Y")}
        key = f"{kind}:{period_id}:{agency_id}"
        notifications += [
            _row(user_id, kind, key, None, period_id, params) for user_id in recipients[agency_id]
        ]
    made = Counter(await _insert(session, notifications)) if notifications else Counter()
    counts = {"due_soon": made["period_due_soon"], "overdue": made["period_overdue"]}
    return counts

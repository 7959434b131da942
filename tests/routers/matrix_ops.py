"""Access matrix entries for notifications and the audit trail."""

import secrets
from typing import Any

from app.models import Notification
from tests.factories import Account
from tests.routers.test_access_matrix import Context, Endpoint, staff

AUDIT_READERS = {
    "anonymous": 401,
    "officer": 403,
    "agency_lead": 403,
    "reviewer": 200,
    "observer": 403,
    "admin": 200,
    "other_officer": 403,
}


async def own_notification(ctx: Context, caller: Account) -> dict[str, Any]:
    """A notification of the caller (of the officer when anonymous, who is refused anyway)."""
    owner = caller.id or ctx.accounts["officer"].id
    async with ctx.sessionmaker() as session, session.begin():
        notification = Notification(
            user_id=owner,
            kind="period_opened",
            dedupe_key=f"matrix:{secrets.token_hex(8)}",
            message_vi="Kỳ báo cáo thử đã mở.",
            message_en="A test period is open.",
        )
        session.add(notification)
        await session.flush()
        return {"id": notification.id}


ENDPOINTS = [
    Endpoint("GET", "/api/v1/me/notifications", staff(200)),
    Endpoint("POST", "/api/v1/me/notifications/read-all", staff(204)),
    Endpoint(
        "POST",
        "/api/v1/me/notifications/{notification_id}/read",
        staff(204),
        url="/api/v1/me/notifications/{id}/read",
        prepare=own_notification,
    ),
    Endpoint("GET", "/api/v1/audit", AUDIT_READERS),
]

"""Access matrix entries for webhooks: administrators only, for every operation."""

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from app.models import Webhook, WebhookDelivery
from tests.factories import Account
from tests.routers.test_access_matrix import Context, Endpoint, admin_only

# Paused and pointing at the discard port: matrix webhooks never receive anything, and a
# delivery pass elsewhere in the session never waits on them.
PARKED = "http://127.0.0.1:9/matrix"


def _body() -> dict[str, Any]:
    return {
        "url": PARKED,
        "secret": secrets.token_hex(16),
        "events": ["report.approved"],
        "active": False,
    }


async def _webhook(ctx: Context, *, active: bool = False) -> Webhook:
    async with ctx.sessionmaker() as session, session.begin():
        webhook = Webhook(
            url=PARKED, secret=secrets.token_hex(16), events=["period.opened"], active=active
        )
        session.add(webhook)
        await session.flush()
        return webhook


async def webhook(ctx: Context, caller: Account) -> dict[str, Any]:
    made = await _webhook(ctx)
    return {"id": made.id, "headers": {"If-Match": f'"webhook-{made.id}-v1"'}}


async def patch_body(ctx: Context, caller: Account) -> dict[str, Any]:
    return {**await webhook(ctx, caller), "json": {"description": "Tạm dừng"}}


async def create_body(ctx: Context, caller: Account) -> dict[str, Any]:
    return {"json": _body()}


async def delivery(ctx: Context, caller: Account) -> dict[str, Any]:
    """A delivered delivery of an active webhook (so it may be sent again)."""
    made = await _webhook(ctx, active=True)
    async with ctx.sessionmaker() as session, session.begin():
        row = WebhookDelivery(
            webhook_id=made.id or 0,
            event_id=uuid.uuid4(),
            event="period.opened",
            payload={"type": "period.opened", "data": {}},
            status="delivered",
            attempts=1,
            next_attempt_at=datetime.now(UTC),
            delivered_at=datetime.now(UTC),
        )
        session.add(row)
        await session.flush()
        return {"id": made.id, "item": row.id}


ENDPOINTS = [
    Endpoint("GET", "/api/v1/webhooks", admin_only(200)),
    Endpoint("POST", "/api/v1/webhooks", admin_only(201), prepare=create_body),
    Endpoint(
        "GET",
        "/api/v1/webhooks/{webhook_id}",
        admin_only(200),
        url="/api/v1/webhooks/{id}",
        prepare=webhook,
    ),
    Endpoint(
        "PATCH",
        "/api/v1/webhooks/{webhook_id}",
        admin_only(200),
        url="/api/v1/webhooks/{id}",
        prepare=patch_body,
    ),
    Endpoint(
        "DELETE",
        "/api/v1/webhooks/{webhook_id}",
        admin_only(204),
        url="/api/v1/webhooks/{id}",
        prepare=webhook,
    ),
    Endpoint(
        "GET",
        "/api/v1/webhooks/{webhook_id}/deliveries",
        admin_only(200),
        url="/api/v1/webhooks/{id}/deliveries",
        prepare=delivery,
    ),
    Endpoint(
        "GET",
        "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}",
        admin_only(200),
        url="/api/v1/webhooks/{id}/deliveries/{item}",
        prepare=delivery,
    ),
    Endpoint(
        "POST",
        "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        admin_only(202),
        url="/api/v1/webhooks/{id}/deliveries/{item}/redeliver",
        prepare=delivery,
    ),
]

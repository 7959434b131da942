"""Webhooks for integrators: administrators register receivers and watch their deliveries."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from app.core.fields import fields_of
from app.core.http import model_response
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.core.permissions import Permission
from app.deps import SessionDep, SettingsDep, require
from app.models import User
from app.schemas.webhooks import (
    DeliveryDetail,
    DeliveryPage,
    DeliveryRead,
    DeliveryStatus,
    WebhookCreate,
    WebhookPage,
    WebhookRead,
    WebhookUpdate,
)
from app.services import webhooks as service

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

Admin = Annotated[User, require(Permission.webhooks_manage)]
WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DeliveryId = Annotated[int, Path(ge=1, le=2**62)]
IfMatch = Annotated[
    str | None,
    Header(max_length=200, description="The webhook's ETag, from GET /webhooks/{webhook_id}."),
]


@router.get(
    "",
    operation_id="webhooks-list",
    dependencies=[fields_of(WebhookPage)],
    summary="List webhooks",
    responses=problems(401, 403, 422),
)
async def list_webhooks(
    session: SessionDep,
    caller: Admin,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> WebhookPage:
    """Administrators only. Registered receivers, oldest first; secrets are never shown."""
    return await service.list_webhooks(session, decode_cursor("webhooks", cursor), limit)


@router.post(
    "",
    operation_id="webhooks-create",
    summary="Register a webhook",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookRead,
    responses=problems(400, 401, 403, 422),
)
async def create_webhook(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    body: WebhookCreate,
    caller: Admin,
) -> Response:
    """Administrators only. From the commit of this request on, every event named in
    `events` is posted to `url` as JSON `{"id", "type", "occurred_at", "data"}`, signed in
    the `X-Dxplan-Signature` header as `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>`
    with `secret`. A delivery that does not get a 2xx answer is retried with exponential
    back-off; see the README for the schedule and how to verify a signature.

    `url` must lead to public addresses: a literal or resolved address that is loopback,
    link-local, private, shared, multicast, reserved or unspecified (IPv4-mapped forms
    included) is refused with 422 (`type` `webhook_destination_blocked` on `url`) unless
    the operator opened its network (`DXPLAN_WEBHOOK_ALLOWED_NETWORKS`). Every delivery
    checks the resolved address again and posts nothing to a refused one."""
    webhook = await service.create_webhook(session, settings, caller, body)
    headers = {"ETag": service.webhook_etag(webhook), "Location": f"/api/v1/webhooks/{webhook.id}"}
    return model_response(201, WebhookRead.model_validate(webhook), headers)


@router.get(
    "/{webhook_id}",
    operation_id="webhooks-get",
    dependencies=[fields_of(WebhookRead)],
    summary="Get a webhook",
    responses=problems(401, 403, 404, 422),
)
async def get_webhook(
    response: Response, session: SessionDep, webhook_id: WebhookId, caller: Admin
) -> WebhookRead:
    """Administrators only. The ETag is the version to send in `If-Match`."""
    webhook = await service.get_webhook(session, webhook_id)
    response.headers["ETag"] = service.webhook_etag(webhook)
    return WebhookRead.model_validate(webhook)


@router.patch(
    "/{webhook_id}",
    operation_id="webhooks-update",
    summary="Change a webhook",
    responses=problems(400, 401, 403, 404, 412, 422, 428),
)
async def update_webhook(
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    webhook_id: WebhookId,
    body: WebhookUpdate,
    caller: Admin,
    if_match: IfMatch = None,
) -> WebhookRead:
    """Administrators only; needs `If-Match`. Pausing (`active: false`) holds new and
    pending deliveries until the webhook is active again. A new `url` is checked as at
    registration."""
    webhook = await service.update_webhook(session, settings, caller, webhook_id, body, if_match)
    response.headers["ETag"] = service.webhook_etag(webhook)
    return WebhookRead.model_validate(webhook)


@router.delete(
    "/{webhook_id}",
    operation_id="webhooks-delete",
    summary="Delete a webhook",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404, 412, 422, 428),
)
async def delete_webhook(
    session: SessionDep, webhook_id: WebhookId, caller: Admin, if_match: IfMatch = None
) -> None:
    """Administrators only; needs `If-Match`. Its deliveries and their log go with it."""
    await service.delete_webhook(session, caller, webhook_id, if_match)


@router.get(
    "/{webhook_id}/deliveries",
    operation_id="webhooks-deliveries-list",
    dependencies=[fields_of(DeliveryPage)],
    summary="List a webhook's deliveries",
    responses=problems(401, 403, 404, 422),
)
async def list_deliveries(
    session: SessionDep,
    webhook_id: WebhookId,
    caller: Admin,
    delivery_status: Annotated[
        DeliveryStatus | None, Query(alias="status", description="Only deliveries in this state.")
    ] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> DeliveryPage:
    """Administrators only. Newest first, with each one's state, attempts and last answer.
    A delivery of an event about a report the caller may not see now (one withdrawn back
    to draft) is left out, like everything about that report; it shows again once the
    report is submitted."""
    return await service.list_deliveries(
        session,
        caller,
        webhook_id,
        delivery_status,
        decode_cursor("deliveries", cursor, bound=2**62),
        limit,
    )


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    operation_id="webhooks-deliveries-get",
    summary="Get a delivery and its attempts",
    dependencies=[fields_of(DeliveryDetail)],
    responses=problems(401, 403, 404, 422),
)
async def get_delivery(
    session: SessionDep, webhook_id: WebhookId, delivery_id: DeliveryId, caller: Admin
) -> DeliveryDetail:
    """Administrators only. The body that was posted and every attempt: when, how long,
    the receiver's status code, or the network error (or `Blocked: …` for a destination
    the rules refuse). The receiver's answer itself is never kept. 404 for a delivery
    about a report the caller may not see now (one withdrawn back to draft)."""
    return await service.get_delivery(session, caller, webhook_id, delivery_id)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    operation_id="webhooks-deliveries-redeliver",
    summary="Send a delivery again",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryRead,
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def redeliver(
    request: Request,
    session: SessionDep,
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    caller: Admin,
) -> Response:
    """Administrators only. Queues a new delivery of the same event (same event id and
    body, freshly signed), due at once; the answer is that new delivery. 409 while the
    original is still pending or the webhook is paused. With an `Idempotency-Key`, a
    retried request does not queue a second copy."""
    delivery = await service.redeliver(session, caller, webhook_id, delivery_id)
    location = f"/api/v1/webhooks/{webhook_id}/deliveries/{delivery.id}"
    return model_response(202, delivery, {"Location": location})

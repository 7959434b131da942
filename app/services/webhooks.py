"""Webhooks: an outbox written with the change, delivered by a worker, signed, retried, logged.

`emit` adds one delivery per active subscribed webhook in the caller's transaction, so an
event exists exactly when its change committed. `deliver_due` claims due deliveries (a lease,
taken with SKIP LOCKED so any number of workers and hosts share the work), posts them with
an HMAC-SHA256 signature over the timestamp and body, and records each attempt; a failed
attempt n is retried after base * 2**(n-1) seconds (capped) until the attempts run out.
Only permitted destinations are ever posted to (services/webhook_destinations.py), and the
log keeps the receiver's status, not its answer: a webhook must not be a way to read
services the server can reach.
"""

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import BigInteger, ColumnElement, cast, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.config import Settings
from app.core.errors import ConflictError, NotFoundError
from app.core.http import check_if_match, etag
from app.core.outage import describe, is_database_unavailable
from app.core.pagination import SortKey
from app.models import Plan, Task, TaskUpdate, User, Webhook, WebhookAttempt, WebhookDelivery
from app.schemas.common import VIETNAM
from app.schemas.webhooks import (
    AttemptRead,
    DeliveryDetail,
    DeliveryPage,
    DeliveryRead,
    WebhookCreate,
    WebhookPage,
    WebhookRead,
    WebhookUpdate,
)
from app.services import audit
from app.services.common import fetch_page
from app.services.progress import derived_statuses
from app.services.visibility import report_visible
from app.services.webhook_destinations import (
    DestinationBlockedError,
    check_registration,
    checked_addresses,
    host_and_port,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Dxplan-Signature"
USER_AGENT = "dxplan-webhooks/1"
ERROR_LENGTH = 500  # the log's error column


def utcnow() -> datetime:
    return datetime.now(UTC)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t." + body>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds to wait after failed attempt number `attempts` (1-based)."""
    return float(
        min(
            settings.webhook_backoff_base_seconds * 2 ** (attempts - 1),
            settings.webhook_backoff_max_seconds,
        )
    )


# Writing events ---------------------------------------------------------------------------


async def emit(session: AsyncSession, event: str, data: dict[str, Any]) -> None:
    """Queue `event` for every active webhook subscribed to it, in the caller's transaction."""
    event_id = uuid.uuid4()
    payload = {
        "id": str(event_id),
        "type": event,
        "occurred_at": utcnow().astimezone(VIETNAM).isoformat(),
        "data": data,
    }
    await session.execute(
        text(
            "INSERT INTO webhook_deliveries"
            " (webhook_id, event_id, event, payload, status, attempts, next_attempt_at)"
            " SELECT id, CAST(:event_id AS uuid), CAST(:event AS text), CAST(:payload AS jsonb),"
            " 'pending', 0, now() FROM webhooks WHERE active AND CAST(:event AS text) = ANY(events)"
        ),
        {"event_id": str(event_id), "event": event, "payload": orjson.dumps(payload).decode()},
    )


def delivery_visible(caller: User) -> ColumnElement[bool]:
    """Deliveries the caller may read in the log: an event about a report (`data.report.id`
    or `data.report_id`) only while the caller may see that report through its own route;
    other events (periods) always. The worker posts regardless: this is the log's view."""
    payload = col(WebhookDelivery.payload)
    about = func.coalesce(
        payload[("data", "report", "id")].astext, payload[("data", "report_id")].astext
    )
    report_id = cast(about, BigInteger)
    return or_(report_id.is_(None), report_visible(caller, report_id))


async def _task_statuses(session: AsyncSession, task_ids: Sequence[int]) -> dict[int, str]:
    tasks = (await session.execute(select(Task).where(col(Task.id).in_(task_ids)))).scalars()
    return await derived_statuses(
        session, list(tasks), datetime.now(VIETNAM).date(), uncommitted=True
    )


async def report_task_ids(session: AsyncSession, report_id: int) -> list[int]:
    rows = await session.execute(
        select(col(TaskUpdate.task_id)).where(col(TaskUpdate.report_id) == report_id)
    )
    return list(rows.scalars())


class TaskStatusWatch:
    """Emits task.status_changed for the tasks whose derived public status a change moved:
    `await watch.start(...)` before the change, `await watch.finish(...)` after it."""

    def __init__(self) -> None:
        self.before: dict[int, str] = {}

    async def start(self, session: AsyncSession, task_ids: Sequence[int]) -> None:
        if not task_ids:
            return
        # Two reports on one task (its lead's and a coordinator's) approved at once would
        # each see the other's state as before: the task rows serialize them.
        await session.execute(
            select(col(Task.id))
            .where(col(Task.id).in_(task_ids))
            .order_by(col(Task.id))
            .with_for_update()
        )
        self.before = await _task_statuses(session, task_ids)

    async def finish(self, session: AsyncSession, report_id: int) -> None:
        if not self.before:
            return
        await session.flush()
        after = await _task_statuses(session, list(self.before))
        changed = sorted(t for t, status in after.items() if status != self.before[t])
        if not changed:
            return
        rows = await session.execute(
            select(col(Task.id), col(Task.code), col(Task.title), col(Plan.code))
            .join(Plan, col(Plan.id) == col(Task.plan_id))
            .where(col(Task.id).in_(changed))
            .order_by(col(Task.id))
        )
        for task_id, code, title, plan in rows:
            assert task_id is not None
            await emit(
                session,
                "task.status_changed",
                {
                    "plan": plan,
                    "task": {"code": code, "title": title},
                    "previous_status": self.before[task_id],
                    "status": after[task_id],
                    "report_id": report_id,
                },
            )


# Delivering -------------------------------------------------------------------------------


@dataclass
class _Claimed:
    id: int
    payload: dict[str, Any]
    event: str
    event_id: uuid.UUID
    attempts: int
    url: str
    secret: str
    lease: datetime  # the lease this worker holds: the result is recorded only under it


async def _claim(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime, lease: float, limit: int
) -> list[_Claimed]:
    lease_until = now + timedelta(seconds=lease)
    async with sessionmaker() as session, session.begin():
        rows = await session.execute(
            text(
                "UPDATE webhook_deliveries d SET locked_until = :lease_until FROM webhooks w"
                " WHERE w.id = d.webhook_id AND d.id IN ("
                "  SELECT d2.id FROM webhook_deliveries d2"
                "  JOIN webhooks w2 ON w2.id = d2.webhook_id AND w2.active"
                "  WHERE d2.status = 'pending' AND d2.next_attempt_at <= :now"
                "  AND (d2.locked_until IS NULL OR d2.locked_until <= :now)"
                "  ORDER BY d2.next_attempt_at, d2.id LIMIT :limit"
                "  FOR UPDATE OF d2 SKIP LOCKED)"
                " RETURNING d.id, d.payload, d.event, d.event_id, d.attempts, w.url, w.secret"
            ),
            {"now": now, "lease_until": lease_until, "limit": limit},
        )
        return [
            _Claimed(
                id=row.id,
                payload=row.payload,
                event=row.event,
                event_id=row.event_id,
                attempts=row.attempts,
                url=row.url,
                secret=row.secret,
                lease=lease_until,
            )
            for row in rows.all()
        ]


def _clean(value: str) -> str | None:
    """Text fit for a log column: no NUL (PostgreSQL refuses it), at most ERROR_LENGTH long."""
    return value.replace("\x00", "")[:ERROR_LENGTH] or None


async def _pinned_request(
    client: httpx.AsyncClient, settings: Settings, item: _Claimed, body: bytes
) -> httpx.Request:
    """The request, addressed to the first of the receiver's addresses once every one of
    them passed the destination rule (else DestinationBlockedError).

    The connection goes to that address, not to the name, so the name cannot be pointed
    elsewhere between the check and the connection; the Host header and, for https, the
    TLS server name (SNI) and certificate check stay on the registered name. `Connection:
    close` keeps a connection from serving a later attempt, made for another name, whose
    address and certificate were not the ones checked for it.
    """
    url = httpx.URL(item.url)
    host, port = host_and_port(url)
    addresses = await checked_addresses(host, port, settings.webhook_allowed_networks)
    headers = {
        "Host": url.netloc.decode("ascii"),
        "Connection": "close",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Dxplan-Event": item.event,
        "X-Dxplan-Event-Id": str(item.event_id),
        "X-Dxplan-Delivery": str(item.id),
        SIGNATURE_HEADER: sign(item.secret, int(time.time()), body),
    }
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    return client.build_request(
        "POST",
        url.copy_with(host=str(addresses[0])),
        content=body,
        headers=headers,
        extensions=extensions,
    )


async def _post(client: httpx.AsyncClient, settings: Settings, item: _Claimed) -> dict[str, Any]:
    """One attempt, bounded as a whole (name resolution included) by the webhook timeout
    (httpx's own timeout bounds each read, not the whole answer). The status decides; the
    answer's body is never read, kept or shown (it could be an internal service's data)."""
    seconds = settings.webhook_timeout_seconds
    body = orjson.dumps(item.payload)
    started = time.perf_counter()
    deadline = asyncio.get_running_loop().time() + seconds
    outcome: dict[str, Any] = {"status_code": None, "error": None}
    try:
        async with asyncio.timeout_at(deadline):
            request = await _pinned_request(client, settings, item, body)
            response = await client.send(request, stream=True)
    except TimeoutError:
        outcome["error"] = f"Timeout: no answer within {seconds:g} s"
    except DestinationBlockedError as exc:
        outcome["error"] = _clean(
            f"Blocked: {exc.host} is not a permitted destination (an internal address);"
            " see DXPLAN_WEBHOOK_ALLOWED_NETWORKS"
        )
    except (OSError, UnicodeError) as exc:  # the name did not resolve
        outcome["error"] = _clean(f"ConnectError: name resolution failed ({exc})")
    except httpx.HTTPError as exc:
        outcome["error"] = _clean(
            f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        )
    else:
        outcome["status_code"] = response.status_code
        if not 200 <= response.status_code < 300:
            outcome["error"] = f"HTTP {response.status_code}"
        await response.aclose()
    outcome["duration_ms"] = round((time.perf_counter() - started) * 1000)
    return outcome


async def _record(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    item: _Claimed,
    outcome: dict[str, Any],
    now: datetime,
) -> bool:
    """Record the attempt, only while this worker still holds the delivery's lease and the
    delivery still exists (its webhook may have been deleted meanwhile)."""
    attempt = item.attempts + 1
    ok = outcome["error"] is None
    values: dict[str, Any] = {
        "attempts": attempt,
        "last_status_code": outcome["status_code"],
        "last_error": outcome["error"],
        "locked_until": None,
    }
    if ok:
        values |= {"status": "delivered", "delivered_at": now}
    elif attempt >= settings.webhook_max_attempts:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = now + timedelta(seconds=backoff(settings, attempt))
    async with sessionmaker() as session, session.begin():
        held = await session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == item.id,
                col(WebhookDelivery.status) == "pending",
                col(WebhookDelivery.locked_until) == item.lease,
            )
            .values(**values)
            .returning(col(WebhookDelivery.id))
        )
        if held.first() is None:
            log.warning("webhook delivery %s: lease lost or delivery gone; not recorded", item.id)
            return False
        session.add(WebhookAttempt(delivery_id=item.id, attempt=attempt, at=now, **outcome))
    return ok


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    settings: Settings,
    *,
    now: datetime | None = None,
    limit: int = 20,
) -> tuple[int, int]:
    """One pass: post the deliveries due at `now` (default: the clock). Returns (attempted,
    delivered)."""
    at = now or utcnow()
    # The lease outlasts an attempt (bounded by the timeout) with a wide margin, so no other
    # worker takes a delivery while it is being posted.
    lease = 2 * settings.webhook_timeout_seconds + 30
    claimed = await _claim(sessionmaker, at, lease, limit)

    async def one(item: _Claimed) -> bool:
        outcome = await _post(client, settings, item)
        return await _record(sessionmaker, settings, item, outcome, now or utcnow())

    results = await asyncio.gather(*(one(item) for item in claimed), return_exceptions=True)
    for item, result in zip(claimed, results, strict=True):
        if isinstance(result, BaseException):
            log.error("webhook delivery %s failed to run", item.id, exc_info=result)
    return len(claimed), sum(result is True for result in results)


def http_client() -> httpx.AsyncClient:
    # Redirects are not followed: a receiver that moved must be registered again.
    return httpx.AsyncClient(follow_redirects=False, trust_env=False)


async def run_worker(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, stop: asyncio.Event
) -> None:
    """The in-process delivery loop: a pass, then a pause when nothing was due."""
    database_down = False  # an outage is logged once, not with a traceback every poll
    async with http_client() as client:
        while not stop.is_set():
            attempted = 0
            try:
                attempted, _ = await deliver_due(sessionmaker, client, settings)
                database_down = False
            except Exception as exc:  # a bad pass must not end the loop; the next one retries
                if not is_database_unavailable(exc):
                    log.exception("webhook delivery pass failed")
                elif not database_down:
                    database_down = True
                    log.warning("webhook delivery paused: database unavailable (%s)", describe(exc))
            if attempted == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.webhook_poll_seconds)


# Administration ---------------------------------------------------------------------------


def webhook_etag(webhook: Webhook) -> str:
    return etag("webhook", webhook.id or 0, webhook.version)


async def list_webhooks(session: AsyncSession, after: SortKey | None, limit: int) -> WebhookPage:
    rows, total, next_cursor = await fetch_page(
        session,
        select(Webhook),
        sort_column=col(Webhook.id),
        id_column=col(Webhook.id),
        after=after,
        limit=limit,
        list_name="webhooks",
    )
    items = [WebhookRead.model_validate(row[0]) for row in rows]
    return WebhookPage(items=items, total=total, next_cursor=next_cursor)


async def get_webhook(session: AsyncSession, webhook_id: int, *, lock: bool = False) -> Webhook:
    stmt = select(Webhook).where(col(Webhook.id) == webhook_id)
    if lock:
        stmt = stmt.with_for_update()
    webhook = (await session.execute(stmt)).scalar_one_or_none()
    if webhook is None:
        raise NotFoundError("webhook", webhook_id)
    return webhook


def _snapshot(webhook: Webhook) -> dict[str, Any]:
    return {k: v for k, v in (audit.snapshot(webhook) or {}).items() if k != "secret"}


async def create_webhook(
    session: AsyncSession, settings: Settings, caller: User, body: WebhookCreate
) -> Webhook:
    await check_registration(str(body.url), settings.webhook_allowed_networks)
    webhook = Webhook(
        url=str(body.url),
        secret=body.secret,
        events=list(body.events),
        description=body.description,
        active=body.active,
        created_by_id=caller.id,
    )
    session.add(webhook)
    await session.flush()
    await session.refresh(webhook)
    await audit.record(
        session, caller, "webhook.create", "webhook", webhook.id, after=_snapshot(webhook)
    )
    return webhook


async def update_webhook(
    session: AsyncSession,
    settings: Settings,
    caller: User,
    webhook_id: int,
    body: WebhookUpdate,
    if_match: str | None,
) -> Webhook:
    # Checked before the row is locked: the check may wait on name resolution.
    if body.url is not None:
        await check_registration(str(body.url), settings.webhook_allowed_networks)
    webhook = await get_webhook(session, webhook_id, lock=True)
    check_if_match(if_match, webhook_etag(webhook))
    before = _snapshot(webhook)
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(webhook, field, str(value) if field == "url" else value)
    webhook.version += 1
    await session.flush()
    await session.refresh(webhook)
    await audit.record(
        session,
        caller,
        "webhook.update",
        "webhook",
        webhook.id,
        before=before,
        after=_snapshot(webhook),
    )
    return webhook


async def delete_webhook(
    session: AsyncSession, caller: User, webhook_id: int, if_match: str | None
) -> None:
    webhook = await get_webhook(session, webhook_id, lock=True)
    check_if_match(if_match, webhook_etag(webhook))
    before = _snapshot(webhook)
    await session.delete(webhook)
    await session.flush()
    await audit.record(session, caller, "webhook.delete", "webhook", webhook_id, before=before)


def _delivery_read(delivery: WebhookDelivery) -> DeliveryRead:
    read = DeliveryRead.model_validate(delivery)
    if delivery.status != "pending":
        read.next_attempt_at = None
    return read


async def list_deliveries(
    session: AsyncSession,
    caller: User,
    webhook_id: int,
    status: str | None,
    after: SortKey | None,
    limit: int,
) -> DeliveryPage:
    await get_webhook(session, webhook_id)
    stmt = select(WebhookDelivery).where(
        col(WebhookDelivery.webhook_id) == webhook_id, delivery_visible(caller)
    )
    if status is not None:
        stmt = stmt.where(col(WebhookDelivery.status) == status)
    rows, total, next_cursor = await fetch_page(
        session,
        stmt,
        sort_column=col(WebhookDelivery.id),
        id_column=col(WebhookDelivery.id),
        after=after,
        limit=limit,
        list_name="deliveries",
        descending=True,
        grows=True,
    )
    return DeliveryPage(
        items=[_delivery_read(row[0]) for row in rows],
        total=total,
        total_exact=total.exact,
        next_cursor=next_cursor,
    )


async def _load_delivery(
    session: AsyncSession, caller: User, webhook_id: int, delivery_id: int
) -> WebhookDelivery:
    delivery = (
        await session.execute(
            select(WebhookDelivery).where(
                col(WebhookDelivery.id) == delivery_id,
                col(WebhookDelivery.webhook_id) == webhook_id,
                delivery_visible(caller),
            )
        )
    ).scalar_one_or_none()
    if delivery is None:
        raise NotFoundError("delivery", delivery_id)
    return delivery


async def get_delivery(
    session: AsyncSession, caller: User, webhook_id: int, delivery_id: int
) -> DeliveryDetail:
    delivery = await _load_delivery(session, caller, webhook_id, delivery_id)
    attempts = (
        await session.execute(
            select(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id) == delivery_id)
            .order_by(col(WebhookAttempt.attempt))
        )
    ).scalars()
    return DeliveryDetail(
        **_delivery_read(delivery).model_dump(),
        payload=delivery.payload,
        attempt_log=[AttemptRead.model_validate(a) for a in attempts],
    )


async def redeliver(
    session: AsyncSession, caller: User, webhook_id: int, delivery_id: int
) -> DeliveryRead:
    """A new delivery of the same event (same event id and body), due at once."""
    webhook = await get_webhook(session, webhook_id)
    original = await _load_delivery(session, caller, webhook_id, delivery_id)
    if original.status == "pending":
        raise ConflictError("conflict.delivery_pending")
    if not webhook.active:
        raise ConflictError("conflict.webhook_inactive")
    copy = WebhookDelivery(
        webhook_id=webhook_id,
        event_id=original.event_id,
        event=original.event,
        payload=original.payload,
        next_attempt_at=utcnow(),
        redelivery_of_id=original.id,
    )
    session.add(copy)
    await session.flush()
    await session.refresh(copy)
    await audit.record(
        session,
        caller,
        "webhook.redeliver",
        "webhook_delivery",
        copy.id,
        after={"webhook_id": webhook_id, "redelivery_of_id": original.id, "event": copy.event},
    )
    return _delivery_read(copy)

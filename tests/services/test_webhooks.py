"""Webhooks through HTTP, delivered to real receivers on 127.0.0.1: registration, the
outbox written with the change, signatures, retries with back-off, the log, redelivery."""

import asyncio
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.core.config import Settings
from app.main import create_app
from app.services.webhooks import deliver_due, http_client
from tests import db
from tests.factories import Account, signed_in
from tests.services.test_reporting import etag_of, new_period

API = "/api/v1"
ALL_EVENTS = [
    "report.submitted",
    "report.approved",
    "report.returned",
    "period.opened",
    "task.status_changed",
]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """An HTTP receiver on 127.0.0.1 answering with the scripted statuses, then 200."""

    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    answer_body: bytes | None = None  # instead of the usual one
    trickle: float = 0.0  # seconds between the bytes of the answer
    delay: float = 0.0  # seconds before answering at all

    def answer(self) -> int:
        return self.script.pop(0) if self.script else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                state.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = state.answer()
            payload = b'{"ok": true}' if status < 300 else b"temporarily down"
            payload = state.answer_body if state.answer_body is not None else payload
            time.sleep(state.delay)
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            for index in range(len(payload)):
                try:
                    self.wfile.write(payload[index : index + 1])
                    self.wfile.flush()
                except OSError:
                    return  # the client gave up
                time.sleep(state.trickle)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/dxplan"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
async def team(client: httpx.AsyncClient, sessionmaker: Any) -> dict[str, Account]:
    """Staff of Sở NN&PTNT (lead of task E.7, which no other test reports on)."""
    return {
        "officer": await signed_in(client, sessionmaker, role="officer", agency="SNNPTNT"),
        "lead": await signed_in(client, sessionmaker, role="agency_lead", agency="SNNPTNT"),
        "reviewer": await signed_in(client, sessionmaker, role="reviewer", agency="STTTT"),
        "admin": await signed_in(client, sessionmaker, role="admin", agency="STTTT"),
    }


@pytest.fixture
async def hook(
    client: httpx.AsyncClient, sessionmaker: Any, team: dict[str, Account], receiver: Receiver
) -> AsyncIterator[dict[str, Any]]:
    """A webhook for every event, pointing at the receiver; deleted afterwards. Other tests
    on this database leave webhooks (hundreds, from the access matrix and the idempotency
    walk) with deliveries queued for every event since: they are paused and their queue
    dropped, so that a delivery pass here delivers this test's events only."""
    async with sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE webhooks SET active = false WHERE active"))
        await session.execute(
            text("UPDATE webhook_deliveries SET status = 'failed' WHERE status = 'pending'")
        )
    secret = secrets.token_hex(20)
    response = await client.post(
        f"{API}/webhooks",
        headers=team["admin"].headers,
        json={"url": receiver.url, "secret": secret, "events": ALL_EVENTS},
    )
    assert response.status_code == 201, response.text
    made = {**response.json(), "secret": secret}
    yield made
    url = f"{API}/webhooks/{made['id']}"
    current = await client.get(url, headers=team["admin"].headers)
    if current.status_code == 200:
        headers = {**team["admin"].headers, "If-Match": current.headers["etag"]}
        assert (await client.delete(url, headers=headers)).status_code == 204


async def change_hook(
    client: httpx.AsyncClient, admin: Account, webhook_id: int, body: dict[str, Any]
) -> httpx.Response:
    """PATCH a webhook with its current ETag; the change must be accepted."""
    url = f"{API}/webhooks/{webhook_id}"
    etag = (await client.get(url, headers=admin.headers)).headers["etag"]
    response = await client.patch(url, headers={**admin.headers, "If-Match": etag}, json=body)
    assert response.status_code == 200, response.text
    return response


async def delete_hook(client: httpx.AsyncClient, admin: Account, webhook_id: int) -> None:
    url = f"{API}/webhooks/{webhook_id}"
    etag = (await client.get(url, headers=admin.headers)).headers["etag"]
    response = await client.delete(url, headers={**admin.headers, "If-Match": etag})
    assert response.status_code == 204, response.text


def app_settings(client: httpx.AsyncClient, **changes: Any) -> Settings:
    app: Any = client._transport.app  # type: ignore[attr-defined]
    settings: Settings = app.state.settings
    return settings.model_copy(update=changes)


async def drain(
    client: httpx.AsyncClient, sessionmaker: Any, now: datetime | None = None, **changes: Any
) -> None:
    """Delivery passes at `now` until nothing is due."""
    settings = app_settings(client, **changes)
    async with http_client() as http:
        for _ in range(50):
            attempted, _ = await deliver_due(sessionmaker, http, settings, now=now)
            if attempted == 0:
                return
    raise AssertionError("deliveries never ran out")


async def deliveries(
    client: httpx.AsyncClient, admin: Account, webhook_id: int
) -> list[dict[str, Any]]:
    response = await client.get(
        f"{API}/webhooks/{webhook_id}/deliveries", headers=admin.headers, params={"limit": 200}
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def verify(secret: str, received: Received) -> None:
    """What a receiver does: recompute the HMAC over "<t>." + body and compare."""
    parts = dict(part.split("=", 1) for part in received.headers["x-dxplan-signature"].split(","))
    signed = parts["t"].encode() + b"." + received.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert abs(int(parts["t"]) - time.time()) < 120


async def report_with_task(
    client: httpx.AsyncClient, team: dict[str, Account], period_id: int
) -> str:
    """A draft report of Sở NN&PTNT saying task E.7 is completed; returns its URL."""
    created = await client.post(
        f"{API}/reports", headers=team["officer"].headers, json={"period_id": period_id}
    )
    assert created.status_code == 201, created.text
    url = f"{API}/reports/{created.json()['id']}"
    item = await client.post(
        f"{url}/task-updates",
        headers=team["officer"].headers,
        json={
            "task": "E.7",
            "status": "completed",
            "percent_complete": 100,
            "public_summary": "Đã đưa nền tảng nông nghiệp số vào vận hành.",
        },
    )
    assert item.status_code == 201, item.text
    return url


async def move(client: httpx.AsyncClient, url: str, action: str, who: Account, **body: Any) -> Any:
    headers = {**who.headers, "If-Match": await etag_of(client, url, who)}
    response = await client.post(f"{url}/{action}", headers=headers, json=body or None)
    assert response.status_code == 200, response.text
    return response.json()


async def test_register_read_change_delete(
    client: httpx.AsyncClient, team: dict[str, Account], hook: dict[str, Any], receiver: Receiver
) -> None:
    admin = team["admin"]
    url = f"{API}/webhooks/{hook['id']}"
    assert hook["url"] == receiver.url
    assert hook["events"] == ALL_EVENTS
    assert (hook["active"], hook["version"], hook["description"]) == (True, 1, "")
    assert "secret" not in (await client.get(url, headers=admin.headers)).json()
    listed = await client.get(f"{API}/webhooks", headers=admin.headers, params={"limit": 200})
    assert hook["id"] in [w["id"] for w in listed.json()["items"]]
    assert all("secret" not in w for w in listed.json()["items"])

    change = {"events": ["report.approved", "report.approved"], "description": "IOC"}
    missing = await client.patch(url, headers=admin.headers, json=change)
    assert missing.status_code == 428
    stale = await client.patch(
        url, headers={**admin.headers, "If-Match": '"webhook-0-v1"'}, json=change
    )
    assert stale.status_code == 412
    etag = (await client.get(url, headers=admin.headers)).headers["etag"]
    assert etag.startswith(f'"webhook-{hook["id"]}-v1-')
    changed = await client.patch(url, headers={**admin.headers, "If-Match": etag}, json=change)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["events"], changed.json()["description"]) == (["report.approved"], "IOC")
    assert changed.headers["etag"] == f'"webhook-{hook["id"]}-v2"'

    audit = await client.get(
        f"{API}/audit", headers=admin.headers, params={"entity": "webhook", "entity_id": hook["id"]}
    )
    assert audit.status_code == 200, audit.text
    entries = audit.json()["items"]
    assert sorted(e["action"] for e in entries) == ["webhook.create", "webhook.update"]
    assert all("secret" not in (e["after"] or {}) for e in entries)

    gone = await client.delete(url, headers={**admin.headers, "If-Match": changed.headers["etag"]})
    assert gone.status_code == 204
    assert (await client.get(url, headers=admin.headers)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://127.0.0.1/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"secret": "short"}, "secret"),
        ({"events": []}, "events"),
        ({"events": ["report.deleted"]}, "events"),
        ({"id": 7}, "id"),
    ],
)
async def test_bad_registrations_are_refused(
    client: httpx.AsyncClient, team: dict[str, Account], body: dict[str, Any], field: str
) -> None:
    admin = team["admin"]
    before = (await client.get(f"{API}/webhooks", headers=admin.headers)).json()["total"]
    valid = {"url": "https://ioc.haiduong.gov.vn/hook", "secret": "s" * 16, "events": ALL_EVENTS}
    response = await client.post(f"{API}/webhooks", headers=admin.headers, json={**valid, **body})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]][:1] == [field]
    after = (await client.get(f"{API}/webhooks", headers=admin.headers)).json()["total"]
    assert after == before


async def test_events_are_signed_and_delivered(
    client: httpx.AsyncClient,
    sessionmaker: Any,
    team: dict[str, Account],
    hook: dict[str, Any],
    receiver: Receiver,
) -> None:
    period = await new_period(client, team["reviewer"], ["SNNPTNT"])
    url = await report_with_task(client, team, period["id"])
    await move(client, url, "submit", team["lead"])
    await move(client, url, "approve", team["reviewer"])
    await drain(client, sessionmaker)

    got = sorted(receiver.received, key=lambda r: int(r.headers["x-dxplan-delivery"]))
    assert [r.headers["x-dxplan-event"] for r in got] == [
        "period.opened",
        "report.submitted",
        "report.approved",
        "task.status_changed",
    ]
    for r in got:
        verify(hook["secret"], r)
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-dxplan-event-id"] == r.json["id"]
        assert r.json["type"] == r.headers["x-dxplan-event"]
        assert datetime.fromisoformat(r.json["occurred_at"]).utcoffset() == timedelta(hours=7)
    opened, submitted, approved, status = (r.json["data"] for r in got)
    assert opened["period"]["id"] == period["id"]
    assert (opened["period"]["kind"], opened["period"]["due_date"]) == ("ad_hoc", "2026-12-01")
    report_id = int(url.rsplit("/", 1)[1])
    assert submitted["report"] == {
        "id": report_id,
        "agency": "SNNPTNT",
        "period_id": period["id"],
        "period_code": period["code"],
        "state": "submitted",
        "version": 3,  # created 1, its task update 2, submitted 3
    }
    assert (approved["report"]["state"], approved["report"]["version"]) == ("approved", 4)
    # E.7 (2021-2025) had no approved progress: overdue by 29/11/2026; now completed.
    assert (opened["plan"], submitted["plan"], approved["plan"]) == ("2358/KH-UBND",) * 3
    assert status == {
        "plan": "2358/KH-UBND",
        "task": {"code": "E.7", "title": status["task"]["title"]},
        "previous_status": "overdue",
        "status": "completed",
        "report_id": report_id,
    }
    assert status["task"]["title"].startswith("Chuyển đổi số")

    log = await deliveries(client, team["admin"], hook["id"])
    assert [(d["event"], d["status"], d["attempts"]) for d in log] == [
        ("task.status_changed", "delivered", 1),
        ("report.approved", "delivered", 1),
        ("report.submitted", "delivered", 1),
        ("period.opened", "delivered", 1),
    ]
    assert all(d["next_attempt_at"] is None and d["last_status_code"] == 200 for d in log)

    # Sending the item back takes it out of the public record: E.7 is overdue again.
    items = await client.get(f"{url}/task-updates", headers=team["reviewer"].headers)
    [item] = items.json()["items"]
    item_url = f"{url}/task-updates/{item['id']}"
    etag = f'"task_update-{item["id"]}-v{item["version"]}"'
    sent_back = await client.post(
        f"{item_url}/return",
        headers={**team["reviewer"].headers, "If-Match": etag},
        json={"comment": "Cần minh chứng."},
    )
    assert sent_back.status_code == 200, sent_back.text
    await drain(client, sessionmaker)
    last = receiver.received[-1]
    assert last.json["type"] == "task.status_changed"
    assert (last.json["data"]["previous_status"], last.json["data"]["status"]) == (
        "completed",
        "overdue",
    )
    assert len(receiver.received) == 5


async def test_returned_report_and_unsubscribed_events(
    client: httpx.AsyncClient,
    sessionmaker: Any,
    team: dict[str, Account],
    hook: dict[str, Any],
    receiver: Receiver,
) -> None:
    admin = team["admin"]
    await change_hook(client, admin, hook["id"], {"events": ["report.returned"]})
    period = await new_period(client, team["reviewer"], ["SNNPTNT"])
    url = await report_with_task(client, team, period["id"])
    await move(client, url, "submit", team["lead"])
    await move(client, url, "return", team["reviewer"], comment="Thiếu số liệu quý IV.")
    await drain(client, sessionmaker)
    assert [r.json["type"] for r in receiver.received] == ["report.returned"]
    data = receiver.received[0].json["data"]
    assert (data["report"]["state"], data["comment"]) == ("returned", "Thiếu số liệu quý IV.")


async def test_a_rejected_write_queues_nothing(
    client: httpx.AsyncClient, team: dict[str, Account], hook: dict[str, Any]
) -> None:
    period = await new_period(client, team["reviewer"], ["SNNPTNT"])
    url = await report_with_task(client, team, period["id"])
    before = await deliveries(client, team["admin"], hook["id"])
    stale = await client.post(
        f"{url}/submit", headers={**team["lead"].headers, "If-Match": '"report-0-v9"'}
    )
    assert stale.status_code == 412
    missing = await client.post(f"{url}/submit", headers=team["lead"].headers)
    assert missing.status_code == 428
    refused = await client.post(  # an officer may not submit
        f"{url}/submit",
        headers={
            **team["officer"].headers,
            "If-Match": await etag_of(client, url, team["officer"]),
        },
    )
    assert refused.status_code == 403
    assert await deliveries(client, team["admin"], hook["id"]) == before


async def test_failing_receiver_is_retried_with_backoff_then_redelivered(
    client: httpx.AsyncClient,
    sessionmaker: Any,
    team: dict[str, Account],
    hook: dict[str, Any],
    receiver: Receiver,
) -> None:
    admin = team["admin"]
    receiver.script = [500, 503]  # the first two attempts fail
    period = await new_period(client, team["reviewer"], ["SNNPTNT"])
    t0 = datetime.now(UTC) + timedelta(seconds=1)
    base = {"webhook_backoff_base_seconds": 30.0, "webhook_max_attempts": 5}

    await drain(client, sessionmaker, t0, **base)
    [pending] = await deliveries(client, admin, hook["id"])
    assert (pending["event"], pending["status"], pending["attempts"]) == (
        "period.opened",
        "pending",
        1,
    )
    assert (pending["last_status_code"], pending["last_error"]) == (500, "HTTP 500")
    due = datetime.fromisoformat(pending["next_attempt_at"])
    assert due == t0 + timedelta(seconds=30)  # base * 2**0

    await drain(client, sessionmaker, t0 + timedelta(seconds=29), **base)
    assert len(receiver.received) == 1  # not due yet
    await drain(client, sessionmaker, t0 + timedelta(seconds=30), **base)
    assert len(receiver.received) == 2
    [pending] = await deliveries(client, admin, hook["id"])
    assert datetime.fromisoformat(pending["next_attempt_at"]) == t0 + timedelta(seconds=90)
    await drain(client, sessionmaker, t0 + timedelta(seconds=89), **base)
    assert len(receiver.received) == 2
    await drain(client, sessionmaker, t0 + timedelta(seconds=90), **base)
    assert len(receiver.received) == 3

    detail_url = f"{API}/webhooks/{hook['id']}/deliveries/{pending['id']}"
    detail = (await client.get(detail_url, headers=admin.headers)).json()
    assert (detail["status"], detail["attempts"], detail["next_attempt_at"]) == (
        "delivered",
        3,
        None,
    )
    assert [(a["attempt"], a["status_code"], a["error"]) for a in detail["attempt_log"]] == [
        (1, 500, "HTTP 500"),
        (2, 503, "HTTP 503"),
        (3, 200, None),
    ]
    # The receiver's answers are not kept: the log is no window on what the server reaches.
    assert [a["response_excerpt"] for a in detail["attempt_log"]] == [None, None, None]
    assert detail["payload"]["data"]["period"]["id"] == period["id"]
    # Every attempt carries the same event and delivery ids: receivers can drop repeats.
    assert {r.headers["x-dxplan-event-id"] for r in receiver.received} == {detail["payload"]["id"]}

    # Redelivery: the same event (id and body) in a new delivery, once per Idempotency-Key.
    redeliver = f"{detail_url}/redeliver"
    key = {"Idempotency-Key": secrets.token_hex(8)}
    first = await client.post(redeliver, headers={**admin.headers, **key})
    again = await client.post(redeliver, headers={**admin.headers, **key})
    assert first.status_code == again.status_code == 202, first.text
    assert first.json() == again.json()
    copy = first.json()
    assert (copy["status"], copy["attempts"], copy["redelivery_of_id"]) == (
        "pending",
        0,
        pending["id"],
    )
    assert copy["event_id"] == detail["event_id"]
    assert first.headers["location"] == f"{API}/webhooks/{hook['id']}/deliveries/{copy['id']}"
    busy = await client.post(
        f"{API}/webhooks/{hook['id']}/deliveries/{copy['id']}/redeliver", headers=admin.headers
    )
    assert busy.status_code == 409
    assert busy.json()["code"] == "conflict"
    await drain(client, sessionmaker)
    assert len(receiver.received) == 4
    assert receiver.received[-1].json == receiver.received[0].json
    assert receiver.received[-1].headers["x-dxplan-delivery"] == str(copy["id"])
    assert len(await deliveries(client, admin, hook["id"])) == 2


async def test_attempts_run_out_and_unreachable_receivers(
    client: httpx.AsyncClient,
    sessionmaker: Any,
    team: dict[str, Account],
    hook: dict[str, Any],
    receiver: Receiver,
) -> None:
    admin = team["admin"]
    receiver.script = [500, 500, 500]
    await new_period(client, team["reviewer"], ["SNNPTNT"])
    t0 = datetime.now(UTC) + timedelta(seconds=1)
    limits = {"webhook_backoff_base_seconds": 10.0, "webhook_max_attempts": 2}
    await drain(client, sessionmaker, t0, **limits)
    await drain(client, sessionmaker, t0 + timedelta(seconds=10), **limits)
    await drain(client, sessionmaker, t0 + timedelta(days=1), **limits)
    [failed] = await deliveries(client, admin, hook["id"])
    assert (failed["status"], failed["attempts"], failed["next_attempt_at"]) == ("failed", 2, None)
    assert len(receiver.received) == 2
    only_failed = await client.get(
        f"{API}/webhooks/{hook['id']}/deliveries",
        headers=admin.headers,
        params={"status": "failed"},
    )
    assert [d["id"] for d in only_failed.json()["items"]] == [failed["id"]]

    # A receiver that is not there: the network error is logged as the attempt's error.
    hook_url = f"{API}/webhooks/{hook['id']}"
    await change_hook(client, admin, hook["id"], {"url": "http://127.0.0.1:9/x"})
    redo = await client.post(
        f"{hook_url}/deliveries/{failed['id']}/redeliver", headers=admin.headers
    )
    assert redo.status_code == 202
    await drain(client, sessionmaker)
    detail = (
        await client.get(f"{hook_url}/deliveries/{redo.json()['id']}", headers=admin.headers)
    ).json()
    [attempt] = detail["attempt_log"]
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("ConnectError")
    assert detail["status"] == "pending"


async def test_paused_webhooks_hold_their_deliveries(
    client: httpx.AsyncClient,
    sessionmaker: Any,
    team: dict[str, Account],
    hook: dict[str, Any],
    receiver: Receiver,
) -> None:
    admin = team["admin"]
    hook_url = f"{API}/webhooks/{hook['id']}"
    await new_period(client, team["reviewer"], ["SNNPTNT"])  # queued while active
    paused = await change_hook(client, admin, hook["id"], {"active": False})
    await new_period(client, team["reviewer"], ["SNNPTNT"])  # not queued: paused
    await drain(client, sessionmaker)
    assert receiver.received == []
    [held] = await deliveries(client, admin, hook["id"])
    assert (held["status"], held["attempts"]) == ("pending", 0)
    resumed = await client.patch(
        hook_url,
        headers={**admin.headers, "If-Match": paused.headers["etag"]},
        json={"active": True},
    )
    assert resumed.status_code == 200
    await drain(client, sessionmaker)
    assert [r.json["type"] for r in receiver.received] == ["period.opened"]


async def test_the_server_worker_delivers_in_the_background(
    database_url: str, team: dict[str, Account], receiver: Receiver
) -> None:
    """The production path: the app's own worker loop, a receiver that fails twice."""
    settings = db.settings_for(database_url).model_copy(
        update={
            "webhook_worker": True,
            "webhook_poll_seconds": 0.05,
            "webhook_backoff_base_seconds": 0.1,
        }
    )
    app = create_app(settings)
    receiver.script = [502, 502]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as live:
            secret = secrets.token_hex(16)
            made = await live.post(
                f"{API}/webhooks",
                headers=team["admin"].headers,
                json={"url": receiver.url, "secret": secret, "events": ["period.opened"]},
            )
            assert made.status_code == 201, made.text
            period = await new_period(live, team["reviewer"], ["SNNPTNT"])
            for _ in range(200):
                if len(receiver.received) >= 3:
                    break
                await asyncio.sleep(0.05)
            assert len(receiver.received) == 3
            verify(secret, receiver.received[-1])
            assert receiver.received[-1].json["data"]["period"]["id"] == period["id"]
            hook_url = f"{API}/webhooks/{made.json()['id']}"
            for _ in range(100):  # the third attempt's result is recorded after the answer
                [delivery] = await deliveries(live, team["admin"], made.json()["id"])
                if delivery["status"] == "delivered":
                    break
                await asyncio.sleep(0.05)
            assert (delivery["status"], delivery["attempts"]) == ("delivered", 3)
            etag = (await live.get(hook_url, headers=team["admin"].headers)).headers["etag"]
            await live.delete(hook_url, headers={**team["admin"].headers, "If-Match": etag})


def test_cli_posts_what_is_due(
    database_url: str,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`dxplan webhooks deliver`, for deployments that deliver from cron."""
    from app.cli import main
    from app.core.config import get_settings
    from app.core.db import make_engine, make_sessionmaker
    from app.models import Webhook
    from app.services.webhooks import emit

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DXPLAN_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")  # the receiver
    get_settings.cache_clear()
    secret = secrets.token_hex(16)

    async def queue() -> None:
        engine = make_engine(db.settings_for(database_url), null_pool=True)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                # Other tests' leftovers out of the way, so the figures printed are ours.
                await session.execute(text("UPDATE webhooks SET active = false"))
                session.add(
                    Webhook(
                        url=receiver.url, secret=secret, events=["report.approved"], active=True
                    )
                )
                await session.flush()
                await emit(session, "report.approved", {"report": {"id": 0}})
        finally:
            await engine.dispose()

    try:
        asyncio.run(queue())
        main(["webhooks", "deliver"])
        assert json.loads(capsys.readouterr().out) == {"attempted": 1, "delivered": 1}
    finally:
        get_settings.cache_clear()
    [got] = receiver.received
    verify(secret, got)
    assert (got.json["type"], got.json["data"]) == ("report.approved", {"report": {"id": 0}})


async def test_an_answer_is_bounded_in_time_and_logged_safely(
    client: httpx.AsyncClient,
    sessionmaker: Any,
    team: dict[str, Account],
    hook: dict[str, Any],
    receiver: Receiver,
) -> None:
    admin = team["admin"]
    # Bounds far from both outcomes (an answer waited for would take 8 s here, a trickled
    # body read to its end 34 s), so a slow or loaded machine cannot fail the test.
    receiver.delay = 8.0  # no answer within the 1 s allowed
    await new_period(client, team["reviewer"], ["SNNPTNT"])
    started = time.perf_counter()
    await drain(client, sessionmaker, webhook_timeout_seconds=1.0)
    assert time.perf_counter() - started < 6
    [slow] = await deliveries(client, admin, hook["id"])
    assert (slow["status"], slow["attempts"], slow["last_status_code"]) == ("pending", 1, None)
    assert slow["last_error"] == "Timeout: no answer within 1 s"

    # 200 at once, then the body one byte a second: the status decides, and the body is
    # neither waited for nor kept.
    receiver.delay = 0.0
    receiver.answer_body = b"ok\x00\x00" + b"." * 30
    receiver.trickle = 1.0
    started = time.perf_counter()
    await drain(
        client, sessionmaker, datetime.now(UTC) + timedelta(minutes=5), webhook_timeout_seconds=1.0
    )
    assert time.perf_counter() - started < 12
    detail = (
        await client.get(
            f"{API}/webhooks/{hook['id']}/deliveries/{slow['id']}", headers=admin.headers
        )
    ).json()
    assert (detail["status"], detail["attempts"], detail["last_status_code"]) == (
        "delivered",
        2,
        200,
    )
    assert detail["attempt_log"][-1]["response_excerpt"] is None


async def test_a_result_is_recorded_only_under_the_lease(
    client: httpx.AsyncClient,
    sessionmaker: Any,
    team: dict[str, Account],
    hook: dict[str, Any],
) -> None:
    """A worker that lost its lease (another took the delivery over) or whose delivery went
    with its webhook records nothing and does not fail."""
    from app.services import webhooks as service

    admin = team["admin"]
    await new_period(client, team["reviewer"], ["SNNPTNT"])
    settings = app_settings(client)
    now = datetime.now(UTC) + timedelta(seconds=1)
    claimed = [c for c in await service._claim(sessionmaker, now, 60, 100) if c.url == hook["url"]]
    [mine] = claimed
    assert await service._claim(sessionmaker, now, 60, 100) == []  # leased: nobody else
    # Later, after the lease ran out, another worker takes it over.
    [theirs] = [
        c
        for c in await service._claim(sessionmaker, now + timedelta(seconds=61), 60, 100)
        if c.id == mine.id
    ]
    outcome = {"status_code": 500, "error": "HTTP 500", "response_excerpt": None, "duration_ms": 1}
    assert await service._record(sessionmaker, settings, mine, outcome, now) is False
    done = {"status_code": 200, "error": None, "response_excerpt": None, "duration_ms": 1}
    assert await service._record(sessionmaker, settings, theirs, done, now) is True
    [delivery] = await deliveries(client, admin, hook["id"])
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)

    # A delivery whose webhook is deleted while it is in flight.
    await new_period(client, team["reviewer"], ["SNNPTNT"])
    [flying] = [c for c in await service._claim(sessionmaker, now, 60, 100) if c.url == hook["url"]]
    await delete_hook(client, admin, hook["id"])
    assert await service._record(sessionmaker, settings, flying, done, now) is False


async def test_a_secret_is_used_exactly_as_given(
    client: httpx.AsyncClient, sessionmaker: Any, team: dict[str, Account], receiver: Receiver
) -> None:
    secret = "  khoá bí mật có dấu cách  "
    made = await client.post(
        f"{API}/webhooks",
        headers=team["admin"].headers,
        json={"url": receiver.url, "secret": secret, "events": ["period.opened"]},
    )
    assert made.status_code == 201, made.text
    await new_period(client, team["reviewer"], ["SNNPTNT"])
    await drain(client, sessionmaker)
    [got] = receiver.received
    verify(secret, got)
    await delete_hook(client, team["admin"], made.json()["id"])

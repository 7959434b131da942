"""Idempotency-Key on every POST (issue 10, item 3), through HTTP.

The walk takes every POST operation from the app's OpenAPI document, so a new POST is
covered as soon as it exists: it performs each twice with one key, as a caller allowed to,
and checks that the second answer is the first (status, body, with `Idempotent-Replayed:
true`) and that the repeat changed nothing in the database (a fingerprint of every table but
the keys' own), then that the same key with another request is 422. An operation it does not
know how to drive fails the walk by name: give it a driver below.
"""

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import text

from app.core.idempotency import purge_expired
from app.services.webhooks import deliver_due, http_client
from tests.evidence import png
from tests.factories import PASSWORD, Account, create_user, sign_in, signed_in

API = "/api/v1"
KINDS = {
    "task-updates": {
        "task": "E.1",
        "status": "in_progress",
        "percent_complete": 60,
        "public_summary": "Đã triển khai hồ sơ sức khỏe điện tử.",
    },
    "indicator-values": {
        "target": "CT-2025-06.1",
        "value": 55,
        "as_of": "2026-11-15",
        "source": "Sở Y tế",
        "provenance": "self_reported",
    },
    "document-updates": {
        "document": 1,
        "status": "issued",
        "issued_number": "06-NQ/TU",
        "issued_on": "2021-03-26",
    },
}


@dataclass
class Call:
    who: Account | None
    path: str
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    async def send(self, client: httpx.AsyncClient, key: str) -> httpx.Response:
        headers = {**(self.who.headers if self.who else {}), **self.headers}
        headers["Idempotency-Key"] = key
        kwargs: dict[str, Any] = {"headers": headers}
        if self.json is not None:
            kwargs["json"] = self.json
        if self.data is not None:
            kwargs["data"] = self.data
        if self.files is not None:
            kwargs["files"] = self.files
        return await client.post(f"{API}{self.path}", **kwargs)


@dataclass
class World:
    client: httpx.AsyncClient
    sessionmaker: Any
    officer: Account
    lead: Account
    reviewer: Account
    admin: Account

    async def ok(self, call: Call) -> httpx.Response:
        response = await call.send(self.client, secrets.token_hex(8))
        assert response.status_code < 300, (call.path, response.status_code, response.text)
        return response

    async def etag(self, path: str, who: Account) -> str:
        response = await self.client.get(f"{API}{path}", headers=who.headers)
        assert response.status_code == 200, response.text
        return response.headers["etag"]

    async def item_etag(self, path: str, who: Account) -> str:
        """The item's ETag from its own GET where there is one, else `*`."""
        response = await self.client.get(f"{API}{path}", headers=who.headers)
        return response.headers.get("etag", "*") if response.status_code == 200 else "*"

    async def period(self) -> int:
        body = {
            "title": f"Báo cáo đột xuất {secrets.token_hex(3)}",
            "instructions": "Báo cáo tiến độ.",
            "due_date": "2026-12-01",
            "cutoff_date": "2026-11-15",
            "agencies": ["SYT"],
        }
        return int((await self.ok(Call(self.reviewer, "/periods", json=body))).json()["id"])

    async def draft(self) -> str:
        period_id = await self.period()
        made = await self.ok(Call(self.officer, "/reports", json={"period_id": period_id}))
        return f"/reports/{made.json()['id']}"

    async def draft_with(self, kind: str) -> tuple[str, str]:
        report = await self.draft()
        item = await self.ok(Call(self.officer, f"{report}/{kind}", json=KINDS[kind]))
        return report, f"{report}/{kind}/{item.json()['id']}"

    async def move(self, report: str, action: str, who: Account, comment: str = "") -> None:
        headers = {"If-Match": await self.etag(report, who)}
        body = {"comment": comment} if comment else None
        await self.ok(Call(who, f"{report}/{action}", json=body, headers=headers))

    async def review(self, item: str, action: str, who: Account, comment: str = "") -> None:
        headers = {"If-Match": await self.item_etag(item, who)}
        body = {"comment": comment} if comment else None
        await self.ok(Call(who, f"{item}/{action}", json=body, headers=headers))

    async def approved_with(self, kind: str) -> tuple[str, str]:
        report, item = await self.draft_with(kind)
        await self.move(report, "submit", self.lead)
        await self.move(report, "approve", self.reviewer)
        return report, item


Pair = tuple[Call, Call]  # the call, and another request for its key (422)
Driver = Callable[[World], Awaitable[Pair]]
DRIVERS: dict[str, Driver] = {}


def driver(*operation_ids: str) -> Callable[[Driver], Driver]:
    def register(function: Driver) -> Driver:
        for operation_id in operation_ids:
            DRIVERS[operation_id] = function
        return function

    return register


async def _fresh(world: World, role: str = "officer") -> Account:
    return await signed_in(world.client, world.sessionmaker, role=role, agency="SYT")


@driver("auth-token")
async def _token(world: World) -> Pair:
    account = await create_user(world.sessionmaker, role="officer")
    form = {"username": account.username, "password": PASSWORD}
    return Call(None, "/auth/token", data=form), Call(
        None, "/auth/token", data={**form, "password": "Another-Password-1"}
    )


async def _refresh_token(world: World) -> str:
    account = await create_user(world.sessionmaker, role="officer")
    return str((await sign_in(world.client, account))["refresh_token"])


def _with_refresh_token(path: str) -> Driver:
    async def drive(world: World) -> Pair:
        token = await _refresh_token(world)
        other = secrets.token_urlsafe(32)
        return Call(None, path, json={"refresh_token": token}), Call(
            None, path, json={"refresh_token": other}
        )

    return drive


driver("auth-refresh")(_with_refresh_token("/auth/refresh"))
driver("auth-logout")(_with_refresh_token("/auth/logout"))


@driver("auth-revoke")
async def _revoke(world: World) -> Pair:
    token = await _refresh_token(world)
    hint = {"token_type_hint": "refresh_token"}
    return Call(None, "/auth/revoke", data={"token": token, **hint}), Call(
        None, "/auth/revoke", data={"token": secrets.token_urlsafe(32), **hint}
    )


@driver("me-password")
async def _password(world: World) -> Pair:
    account = await _fresh(world)
    body = {"current_password": PASSWORD, "new_password": "Chuyen-doi-so-2358-moi"}
    return Call(account, "/me/password", json=body), Call(
        account, "/me/password", json={**body, "new_password": "Mot-mat-khau-khac-9"}
    )


async def _notified(world: World) -> tuple[Account, list[int]]:
    """A fresh officer of Sở Y tế with two unread notifications (two periods opened)."""
    account = await _fresh(world)
    await world.period()
    await world.period()
    listed = await world.client.get(
        f"{API}/me/notifications", headers=account.headers, params={"unread": "true"}
    )
    ids = [n["id"] for n in listed.json()["items"]]
    assert len(ids) == 2, listed.text
    return account, ids


@driver("notifications-read-all")
async def _read_all(world: World) -> Pair:
    account, _ = await _notified(world)
    path = "/me/notifications/read-all"
    return Call(account, path), Call(account, path, json={"another": "body"})


@driver("notifications-read")
async def _read(world: World) -> Pair:
    account, (first, second) = await _notified(world)
    return Call(account, f"/me/notifications/{first}/read"), Call(
        account, f"/me/notifications/{second}/read"
    )


@driver("users-create")
async def _user(world: World) -> Pair:
    def body() -> dict[str, str]:
        return {
            "username": f"moi.{secrets.token_hex(4)}",
            "full_name": "Người mới",
            "password": "Mat-khau-tam-2026",
            "agency": "SYT",
            "role": "officer",
        }

    return Call(world.admin, "/users", json=body()), Call(world.admin, "/users", json=body())


@driver("users-password-reset")
async def _reset(world: World) -> Pair:
    target = await create_user(world.sessionmaker, role="officer")
    path = f"/users/{target.id}/password-reset"
    return Call(world.admin, path, json={"new_password": "Mat-khau-tam-2027"}), Call(
        world.admin, path, json={"new_password": "Mat-khau-tam-2028"}
    )


@driver("periods-create")
async def _period(world: World) -> Pair:
    def body() -> dict[str, Any]:
        return {
            "title": f"Đột xuất {secrets.token_hex(3)}",
            "due_date": "2026-12-01",
            "cutoff_date": "2026-11-15",
            "agencies": ["SYT"],
        }

    return Call(world.reviewer, "/periods", json=body()), Call(
        world.reviewer, "/periods", json=body()
    )


@driver("reports-create")
async def _report(world: World) -> Pair:
    first, second = await world.period(), await world.period()
    return Call(world.officer, "/reports", json={"period_id": first}), Call(
        world.officer, "/reports", json={"period_id": second}
    )


def _transition(action: str) -> Driver:
    async def drive(world: World) -> Pair:
        report, _ = await world.draft_with("task-updates")
        if action != "submit":
            await world.move(report, "submit", world.lead)
        who = world.lead if action in ("submit", "withdraw") else world.reviewer
        headers = {"If-Match": await world.etag(report, who)}
        body = {"comment": "Đề nghị bổ sung số liệu."} if action == "return" else None
        path = f"{report}/{action}"
        return Call(who, path, json=body, headers=headers), Call(
            who, path, json={"comment": "Một lý do khác."}, headers=headers
        )

    return drive


for _action in ("submit", "withdraw", "approve", "return"):
    driver(f"reports-{_action}")(_transition(_action))


@driver("reports-comments-create")
async def _comment(world: World) -> Pair:
    path = f"{await world.draft()}/comments"
    return Call(world.officer, path, json={"body": "Đã gửi minh chứng."}), Call(
        world.officer, path, json={"body": "Một ý kiến khác."}
    )


def _item_create(kind: str) -> Driver:
    async def drive(world: World) -> Pair:
        path = f"{await world.draft()}/{kind}"
        other = {**KINDS[kind], "client_id": str(uuid4())}
        return Call(world.officer, path, json=KINDS[kind]), Call(world.officer, path, json=other)

    return drive


def _item_review(kind: str, action: str) -> Driver:
    async def drive(world: World) -> Pair:
        _, item = await world.approved_with(kind)
        if action in ("resubmit", "approve"):
            await world.review(item, "return", world.reviewer, "Sai số liệu.")
        if action == "approve":
            await world.review(item, "resubmit", world.lead)
        who = world.lead if action == "resubmit" else world.reviewer
        headers = {"If-Match": await world.item_etag(item, who)}
        body = {"comment": "Sai số liệu."} if action == "return" else None
        return Call(who, f"{item}/{action}", json=body, headers=headers), Call(
            who, f"{item}/{action}", json={"comment": "Khác."}, headers=headers
        )

    return drive


def _upload(kind: str) -> Driver:
    async def drive(world: World) -> Pair:
        _, item = await world.draft_with(kind)
        path = f"{item}/attachments"
        return Call(world.officer, path, files={"file": ("a.png", png(), "image/png")}), Call(
            world.officer, path, files={"file": ("a.png", png(), "image/png")}
        )

    return drive


for _kind in KINDS:
    driver(f"reports-{_kind}-create")(_item_create(_kind))
    driver(f"reports-{_kind}-attachments-create")(_upload(_kind))
    for _action in ("return", "resubmit", "approve"):
        driver(f"reports-{_kind}-{_action}")(_item_review(_kind, _action))


def _hook_body() -> dict[str, Any]:
    return {
        "url": f"http://127.0.0.1:9/{secrets.token_hex(4)}",
        "secret": secrets.token_hex(20),
        "events": ["period.opened"],
    }


@driver("webhooks-create")
async def _webhook(world: World) -> Pair:
    return Call(world.admin, "/webhooks", json=_hook_body()), Call(
        world.admin, "/webhooks", json=_hook_body()
    )


def _event_body() -> dict[str, Any]:
    """An event that ends no agency (dated 2099, BAOHD succeeds itself)."""
    return {
        "code": f"T-I-{secrets.token_hex(6).upper()}",
        "date": "2099-01-01",
        "kind": "merge",
        "predecessors": ["BAOHD"],
        "successors": ["BAOHD"],
        "legal_basis": [
            {"number": "9/2099/QĐ-TEST", "date": "2098-12-01", "issuer": "UBND", "title": "Thử"}
        ],
        "verified": True,
    }


@driver("reorganisations-create")
async def _reorganisation(world: World) -> Pair:
    return Call(world.admin, "/reorganisations", json=_event_body()), Call(
        world.admin, "/reorganisations", json=_event_body()
    )


@driver("webhooks-deliveries-redeliver")
async def _redeliver(world: World) -> Pair:
    """A failed delivery (its receiver, 127.0.0.1:9, is not there; one attempt allowed)."""
    hook = (await world.ok(Call(world.admin, "/webhooks", json=_hook_body()))).json()
    await world.period()
    app: Any = world.client._transport.app  # type: ignore[attr-defined]
    settings = app.state.settings.model_copy(update={"webhook_max_attempts": 1})
    async with http_client() as http:
        while (await deliver_due(world.sessionmaker, http, settings))[0]:
            pass
    listed = await world.client.get(
        f"{API}/webhooks/{hook['id']}/deliveries", headers=world.admin.headers
    )
    [delivery] = listed.json()["items"]
    assert delivery["status"] == "failed", delivery
    path = f"/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver"
    return Call(world.admin, path), Call(world.admin, path, json={"another": "body"})


async def fingerprint(sessionmaker: Any) -> dict[str, str]:
    """Every table's content, hashed; the idempotency keys' own table left out."""
    async with sessionmaker() as session:
        names = (
            await session.execute(
                text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                    "'public' AND table_type = 'BASE TABLE' AND table_name <> 'idempotency_keys'"
                )
            )
        ).scalars()
        found = {}
        for name in names:
            query = (
                "SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) "
                f'FROM "{name}" t'
            )
            found[name] = (await session.execute(text(query))).scalar_one()
        return found


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


@pytest.fixture
async def world(client: httpx.AsyncClient, sessionmaker: Any) -> World:
    return World(
        client,
        sessionmaker,
        officer=await signed_in(client, sessionmaker, role="officer", agency="SYT"),
        lead=await signed_in(client, sessionmaker, role="agency_lead", agency="SYT"),
        reviewer=await signed_in(client, sessionmaker, role="reviewer", agency="STTTT"),
        admin=await signed_in(client, sessionmaker, role="admin", agency="STTTT"),
    )


def post_operations(app: Any) -> list[str]:
    return sorted(
        operation["operationId"]
        for path_item in app.openapi()["paths"].values()
        for method, operation in path_item.items()
        if method == "post"
    )


async def test_every_post_in_the_contract_documents_the_key(app: Any) -> None:
    document = app.openapi()
    descriptions = set()
    for path, path_item in document["paths"].items():
        if "post" not in path_item:
            continue
        names = [p for p in path_item["post"].get("parameters", []) if p["in"] == "header"]
        [key] = [p for p in names if p["name"] == "Idempotency-Key"] or [None]
        assert key is not None, f"POST {path} does not document Idempotency-Key"
        descriptions.add(key["description"])
    assert len(descriptions) == 1


async def test_every_post_replays_its_first_answer_and_makes_one_effect(
    app: Any, client: httpx.AsyncClient, sessionmaker: Any, world: World
) -> None:
    operations = post_operations(app)
    unknown = [operation for operation in operations if operation not in DRIVERS]
    assert not unknown, f"no driver for POST operations {unknown}: add one in this file"
    failures = []
    for operation in operations:
        call, other = await DRIVERS[operation](world)
        key = secrets.token_hex(12)
        before = await fingerprint(sessionmaker)
        first = await call.send(client, key)
        assert first.status_code < 300, (operation, first.status_code, first.text)
        between = await fingerprint(sessionmaker)
        second = await call.send(client, key)
        after = await fingerprint(sessionmaker)
        problems = []
        if not changed(before, between):
            problems.append("the first call changed nothing (a driver that proves nothing)")
        if (second.status_code, second.content) != (first.status_code, first.content):
            problems.append(f"second answer {second.status_code} {second.text[:200]}")
        if second.headers.get("idempotent-replayed") != "true":
            problems.append("no Idempotent-Replayed: true")
        for header in ("etag", "location", "content-type"):
            if second.headers.get(header) != first.headers.get(header):
                problems.append(f"{header}: {second.headers.get(header)!r}")
        if changed(between, after):
            problems.append(f"the repeat changed {changed(between, after)}")
        reused = await other.send(client, key)
        if (reused.status_code, reused.headers.get("content-type")) != (
            422,
            "application/problem+json",
        ) or reused.json().get("code") != "idempotency_key_reused":
            problems.append(f"another request, same key: {reused.status_code} {reused.text[:200]}")
        if problems:
            failures.append(f"{operation}: {'; '.join(problems)}")
    assert not failures, "\n".join(failures)


async def test_twenty_concurrent_comments_with_one_key_make_one(
    client: httpx.AsyncClient, world: World
) -> None:
    report = await world.draft()
    call = Call(world.officer, f"{report}/comments", json={"body": "Gửi một lần thôi."})
    key = secrets.token_hex(12)
    answers = await asyncio.wait_for(
        asyncio.gather(*[call.send(client, key) for _ in range(20)]), timeout=60
    )
    assert {a.status_code for a in answers} == {201}, {a.text for a in answers}
    assert len({a.content for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 19
    comments = await client.get(f"{API}{report}/comments", headers=world.officer.headers)
    listed = comments.json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [c["comment"] for c in items if c["action"] == "comment"] == ["Gửi một lần thôi."]


async def test_a_lost_approve_answer_is_replayed_not_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    """The lead's phone lost the answer to `approve`: the retry with the same key gets the
    200 it missed, not 409 "cannot approve when approved", and one transition is recorded."""
    report, _ = await world.draft_with("task-updates")
    await world.move(report, "submit", world.lead)
    headers = {"If-Match": await world.etag(report, world.reviewer)}
    call = Call(world.reviewer, f"{report}/approve", headers=headers)
    key = secrets.token_hex(12)
    first, again = await call.send(client, key), await call.send(client, key)
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    history = (await client.get(f"{API}{report}/history", headers=world.reviewer.headers)).json()
    events = history["items"] if isinstance(history, dict) else history
    assert [e["action"] for e in events].count("approved") == 1
    without_key = await client.post(
        f"{API}{report}/approve", headers={**world.reviewer.headers, **headers}
    )
    assert without_key.status_code in (409, 412)  # a new request is still judged


async def test_a_failed_request_keeps_no_key(client: httpx.AsyncClient, world: World) -> None:
    """A stale If-Match is 412 and rolls its key back: the retry with the right version and
    the same key does the work."""
    report, _ = await world.draft_with("task-updates")
    key = secrets.token_hex(12)
    stale = Call(world.lead, f"{report}/submit", headers={"If-Match": '"report-0-v9"'})
    assert (await stale.send(client, key)).status_code == 412
    fresh = Call(
        world.lead, f"{report}/submit", headers={"If-Match": await world.etag(report, world.lead)}
    )
    done = await fresh.send(client, key)
    assert done.status_code == 200, done.text
    assert "idempotent-replayed" not in done.headers


async def test_keys_are_per_caller(client: httpx.AsyncClient, world: World) -> None:
    report = await world.draft()
    key = secrets.token_hex(12)
    body = {"body": "Cùng một khóa."}
    mine = await Call(world.officer, f"{report}/comments", json=body).send(client, key)
    theirs = await Call(world.lead, f"{report}/comments", json=body).send(client, key)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]


async def test_a_retried_upload_matches_although_the_boundary_differs(
    client: httpx.AsyncClient, world: World
) -> None:
    _, item = await world.draft_with("task-updates")
    content = png()
    key = secrets.token_hex(12)
    answers = []
    for boundary in ("first-boundary-1234", "second-boundary-98765"):
        request = client.build_request(
            "POST",
            f"{API}{item}/attachments",
            headers={**world.officer.headers, "Idempotency-Key": key},
            files={"file": ("a.png", content, "image/png")},
        )
        body = request.read().replace(
            request.headers["content-type"].split("=", 1)[1].encode(), boundary.encode()
        )
        answers.append(
            await client.post(
                f"{API}{item}/attachments",
                content=body,
                headers={
                    **world.officer.headers,
                    "Idempotency-Key": key,
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                },
            )
        )
    assert [a.status_code for a in answers] == [201, 201], answers[1].text
    assert answers[1].headers["idempotent-replayed"] == "true"
    listed = (await client.get(f"{API}{item}/attachments", headers=world.officer.headers)).json()
    assert len(listed["items"] if isinstance(listed, dict) else listed) == 1


async def test_auth_answers_are_kept_sealed_and_briefly(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    account = await create_user(sessionmaker, role="officer")
    key = secrets.token_hex(12)
    call = Call(None, "/auth/token", data={"username": account.username, "password": PASSWORD})
    first, again = await call.send(client, key), await call.send(client, key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert again.headers["cache-control"] == "no-store"
    async with sessionmaker() as session:
        row = (
            await session.execute(
                text(
                    "SELECT scope, response_body, request_hash, expires_at - created_at AS life "
                    "FROM idempotency_keys WHERE key = :key"
                ),
                {"key": key},
            )
        ).one()
    token = first.json()["access_token"].encode()
    assert row.scope == "anon"
    assert (
        token not in row.response_body
        and first.json()["refresh_token"].encode() not in row.response_body
    )
    assert timedelta(seconds=1) < row.life <= timedelta(minutes=5)


async def test_an_expired_key_is_forgotten(
    client: httpx.AsyncClient, sessionmaker: Any, world: World
) -> None:
    report = await world.draft()
    key = secrets.token_hex(12)
    call = Call(world.officer, f"{report}/comments", json={"body": "Lần đầu."})
    first = await call.send(client, key)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE idempotency_keys SET expires_at = :past WHERE key = :key"),
            {"past": datetime.now(UTC) - timedelta(seconds=1), "key": key},
        )
    again = await call.send(client, key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]


async def test_expired_keys_are_purged_and_live_ones_kept(
    client: httpx.AsyncClient, sessionmaker: Any, world: World
) -> None:
    report = await world.draft()
    keys = [secrets.token_hex(12) for _ in range(2)]
    for key in keys:
        call = Call(world.officer, f"{report}/comments", json={"body": key})
        assert (await call.send(client, key)).status_code == 201
    query = text("SELECT key FROM idempotency_keys WHERE key = ANY(:keys)")
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE idempotency_keys SET expires_at = :past WHERE key = :key"),
            {"past": datetime.now(UTC) - timedelta(seconds=1), "key": keys[0]},
        )
    async with sessionmaker() as session, session.begin():
        assert await purge_expired(session) >= 1
    async with sessionmaker() as session:
        assert (await session.execute(query, {"keys": keys})).scalars().all() == [keys[1]]


async def test_a_refused_sign_in_keeps_no_key(client: httpx.AsyncClient, sessionmaker: Any) -> None:
    """Sign-in commits its throttle count before it judges the password: the refusal must
    still keep nothing, so the same wrong password under the same key is 400 again (not 422
    idempotency_key_reused), and the key then serves the right password."""
    account = await create_user(sessionmaker, role="officer")
    key = secrets.token_hex(12)
    wrong = Call(None, "/auth/token", data={"username": account.username, "password": "nope"})
    answers = [await wrong.send(client, key) for _ in range(2)]
    assert [(a.status_code, a.json()["code"]) for a in answers] == [(400, "invalid_grant")] * 2
    right = Call(None, "/auth/token", data={"username": account.username, "password": PASSWORD})
    done = await right.send(client, key)
    assert done.status_code == 200, done.text
    assert "idempotent-replayed" not in done.headers


async def test_a_refused_upload_keeps_no_key(client: httpx.AsyncClient, world: World) -> None:
    """An upload commits its check before the file streams in: a file refused afterwards
    (not an image) keeps nothing, so the same file under the same key is refused again."""
    _, item = await world.draft_with("task-updates")
    key = secrets.token_hex(12)
    call = Call(
        world.officer, f"{item}/attachments", files={"file": ("a.png", b"text", "image/png")}
    )
    answers = [await call.send(client, key) for _ in range(2)]
    assert [a.status_code for a in answers] == [422, 422], answers[1].text
    assert [a.json()["errors"][0]["type"] for a in answers] == ["unsupported_file_type"] * 2


async def test_an_upload_failed_midway_is_done_by_its_retry(
    app: Any, client: httpx.AsyncClient, sessionmaker: Any, world: World
) -> None:
    """The first attempt fails while the file streams in (413 under a lower limit, after the
    early commit); the retry of the same file with the same key does the work."""
    _, item = await world.draft_with("task-updates")
    key = secrets.token_hex(12)
    call = Call(world.officer, f"{item}/attachments", files={"file": ("a.png", png(), "image/png")})
    original = app.state.settings
    app.state.settings = original.model_copy(update={"attachment_max_bytes": 16})
    try:
        failed = await call.send(client, key)
    finally:
        app.state.settings = original
    assert failed.status_code == 413, failed.text
    async with sessionmaker() as session:
        left = (
            await session.execute(
                text("SELECT count(*) FROM idempotency_keys WHERE key = :key"), {"key": key}
            )
        ).scalar()
    assert left == 0  # the failure kept nothing
    done = await call.send(client, key)
    assert done.status_code == 201, done.text
    assert "idempotent-replayed" not in done.headers
    again = await call.send(client, key)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    listed = (await client.get(f"{API}{item}/attachments", headers=world.officer.headers)).json()
    assert len(listed["items"] if isinstance(listed, dict) else listed) == 1


async def test_an_unanswered_key_left_by_a_dead_request_is_taken_over(
    client: httpx.AsyncClient, sessionmaker: Any, world: World
) -> None:
    """A key row committed without an answer (its process died after an early commit) is
    not 422 forever: holding the key's lock, the next request takes it over."""
    report = await world.draft()
    key = secrets.token_hex(12)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO idempotency_keys (scope, user_id, key, method, path, request_hash,"
                " response_headers, sealed, created_at, expires_at) VALUES (:scope, :uid, :key,"
                " 'POST', '/x', '', '[]', true, now(), now() + interval '1 hour')"
            ),
            {"scope": f"user:{world.officer.id}", "uid": world.officer.id, "key": key},
        )
    call = Call(world.officer, f"{report}/comments", json={"body": "Sau sự cố."})
    done = await call.send(client, key)
    assert done.status_code == 201, done.text
    again = await call.send(client, key)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")

"""No door shows what an object's own route hides.

A draft report carries one unique marker in every free-text field it has (task progress,
indicator value, document update, a comment, an evidence file's name, the comments of its
submit, return and withdraw). Then, as every role and agency, the test walks every GET
operation of the app's own OpenAPI document, with its path parameters filled from the real
ids and codes, and fails if the marker appears anywhere (body or headers; JSON, CSV and
XLSX decoded) for a caller to whom `GET /reports/{id}` answers 404. The operations come
from the contract, so a new GET route is walked as soon as it exists; one whose path
parameter the test cannot fill fails loudly.

It also checks the other side, so it cannot pass by seeing nothing: the report's own
agency reads every marker through the report's routes, and once the report is submitted
again a reviewer finds it in the audit trail and the export, an administrator in the
webhook deliveries.
"""

import io
import secrets
from datetime import date, timedelta
from typing import Any

import httpx
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlmodel import col

from app.core.pagination import encode_cursor
from app.models import Agency, User, Webhook, WebhookDelivery
from tests.evidence import png
from tests.factories import Account, sign_in, signed_in

API = "/api/v1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT_PATH = f"{API}/reports/{{report_id}}"
# The audit trail's entities that describe a report or something in it.
REPORT_ENTITIES = ("report", "task_update", "indicator_value", "document_update", "attachment")
FIELDS = (
    "summary",
    "difficulties",
    "nextsteps",
    "source",
    "note",
    "comment",
    "file",
    "submit",
    "return",
    "withdraw",
    "edited",
)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json() if response.content else None


async def _etag(client: httpx.AsyncClient, url: str, who: Account) -> str:
    response = await client.get(url, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


async def _move(
    client: httpx.AsyncClient, url: str, action: str, who: Account, comment: str
) -> None:
    headers = {**who.headers, "If-Match": await _etag(client, url, who)}
    _ok(await client.post(f"{url}/{action}", headers=headers, json={"comment": comment}))


def _text(response: httpx.Response) -> str:
    """Everything a caller receives, as text: headers and the decoded body."""
    parts = [f"{k}: {v}" for k, v in response.headers.items()]
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    if kind == XLSX and response.status_code == 200:
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        for sheet in book.worksheets:
            parts += [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v]
        parts.append(str(book.properties.title))
    elif kind.startswith(("application/json", "application/problem+json", "text/")):
        parts.append(response.text)
    else:  # files: whatever bytes they are, a marker in ASCII would show
        parts.append(response.content.decode("latin-1"))
    return "\n".join(parts)


class Scene:
    """The draft and everything around it, with the values the walk fills paths with."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.ids: dict[tuple[str, str], list[str]] = {}

    def field(self, name: str) -> str:
        return f"{self.marker}{name}"


async def _build(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> tuple[Scene, Account]:
    """A draft of Sở Y tế that went through submit, return, edit, submit and withdraw, so
    its markers sit in items, comments, history, notifications, webhooks and the audit."""
    scene = Scene("zq" + secrets.token_hex(6))
    officer, lead, reviewer = accounts["officer"], accounts["agency_lead"], accounts["reviewer"]
    # An officer of Sở Y tế now, moved to another agency later: the notices they got
    # about the report must not follow them.
    moved = await signed_in(client, sessionmaker, role="officer", agency="SYT")

    async with sessionmaker() as session, session.begin():  # a receiver, never posted to
        hook = Webhook(
            url="http://127.0.0.1:9/never-delivered",
            secret=secrets.token_hex(16),
            events=["report.submitted", "report.returned", "report.approved"],
            description="visibility doors",
        )
        session.add(hook)
        await session.flush()
        webhook_id = hook.id or 0

    today = date.today()
    period = _ok(
        await client.post(
            f"{API}/periods",
            headers=reviewer.headers,
            json={
                "title": f"Kỳ kiểm tra quyền xem {secrets.token_hex(3)}",
                "due_date": (today + timedelta(days=30)).isoformat(),
                "cutoff_date": today.isoformat(),
                "agencies": ["SYT"],
            },
        ),
        201,
    )
    report = _ok(
        await client.post(
            f"{API}/reports", headers=officer.headers, json={"period_id": period["id"]}
        ),
        201,
    )
    url = f"{API}/reports/{report['id']}"
    task = _ok(
        await client.post(
            f"{url}/task-updates",
            headers=officer.headers,
            json={
                "task": "E.1",
                "status": "in_progress",
                "percent_complete": 40,
                "public_summary": f"Kết quả {scene.field('summary')}",
                "internal_difficulties": f"Khó khăn {scene.field('difficulties')}",
                "next_steps": f"Tiếp theo {scene.field('nextsteps')}",
            },
        ),
        201,
    )
    value = _ok(
        await client.post(
            f"{url}/indicator-values",
            headers=officer.headers,
            json={
                "target": "CT-2025-06.1",
                "value": 55,
                "as_of": today.isoformat(),
                "source": f"Nguồn {scene.field('source')}",
            },
        ),
        201,
    )
    document = _ok(
        await client.post(
            f"{url}/document-updates",
            headers=officer.headers,
            json={"document": 1, "status": "drafting", "note": f"Ghi chú {scene.field('note')}"},
        ),
        201,
    )
    attachment = _ok(
        await client.post(
            f"{url}/task-updates/{task['id']}/attachments",
            headers=officer.headers,
            files={"file": (f"{scene.field('file')}.png", png(), "image/png")},
        ),
        201,
    )
    comment = _ok(
        await client.post(
            f"{url}/comments",
            headers=officer.headers,
            json={"body": f"Ý kiến {scene.field('comment')}"},
        ),
        201,
    )
    await _move(client, url, "submit", lead, f"Nộp {scene.field('submit')}")
    await _move(client, url, "return", reviewer, f"Trả lại {scene.field('return')}")
    _ok(
        await client.patch(
            f"{url}/task-updates/{task['id']}",
            headers={
                **officer.headers,
                "If-Match": f'"task_update-{task["id"]}-v{task["version"]}"',
            },
            json={"next_steps": f"{scene.field('nextsteps')} {scene.field('edited')}"},
        )
    )
    await _move(client, url, "submit", lead, f"Nộp lại {scene.field('submit')}")
    await _move(client, url, "withdraw", lead, f"Rút {scene.field('withdraw')}")
    assert _ok(await client.get(url, headers=officer.headers))["state"] == "draft"

    async with sessionmaker() as session, session.begin():
        sgddt = (
            await session.execute(select(col(Agency.id)).where(col(Agency.code) == "SGDDT"))
        ).scalar_one()
        await session.execute(update(User).where(col(User.id) == moved.id).values(agency_id=sgddt))
        deliveries = (
            await session.execute(
                select(col(WebhookDelivery.id)).where(col(WebhookDelivery.webhook_id) == webhook_id)
            )
        ).scalars()
        delivery_ids = [str(d) for d in deliveries]
    await sign_in(client, moved)  # a fresh sign-in in the new agency
    assert len(delivery_ids) == 3  # submitted, returned, submitted again

    scene.ids = {
        ("report_id", "reports"): [str(report["id"])],
        ("item_id", "task-updates"): [str(task["id"])],
        ("comment_id", "comments"): [str(comment["id"])],
        ("item_id", "indicator-values"): [str(value["id"])],
        ("item_id", "document-updates"): [str(document["id"])],
        ("attachment_id", "attachments"): [str(attachment["id"])],
        ("period_id", "periods"): [str(period["id"])],
        ("webhook_id", "webhooks"): [str(webhook_id)],
        ("delivery_id", "deliveries"): delivery_ids,
        ("user_id", "users"): [str(officer.id), str(moved.id)],
        ("code", "tasks"): ["E.1"],
        ("code", "indicators"): ["CT-2025-06"],
        ("code", "sections"): ["II.5.a"],
        ("code", "agencies"): ["SYT"],
        ("code", "reorganisations"): ["HP-2025-07-CITY"],
        ("number", "documents"): ["1"],
    }
    return scene, moved


def _schema(param: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = param.get("schema", {})
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return dict(option)
    return schema


def _calls(app: Any, scene: Scene) -> list[tuple[str, str, dict[str, Any]]]:
    """(template, url, query) for every GET operation of the contract, each path parameter
    filled with every real value it may take (every value of an enum), lists at their
    largest page, and the query parameters that choose what is shown (a view with a
    default, the audit's entity, a period, an agency) varied one at a time."""
    report_id = scene.ids[("report_id", "reports")][0]
    period_id = scene.ids[("period_id", "periods")][0]
    special: dict[str, list[str]] = {
        "entity": list(REPORT_ENTITIES),
        "entity_id": [report_id],
        "period_id": [period_id],
        "agency": ["SYT"],
    }
    calls: list[tuple[str, str, dict[str, Any]]] = []
    unfillable: list[str] = []
    for template, operations in app.openapi()["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        urls = [template]
        base: dict[str, Any] = {}
        variants: list[dict[str, Any]] = [{}]
        for param in operation.get("parameters", []):
            name, schema = param["name"], _schema(param)
            if param["in"] == "path":
                before = template.split(f"/{{{name}}}")[0].rsplit("/", 1)[-1]
                values = [str(v) for v in schema["enum"]] if "enum" in schema else None
                values = values or scene.ids.get((name, before))
                if not values:
                    unfillable.append(f"GET {template}: {name}")
                    continue
                urls = [u.replace(f"{{{name}}}", v) for u in urls for v in values]
            elif param["in"] == "query":
                if name == "limit" and "maximum" in schema:
                    base["limit"] = schema["maximum"]
                elif name == "q":  # a prefix of the marker: an echoed query shows no marker
                    base["q"] = scene.marker[:-3]
                elif name == "since":
                    base["since"] = encode_cursor("sync", (0, 0))
                elif "enum" in schema and "default" in schema:
                    # One view out of several (export.csv's sheet): walk every one. An
                    # enum without a default is a filter: omitting it already shows all.
                    variants += [{name: v} for v in schema["enum"] if v != schema["default"]]
                elif name in special:
                    variants += [{name: v} for v in special[name]]
                elif param.get("required"):
                    unfillable.append(f"GET {template}: required query {name}")
        if operation["operationId"] == "audit-list":
            variants += [{"entity": "report", "entity_id": report_id}]
        calls += [(template, u, {**base, **v}) for u in urls for v in variants]
    assert not unfillable, f"the walk cannot fill these parameters: {unfillable}"
    return calls


async def _walk(
    client: httpx.AsyncClient, who: Account, calls: list[tuple[str, str, dict[str, Any]]]
) -> list[tuple[str, str, dict[str, Any], int, str]]:
    answers = []
    for template, url, query in calls:
        response = await client.get(url, params=query, headers=who.headers)
        assert response.status_code < 500, f"{who.role} GET {url} {query}: {response.text}"
        answers.append((template, url, query, response.status_code, _text(response)))
    return answers


async def test_no_door_shows_a_draft_its_own_route_hides(
    app: Any, client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    scene, moved = await _build(client, sessionmaker, accounts)
    callers = {**accounts, "moved_officer": moved}
    calls = _calls(app, scene)
    report_url = f"{API}/reports/{scene.ids[('report_id', 'reports')][0]}"
    walked = {t for t, _, _ in calls}
    for must in (f"{API}/audit", f"{API}/search", f"{API}/sync", f"{API}/me/notifications"):
        assert must in walked

    hidden_from: list[str] = []
    leaks: list[str] = []
    for name, who in callers.items():
        own = await client.get(report_url, headers=who.headers)
        answers = await _walk(client, who, calls)
        if own.status_code == 200:
            # The positive side: the agency reads every marker through the report's routes.
            seen = "\n".join(text for t, _, _, _, text in answers if t.startswith(REPORT_PATH))
            missing = [f for f in FIELDS if scene.field(f) not in seen]
            assert not missing, f"{name} does not see {missing} through the report's routes"
            continue
        assert own.status_code in (401, 404), (name, own.status_code)
        hidden_from.append(name)
        leaks += [
            f"{name}: GET {url} {query} -> {status}"
            for _, url, query, status, text in answers
            if scene.marker in text.lower()
        ]
    assert sorted(hidden_from) == sorted(
        ["reviewer", "observer", "admin", "other_officer", "anonymous", "moved_officer"]
    )
    assert not leaks, "the draft shows through other doors:\n" + "\n".join(leaks)
    # Nor may a hidden delivery be sent again (it would repost the draft's comments).
    admin = callers["admin"]
    webhook_id = scene.ids[("webhook_id", "webhooks")][0]
    for delivery_id in scene.ids[("delivery_id", "deliveries")]:
        again = await client.post(
            f"{API}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
            headers=admin.headers,
        )
        assert again.status_code == 404, again.text

    # Not hidden by blanket omission: once submitted again, the same doors show it to
    # those who may now see the report.
    officer = callers["officer"]
    notices = _ok(await client.get(f"{API}/me/notifications", headers=officer.headers))
    assert scene.field("return") in str(notices)
    await _move(client, report_url, "submit", callers["agency_lead"], "Nộp lần ba")
    reviewer = callers["reviewer"]
    trail = await client.get(
        f"{API}/audit", params={"entity": "task_update", "limit": 200}, headers=reviewer.headers
    )
    assert scene.field("difficulties") in _text(trail)
    period_id = scene.ids[("period_id", "periods")][0]
    export = await client.get(f"{API}/periods/{period_id}/export.xlsx", headers=reviewer.headers)
    assert scene.field("summary") in _text(export)
    for delivery_id in scene.ids[("delivery_id", "deliveries")]:
        detail = await client.get(
            f"{API}/webhooks/{webhook_id}/deliveries/{delivery_id}", headers=admin.headers
        )
        assert detail.status_code == 200
        assert scene.marker in _text(detail)

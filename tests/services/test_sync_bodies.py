"""The sync feed with `include=body`: a phone catches up in one request per page.

A "phone" starts from an empty local store, follows the feed page by page and applies each
change (an upsert stores its body, a tombstone or a null body removes the object), as an
offline app would. At the end its store must equal what every object's own route answers
the same caller now: same bodies, same objects, nothing the caller may not see.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, text

from tests.factories import Account, signed_in
from tests.services.test_reporting import etag_of, new_period
from tests.services.test_sync import settled

API = "/api/v1"
SYNC = f"{API}/sync"
ROUTES = {
    "task": "tasks",
    "indicator": "indicators",
    "document": "documents",
    "section": "sections",
    "agency": "agencies",
    "period": "periods",
    "report": "reports",
}
ITEMS = {
    "task_update": "task-updates",
    "indicator_value": "indicator-values",
    "document_update": "document-updates",
}
Key = tuple[str, str]


def own_route(kind: str, key: str) -> str:
    """The object's own GET route (an item's is under its report)."""
    if kind in ITEMS:
        report_id, item_id = key.split("/")
        return f"{API}/reports/{report_id}/{ITEMS[kind]}/{item_id}"
    return f"{API}/{ROUTES[kind]}/{key}"


class Phone:
    """An offline app: a local store keyed by (type, key), filled from the feed alone."""

    def __init__(self, app: Any, sessionmaker: Any, account: Account | None, cursor: str) -> None:
        self.account, self.cursor, self.sessionmaker = account, cursor, sessionmaker
        self.store: dict[Key, dict[str, Any]] = {}
        self.received: list[Key] = []  # every change, in order
        self.requests: list[str] = []
        self.pages = 0
        self.changes = 0

        async def count(request: httpx.Request) -> None:
            self.requests.append(request.url.path)

        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            event_hooks={"request": [count]},
        )

    @property
    def headers(self) -> dict[str, str]:
        return self.account.headers if self.account else {}

    async def catch_up(self, limit: int = 3) -> None:
        """Follows the feed to its end, `limit` changes a page (small: many pages)."""
        await settled(self.sessionmaker)
        cursor = self.cursor
        while True:
            response = await self.client.get(
                SYNC,
                params={"since": cursor, "include": "body", "limit": limit},
                headers=self.headers,
            )
            assert response.status_code == 200, response.text
            page = response.json()
            self.pages += 1
            self.changes += len(page["changes"])
            # Full pages until the last one: the feed never pads nor splits a page.
            assert (
                len(page["changes"]) == limit if page["has_more"] else len(page["changes"]) <= limit
            )
            for change in page["changes"]:
                key = (change["type"], change["key"])
                self.received.append(key)
                if change["op"] == "delete":
                    assert change["body"] is None
                if change["body"] is None:  # a tombstone, or gone (its tombstone follows)
                    self.store.pop(key, None)
                else:
                    self.store[key] = change["body"]
            cursor = self.cursor = page["next_cursor"]
            if not page["has_more"]:
                return


async def full_read(
    client: httpx.AsyncClient, keys: set[Key], account: Account | None
) -> dict[Key, dict[str, Any]]:
    """Each object through its own route, as this caller; 404s are objects not there."""
    found: dict[Key, dict[str, Any]] = {}
    for kind, key in sorted(keys):
        response = await client.get(
            own_route(kind, key), headers=account.headers if account else {}
        )
        # 401 and 404: not shown to this caller (reports need a token), or gone
        assert response.status_code in (200, 401, 404), (kind, key, response.text)
        if response.status_code == 200:
            found[(kind, key)] = response.json()
    return found


PLAN_EDITS = [
    # (table, key column, key, column): texts a plan owner changes, restored afterwards
    ("tasks", "code", "A.I.1", "note"),
    ("indicators", "code", "CT-2025-01", "lead_note"),
    ("documents", "number", "2", "note"),
    ("plan_sections", "code", "II.1.a", "lead_note"),
    ("agencies", "code", "SYT", "note"),
    ("reporting_periods", "code", "annual-2030", "instructions"),
]
EDITED = {
    ("task", "A.I.1"),
    ("indicator", "CT-2025-01"),
    ("document", "2"),
    ("section", "II.1.a"),
    ("agency", "SYT"),
}


async def edit_plan(sessionmaker: Any, value: str | None, only: int | None = None) -> None:
    """As the plan's owner (the feed's triggers log each row)."""
    edits = PLAN_EDITS if only is None else PLAN_EDITS[only : only + 1]
    async with sessionmaker() as session, session.begin():
        for table, column, key, field in edits:
            await session.execute(
                text(f"UPDATE {table} SET {field} = :value WHERE {column}::text = :key"),
                {"value": value, "key": key},
            )


async def test_phones_replaying_the_feed_match_a_full_read(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account], app: Any
) -> None:
    officer = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    lead = await signed_in(client, sessionmaker, role="agency_lead", agency="SYT")
    other = await signed_in(client, sessionmaker, role="officer", agency="SGDDT")
    reviewer = accounts["reviewer"]
    async with sessionmaker() as session:
        saved = [
            (
                await session.execute(
                    text(f"SELECT {field} FROM {table} WHERE {column}::text = :key"),
                    {"key": key},
                )
            ).scalar_one()
            for table, column, key, field in PLAN_EDITS
        ]
        annual_2030 = str(
            (
                await session.execute(
                    text("SELECT id FROM reporting_periods WHERE code = 'annual-2030'")
                )
            ).scalar_one()
        )
    await settled(sessionmaker)
    start = (await client.get(SYNC)).json()["next_cursor"]
    phones = {
        "public": Phone(app, sessionmaker, None, start),
        "officer": Phone(app, sessionmaker, officer, start),
        "other": Phone(app, sessionmaker, other, start),
        "reviewer": Phone(app, sessionmaker, reviewer, start),
    }

    async def sync_all() -> None:
        """The phones catch up now and then, as phones do; what each holds then is what
        the routes answer it then (the full comparison comes at the end)."""
        for phone in phones.values():
            await phone.catch_up()
            assert phone.store == await full_read(client, set(phone.store), phone.account)

    async def change_period(state: str) -> None:
        period_url = f"{API}/periods/{period['id']}"
        response = await client.patch(
            period_url,
            headers={**reviewer.headers, "If-Match": await etag_of(client, period_url, reviewer)},
            json={"state": state},
        )
        assert response.status_code == 200, response.text

    try:
        await edit_plan(sessionmaker, "sync bodies: first edit")
        await sync_all()
        period = await new_period(client, reviewer, ["SYT"])
        report = (
            await client.post(
                f"{API}/reports", headers=officer.headers, json={"period_id": period["id"]}
            )
        ).json()
        url = f"{API}/reports/{report['id']}"
        bodies = {
            "task-updates": {"task": "E.1", "status": "in_progress", "percent_complete": 10},
            "indicator-values": {"target": "CT-2025-06.1", "value": 40, "as_of": "2026-11-15"},
            "document-updates": {"document": 1, "status": "drafting"},
        }
        items = {}
        for path, body in bodies.items():
            created = await client.post(f"{url}/{path}", headers=officer.headers, json=body)
            assert created.status_code == 201, created.text
            items[path] = created.json()
        await edit_plan(sessionmaker, "sync bodies: second edit", only=0)  # A.I.1 again
        theirs = (await client.get(f"{API}/tasks", params={"agency": "SYT", "limit": 5})).json()
        second_task = next(t["code"] for t in theirs["items"] if t["code"] != "E.1")
        task_update = f"{url}/task-updates/{items['task-updates']['id']}"
        patched = await client.patch(
            task_update,
            headers={**officer.headers, "If-Match": items["task-updates"]["etag"]},
            json={"percent_complete": 45, "public_summary": "Đã triển khai một phần."},
        )
        assert patched.status_code == 200, patched.text
        extra = (
            await client.post(
                f"{url}/task-updates",
                headers=officer.headers,
                json={"task": second_task, "status": "not_started", "percent_complete": 0},
            )
        ).json()
        removed = await client.delete(
            f"{url}/task-updates/{extra['id']}",
            headers={**officer.headers, "If-Match": extra["etag"]},
        )
        assert removed.status_code == 204, removed.text
        await sync_all()
        # Each step below changes bodies already stored without touching their rows: a
        # period's state changes what may be done with its reports and their items, a
        # report's state what may be done with its items, an item sent back alone its
        # task's public progress.
        await change_period("closed")
        await sync_all()
        await change_period("open")
        submitted = await client.post(
            f"{url}/submit",
            headers={**lead.headers, "If-Match": await etag_of(client, url, lead)},
        )
        assert submitted.status_code == 200, submitted.text
        await sync_all()
        approved = await client.post(
            f"{url}/approve",
            headers={**reviewer.headers, "If-Match": await etag_of(client, url, reviewer)},
        )
        assert approved.status_code == 200, approved.text
        await sync_all()
        sent_back = await client.post(
            f"{task_update}/return",
            headers={**reviewer.headers, "If-Match": await etag_of(client, task_update, officer)},
            json={"comment": "Số liệu chưa khớp."},
        )
        assert sent_back.status_code == 200, sent_back.text
        await sync_all()

        removed_key = ("task_update", f"{report['id']}/{extra['id']}")
        report_keys = {("report", str(report["id"]))} | {
            (kind, f"{report['id']}/{item['id']}")
            for kind, item in (
                ("task_update", items["task-updates"]),
                ("indicator_value", items["indicator-values"]),
                ("document_update", items["document-updates"]),
                ("task_update", extra),
            )
        }
        public_keys = EDITED | {
            ("period", annual_2030),
            ("task", "E.1"),  # approval makes the report's progress public
            ("indicator", "CT-2025-06"),
            ("document", "1"),
        }
        for name, account, keys in (
            ("public", None, public_keys),
            ("officer", officer, public_keys | report_keys),
            ("other", other, public_keys),
            ("reviewer", reviewer, public_keys),
        ):
            phone = phones[name]
            expected = await full_read(client, keys, account)
            assert set(expected) == keys - {removed_key}, name
            assert set(phone.store) == set(expected), name
            for key, body in expected.items():
                assert phone.store[key] == body, (name, key)
            # One request per page, nothing else: no object read one by one.
            assert phone.requests == [SYNC] * phone.pages
        assert phones["officer"].store[("report", str(report["id"]))]["state"] == "approved"
        # The feed shows reports and items to their own agency only: never the draft, nor
        # any later state, to another agency or to a reviewer.
        for name in ("public", "other", "reviewer"):
            assert not [k for k in phones[name].received if k[0] in ("report", *ITEMS)], name
        assert set(phones["officer"].received) >= report_keys
    finally:
        for phone in phones.values():
            await phone.client.aclose()
        async with sessionmaker() as session, session.begin():
            for (table, column, key, field), value in zip(PLAN_EDITS, saved, strict=True):
                await session.execute(
                    text(f"UPDATE {table} SET {field} = :value WHERE {column}::text = :key"),
                    {"value": value, "key": key},
                )


@contextmanager
def counted_queries(sessionmaker: Any) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs inside the block."""
    statements: list[str] = []
    engine = sessionmaker.kw["bind"].sync_engine

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def touch_rows(sessionmaker: Any, per_table: int) -> None:
    """One transaction changing `per_table` rows of every public synced table."""
    async with sessionmaker() as session, session.begin():
        for table, where, order in (
            ("tasks", "true", "sort_order"),
            ("indicators", "true", "sort_order"),
            ("documents", "true", "sort_order"),
            ("plan_sections", "true", "sort_order"),
            ("agencies", "true", "sort_order"),
            ("reporting_periods", "kind = 'annual'", "id"),
        ):
            await session.execute(
                text(
                    f"UPDATE {table} SET id = id WHERE id IN "
                    f"(SELECT id FROM {table} WHERE {where} ORDER BY {order} LIMIT :n)"
                ),
                {"n": per_table},
            )


async def test_bodies_take_a_fixed_number_of_queries_per_page(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    counts = []
    for per_table in (2, 9):
        await settled(sessionmaker)  # earlier writes are behind the cursor
        cursor = (await client.get(SYNC)).json()["next_cursor"]
        await touch_rows(sessionmaker, per_table)
        await settled(sessionmaker)
        with counted_queries(sessionmaker) as statements:
            response = await client.get(
                SYNC, params={"since": cursor, "include": "body", "limit": 100}
            )
        page = response.json()
        assert response.status_code == 200, response.text
        assert len(page["changes"]) == 6 * per_table and page["has_more"] is False
        assert all(c["body"] is not None for c in page["changes"])
        counts.append(len(statements))
    assert counts[0] == counts[1], counts  # no query per object


async def test_a_page_with_bodies_holds_at_most_100_changes(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    await settled(sessionmaker)
    cursor = (await client.get(SYNC)).json()["next_cursor"]
    async with sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE tasks SET id = id"))
        await session.execute(text("UPDATE plan_sections SET id = id"))
    await settled(sessionmaker)
    with_bodies = (
        await client.get(SYNC, params={"since": cursor, "include": "body", "limit": 1000})
    ).json()
    assert (len(with_bodies["changes"]), with_bodies["has_more"]) == (100, True)
    without = (await client.get(SYNC, params={"since": cursor, "limit": 1000})).json()
    assert without["has_more"] is False and len(without["changes"]) > 100
    assert all("body" not in c for c in without["changes"])  # opt-in: unchanged without


def test_the_contract_describes_bodies(app: Any) -> None:
    spec = app.openapi()
    parameters = {p["name"]: p for p in spec["paths"]["/api/v1/sync"]["get"]["parameters"]}
    include = parameters["include"]
    choice = include["schema"]["anyOf"][0]
    assert choice.get("enum", [choice.get("const")]) == ["body"]
    assert "100" in include["description"]
    body = spec["components"]["schemas"]["ChangeRead"]["properties"]["body"]
    named = {ref["$ref"].rsplit("/", 1)[1] for ref in body["anyOf"] if "$ref" in ref}
    assert named == {
        "TaskRead",
        "IndicatorRead",
        "DocumentRead",
        "SectionRead",
        "AgencyRead",
        "PeriodRead",
        "ReportDetail",
        "TaskUpdateRead",
        "IndicatorValueRead",
        "DocumentUpdateRead",
    }
    assert body["description"]

"""HTTP semantics of every public answer, whatever its media type (issue 12).

One conditional-GET and compression path: the open-data CSV files, the contract and the docs
assets have strong ETags, Cache-Control, 304 on If-None-Match and gzip equal to identity;
the sync feed is never shared-cacheable; open-data times are at +07:00 and its source header
comes from the settings. HEAD answers every GET of the contract as the GET does, without a
body; OPTIONS and 405 list every method of the path. Every header parameter of the contract
is described.
"""

import csv
import gzip
import io
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.core.caching import GZIP_MIN_BYTES
from app.main import create_app
from app.models import Webhook, WebhookDelivery
from tests import db
from tests.evidence import png
from tests.factories import Account, signed_in
from tests.services.test_reporting import etag_of, new_period

API = "/api/v1"
CSV_FILES = ("tasks.csv", "indicators.csv", "progress.csv", "documents.csv")
SHARED_VARY = "Accept-Encoding"
API_VARY = "Accept-Language, Authorization, Accept-Encoding"
# Headers that legitimately differ between two answers to the same request.
VOLATILE = {"date", "x-request-id", "x-generated-at"}
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+07:00$")
ANY_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


async def _raw(client: httpx.AsyncClient, url: str, **headers: str) -> httpx.Response:
    """The answer with its body as sent (httpx would decompress it)."""
    response = await client.send(client.build_request("GET", url, headers=headers), stream=True)
    response._content = b"".join([chunk async for chunk in response.aiter_raw()])
    return response


async def _check_conditional_and_gzip(
    client: httpx.AsyncClient, url: str, *, vary: str, compressed: bool | None
) -> httpx.Response:
    """`compressed` None: as its size says (a text body of at least GZIP_MIN_BYTES)."""
    plain = await _raw(client, url, **{"Accept-Encoding": "identity"})
    assert plain.status_code == 200, url
    if compressed is None:
        compressed = len(plain.content) >= GZIP_MIN_BYTES
    etag = plain.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag), (url, etag)
    assert plain.headers["cache-control"] == "public, max-age=60", url
    assert plain.headers["vary"] == vary, url
    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) == len(plain.content)
    again = await client.get(url, headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag), url
    assert again.headers["cache-control"] == "public, max-age=60"
    zipped = await _raw(client, url, **{"Accept-Encoding": "gzip, deflate, br"})
    if compressed:
        assert len(plain.content) >= GZIP_MIN_BYTES
        assert zipped.headers["content-encoding"] == "gzip", url
        assert zipped.headers["etag"] == etag[:-1] + '-gzip"'
        assert gzip.decompress(zipped.content) == plain.content, url
        assert len(zipped.content) < len(plain.content)
        assert int(zipped.headers["content-length"]) == len(zipped.content)
        cached = await client.get(
            url, headers={"If-None-Match": zipped.headers["etag"], "Accept-Encoding": "gzip"}
        )
        assert (cached.status_code, cached.content) == (304, b""), url
        # The identity tag does not stand for the compressed bytes, nor the other way round.
        other = await _raw(client, url, **{"If-None-Match": etag, "Accept-Encoding": "gzip"})
        assert other.status_code == 200
    else:
        assert "content-encoding" not in zipped.headers, url
        assert zipped.content == plain.content
    return plain


@pytest.mark.parametrize("name", CSV_FILES)
async def test_open_data_csv_is_conditional_and_compressed(
    client: httpx.AsyncClient, name: str
) -> None:
    url = f"{API}/open-data/{name}"
    plain = await _raw(client, url, **{"Accept-Encoding": "identity"})
    big = len(plain.content) >= GZIP_MIN_BYTES
    if name in ("tasks.csv", "indicators.csv"):
        assert big  # 15 KB and 6 KB: the files the issue saw sent uncompressed
    answer = await _check_conditional_and_gzip(client, url, vary=API_VARY, compressed=big)
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert LOCAL_TIME.match(answer.headers["x-generated-at"])
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] and not rows[0][0].startswith("#")  # the header row comes first


async def test_contract_and_docs_are_conditional_and_compressed(
    client: httpx.AsyncClient,
) -> None:
    contract = await _check_conditional_and_gzip(
        client, "/openapi.json", vary=SHARED_VARY, compressed=True
    )
    assert contract.json()["openapi"].startswith("3.")
    for page in ("/docs", "/redoc"):
        html = await _check_conditional_and_gzip(client, page, vary=SHARED_VARY, compressed=None)
        for asset in re.findall(r'(?:src|href)="(/docs-assets/[^"]+)"', html.text):
            text = None if not asset.endswith(".png") else False
            await _check_conditional_and_gzip(client, asset, vary=SHARED_VARY, compressed=text)
    # A range of a representation that may be re-encoded is not offered: the whole answer.
    css = "/docs-assets/swagger-ui.css"
    ranged = await _raw(client, css, **{"Range": "bytes=0-99", "Accept-Encoding": "identity"})
    assert ranged.status_code == 200 and "accept-ranges" not in ranged.headers
    assert len(ranged.content) == int(ranged.headers["content-length"]) > 100
    # A token changes nothing in them: still public, one representation for everyone.
    signed = await client.get(
        "/openapi.json", headers={"Authorization": "Bearer x", "Accept-Encoding": "identity"}
    )
    assert signed.headers["cache-control"] == "public, max-age=60"
    assert signed.headers["etag"] == contract.headers["etag"]


async def test_sync_is_never_shared_cacheable(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    anonymous = await client.get(f"{API}/sync")
    assert anonymous.status_code == 200
    assert anonymous.headers["cache-control"] == "private, no-cache"
    since = await client.get(f"{API}/sync", params={"since": anonymous.json()["next_cursor"]})
    assert since.headers["cache-control"] == "private, no-cache"
    staff = await client.get(f"{API}/sync", headers=accounts["officer"].headers)
    assert staff.headers["cache-control"] == "private, no-cache"
    head = await client.head(f"{API}/sync")
    assert head.headers["cache-control"] == "private, no-cache"


async def test_open_data_times_are_at_vietnam_offset(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    reviewer = accounts["reviewer"]
    officer = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    lead = await signed_in(client, sessionmaker, role="agency_lead", agency="SYT")
    period = await new_period(client, reviewer, ["SYT"])
    report = (
        await client.post(
            f"{API}/reports", headers=officer.headers, json={"period_id": period["id"]}
        )
    ).json()
    url = f"{API}/reports/{report['id']}"
    added = await client.post(
        f"{url}/task-updates",
        headers=officer.headers,
        json={"task": "E.1", "status": "in_progress", "percent_complete": 30},
    )
    assert added.status_code == 201, added.text
    for action, who in (("submit", lead), ("approve", reviewer)):
        moved = await client.post(
            f"{url}/{action}", headers={**who.headers, "If-Match": await etag_of(client, url, who)}
        )
        assert moved.status_code == 200, moved.text

    progress = (await client.get(f"{API}/open-data/progress.json")).json()
    ours = [p for p in progress["items"] if p["period"] == period["code"]]
    assert len(ours) == 1 and ours[0]["approved_at"] is not None
    times = [
        value
        for row in progress["items"]
        for value in row.values()
        if isinstance(value, str) and ANY_TIME.match(value)
    ] + [progress["generated_at"]]
    assert times and all(LOCAL_TIME.match(t) for t in times), times
    table = await client.get(f"{API}/open-data/progress.csv")
    rows = list(csv.DictReader(io.StringIO(table.content.decode("utf-8-sig"))))
    ours_csv = [r for r in rows if r["period"] == period["code"]]
    assert ours_csv[0]["approved_at"] == ours[0]["approved_at"]
    assert LOCAL_TIME.match(ours_csv[0]["approved_at"])


@pytest.fixture
async def sourced_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose open-data source is set, as DXPLAN_OPEN_DATA_SOURCE would set it."""
    settings = db.settings_for(database_url).model_copy(
        update={"open_data_source": "Sở Khoa học và Công nghệ thành phố Hải Phòng"}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


@pytest.mark.parametrize("name", ["tasks.csv", "tasks.json"])
async def test_source_header_comes_from_settings(
    sourced_client: httpx.AsyncClient, name: str
) -> None:
    response = await sourced_client.get(f"{API}/open-data/{name}")
    assert response.status_code == 200
    raw = response.headers["x-source"]
    assert raw.isascii()  # HTTP header values are Latin-1: sent as an RFC 8187 ext-value
    assert raw.startswith("UTF-8''")
    assert unquote(raw.removeprefix("UTF-8''")) == "Sở Khoa học và Công nghệ thành phố Hải Phòng"
    # An ASCII value is sent as it is.
    assert response.headers["x-licence"] == (
        "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
    )
    if name.endswith(".json"):
        body = response.json()
        assert body["source"] == "Sở Khoa học và Công nghệ thành phố Hải Phòng"
        assert response.headers["x-generated-at"] == body["generated_at"]


# HEAD and OPTIONS


class Scene:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.callers: list[Account] = []


@pytest.fixture
async def scene(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> Scene:
    """A submitted report with every kind of item, an evidence file, a comment, a webhook with one
    delivery: a real value for every path parameter of the contract."""
    officer = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    lead = await signed_in(client, sessionmaker, role="agency_lead", agency="SYT")
    reviewer = accounts["reviewer"]
    async with sessionmaker() as session, session.begin():
        hook = Webhook(
            url="http://127.0.0.1:9/never-delivered",
            secret=secrets.token_hex(16),
            events=["report.submitted"],
            description="http semantics",
        )
        session.add(hook)
        await session.flush()
        webhook_id = hook.id or 0
    period = await new_period(client, reviewer, ["SYT"])
    report = (
        await client.post(
            f"{API}/reports", headers=officer.headers, json={"period_id": period["id"]}
        )
    ).json()
    url = f"{API}/reports/{report['id']}"
    items = {}
    for kind, body in (
        ("task-updates", {"task": "E.1", "status": "in_progress", "percent_complete": 40}),
        ("indicator-values", {"target": "CT-2025-06.1", "value": 55, "as_of": "2026-11-15"}),
        ("document-updates", {"document": 1, "status": "drafting"}),
    ):
        made = await client.post(f"{url}/{kind}", headers=officer.headers, json=body)
        assert made.status_code == 201, made.text
        items[kind] = made.json()["id"]
    attachment = await client.post(
        f"{url}/task-updates/{items['task-updates']}/attachments",
        headers=officer.headers,
        files={"file": ("anh.png", png(), "image/png")},
    )
    assert attachment.status_code == 201, attachment.text
    comment = await client.post(
        f"{url}/comments", headers=officer.headers, json={"body": "Ý kiến."}
    )
    assert comment.status_code == 201, comment.text
    submitted = await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
    )
    assert submitted.status_code == 200, submitted.text
    async with sessionmaker() as session:
        delivery = (
            await session.execute(
                select(col(WebhookDelivery.id)).where(col(WebhookDelivery.webhook_id) == webhook_id)
            )
        ).scalar_one()
    made = Scene()
    made.values = {
        "report_id": str(report["id"]),
        "attachment_id": str(attachment.json()["id"]),
        "period_id": str(period["id"]),
        "webhook_id": str(webhook_id),
        "delivery_id": str(delivery),
        "comment_id": str(comment.json()["id"]),
        "user_id": str(officer.id),
        "code": "E.1",
        "number": "1",
        "file": "tasks.csv",
    }
    made.values.update({f"item_id@{kind}": str(i) for kind, i in items.items()})
    made.callers = [accounts["anonymous"], accounts["admin"], reviewer, officer]
    return made


def _fill(template: str, values: dict[str, str]) -> str:
    def one(found: re.Match[str]) -> str:
        name = found[1]
        if name == "item_id":
            kind = template[: found.start()].rstrip("/").rsplit("/", 1)[-1]
            return values[f"item_id@{kind}"]
        if name == "code":
            owner = template[: found.start()].rstrip("/").rsplit("/", 1)[-1]
            return {
                "sections": "II.5.a",
                "agencies": "SYT",
                "indicators": "CT-2025-06",
                "reorganisations": "HP-2025-07-CITY",
            }.get(owner, values["code"])
        return values[name]

    return re.sub(r"\{([a-z_]+)\}", one, template)


def _required_query(operation: dict[str, Any]) -> dict[str, str]:
    samples = {"q": "chuyen doi so"}
    return {
        p["name"]: samples[p["name"]]
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }


def _comparable(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in VOLATILE}


async def test_head_answers_every_get_of_the_contract(
    client: httpx.AsyncClient, app: Any, scene: Scene
) -> None:
    walked = 0
    for template, path_item in app.openapi()["paths"].items():
        if "get" not in path_item:
            continue
        url = _fill(template, scene.values)
        params = _required_query(path_item["get"])
        for caller in scene.callers:
            get = await client.get(url, params=params, headers=caller.headers)
            if get.status_code == 200:
                break
        assert get.status_code == 200, (template, get.status_code, get.text[:300])
        head = await client.head(url, params=params, headers=caller.headers)
        # The sync feed's "now" cursor is the cluster's snapshot xmin: a transaction anywhere
        # on the server (another test database) between the two requests moves it. Ask again
        # until two neighbouring answers saw the same snapshot. (The xlsx export stamps its
        # creation time to the second into the file: the same reason, a second apart.)
        for _ in range(10 if template.endswith(("/sync", ".xlsx")) else 0):
            if _comparable(head) == _comparable(get):
                break
            get = await client.get(url, params=params, headers=caller.headers)
            head = await client.head(url, params=params, headers=caller.headers)
        assert head.status_code == 200, (template, head.status_code)
        assert head.content == b"", template
        assert _comparable(head) == _comparable(get), template
        assert "content-length" in head.headers, template
        if "etag" in get.headers and "no-store" not in get.headers.get("cache-control", ""):
            for _ in range(10 if template.endswith("/sync") else 1):  # the same snapshot, above
                again = await client.head(
                    url,
                    params=params,
                    headers={**caller.headers, "If-None-Match": get.headers["etag"]},
                )
                if again.status_code == 304:
                    break
                get = await client.get(url, params=params, headers=caller.headers)
            assert (again.status_code, again.content) == (304, b""), template
        walked += 1
    assert walked >= 45


async def test_head_on_docs_and_a_missing_object(client: httpx.AsyncClient) -> None:
    for url in ("/openapi.json", "/docs", "/redoc", "/docs-assets/swagger-ui.css", "/healthz"):
        get, head = await client.get(url), await client.head(url)
        assert (head.status_code, head.content) == (200, b""), url
        assert _comparable(head) == _comparable(get), url
    missing = await client.head(f"{API}/tasks/NOPE")
    assert (missing.status_code, missing.content) == (404, b"")
    assert missing.headers["content-type"] == "application/problem+json"


def _methods_of(path_item: dict[str, Any]) -> str:
    methods = {m.upper() for m in path_item if m in ("get", "post", "put", "patch", "delete")}
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return ", ".join(sorted(methods, key=order.index))


async def test_options_and_405_list_every_method_of_the_path(
    client: httpx.AsyncClient, app: Any
) -> None:
    paths = app.openapi()["paths"]
    several = 0
    for template, path_item in paths.items():
        url = re.sub(r"\{[a-z_]+\}", "1", template)
        expected = _methods_of(path_item)
        options = await client.options(url)
        assert options.status_code == 204, (template, options.status_code, options.text)
        assert options.headers["allow"] == expected, template
        assert options.content == b""
        missing = next(m for m in ("PUT", "PATCH", "DELETE", "POST") if m not in expected)
        refused = await client.request(missing, url)
        assert refused.status_code == 405, (template, missing)
        assert refused.headers["allow"] == expected, template
        assert refused.headers["content-type"] == "application/problem+json"
        several += len(path_item) > 1
    assert paths[f"{API}/periods"].keys() >= {"get", "post"}
    assert several >= 17  # the paths whose Allow named one method of several
    for url in ("/openapi.json", "/docs", "/docs-assets/swagger-ui.css"):
        assert (await client.options(url)).headers["allow"] == "GET, HEAD, OPTIONS"
    nowhere = await client.options(f"{API}/no-such-thing")
    assert nowhere.status_code == 404


async def test_head_and_options_stay_out_of_the_contract(app: Any) -> None:
    for path_item in app.openapi()["paths"].values():
        assert not {"head", "options"} & set(path_item)


async def test_every_header_parameter_is_described(app: Any) -> None:
    bare = [
        (method, path, parameter["name"])
        for path, path_item in app.openapi()["paths"].items()
        for method, operation in path_item.items()
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "header" and not (parameter.get("description") or "").strip()
    ]
    assert bare == []

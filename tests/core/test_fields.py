"""`fields=`: partial answers on list and detail endpoints."""

import re
import secrets
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.core.test_idempotency import KINDS, Call, World
from tests.core.test_idempotency import world as world  # the fixture
from tests.evidence import png
from tests.factories import Account

API = "/api/v1"


async def test_list_items_keep_only_the_named_fields(client: httpx.AsyncClient) -> None:
    full = await client.get(f"{API}/tasks", params={"limit": 3})
    response = await client.get(
        f"{API}/tasks", params={"limit": 3, "fields": "code, derived_status,code"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["items"] == [
        {"code": item["code"], "derived_status": item["derived_status"]}
        for item in full.json()["items"]
    ]
    assert (body["total"], body["next_cursor"]) == (81, full.json()["next_cursor"])
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.headers["etag"] != full.headers["etag"]
    again = await client.get(
        f"{API}/tasks",
        params={"limit": 3, "fields": "code, derived_status,code"},
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304


async def test_detail_keeps_only_the_named_fields(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/tasks/B.3.1", params={"fields": "code,lead"})
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["code", "lead"]
    assert response.json()["code"] == "B.3.1"
    indicator = await client.get(f"{API}/indicators/CT-2025-01", params={"fields": "targets"})
    assert list(indicator.json()) == ["targets"]


async def test_large_selections_are_still_compressed(client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"{API}/tasks",
        params={"limit": 200, "fields": "code,title"},
        headers={"Accept-Encoding": "gzip"},
    )
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()["items"]) == 81
    assert all(list(item) == ["code", "title"] for item in response.json()["items"])


@pytest.mark.parametrize("fields", ["nope", "code,nope", "", " , ", "items"])
async def test_unknown_fields_are_422_naming_the_allowed_ones(
    client: httpx.AsyncClient, fields: str
) -> None:
    response = await client.get(
        f"{API}/tasks", params={"fields": fields}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert (error["loc"], error["field"], error["type"]) == (
        ["query", "fields"],
        "fields",
        "unknown_field",
    )
    assert error["message"].startswith("There is no field")
    assert "code, group, subgroup" in error["message"]


async def test_staff_lists_too(client: httpx.AsyncClient, accounts: dict[str, Account]) -> None:
    response = await client.get(
        f"{API}/users", params={"fields": "username,role"}, headers=accounts["admin"].headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"]
    assert all(set(user) == {"username", "role"} for user in response.json()["items"])
    assert response.headers["cache-control"] == "private, no-cache"


# GETs whose answer is not an object one may select from: a dictionary of enums with one
# member, the change feed (its own `include=` chooses what a change carries) and the open-data
# files (published formats with fixed columns, CSV too).
NOT_SELECTABLE = {"meta-enums", "sync", "open-data-get"}


def _gets(spec: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        operation["operationId"]: (path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method == "get" and path.startswith("/api/v1/")
    }


def _returns_objects(spec: dict[str, Any], operation: dict[str, Any]) -> bool:
    media = operation["responses"].get("200", {}).get("content", {}).get("application/json")
    if media is None:
        return False
    schema = media["schema"]
    schema = schema.get("anyOf", [schema])[0]
    if schema.get("type") == "array":
        schema = schema["items"]
    ref = schema.get("$ref", "")
    return spec["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}).get("type") == "object"


def _names(parameter: dict[str, Any] | None) -> list[str]:
    """The names the parameter's pattern admits: `^ *(a|b|c) *(, *(a|b|c) *)*$`."""
    assert parameter is not None
    return str(parameter["schema"]["pattern"]).split("(", 1)[1].split(")", 1)[0].split("|")


def _fields(operation: dict[str, Any]) -> dict[str, Any] | None:
    found = [p for p in operation.get("parameters", []) if p["name"] == "fields"]
    return found[0] if found else None


async def test_every_get_that_returns_objects_offers_fields_and_documents_the_partial_answer(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    components = spec["components"]["schemas"]
    gets = _gets(spec)
    assert set(gets) >= NOT_SELECTABLE
    expected = {op for op, (_, o) in gets.items() if _returns_objects(spec, o)} - NOT_SELECTABLE
    offering = {op for op, (_, o) in gets.items() if _fields(o)}
    assert offering == expected, (expected - offering, offering - expected)
    assert {"reports-review-queue", "reports-history", "reports-comments-list", "plan-get"} | {
        "me-get",
        "webhooks-deliveries-get",
        "reports-task-updates-list",
        "reports-task-updates-get",
    } <= offering
    for op in sorted(offering):
        _, operation = gets[op]
        parameter = _fields(operation)
        assert parameter is not None
        names = _names(parameter)
        full, partial = operation["responses"]["200"]["content"]["application/json"]["schema"][
            "anyOf"
        ]
        # The partial schema: the selected object's own, without `required`.
        if partial.get("type") == "array":
            partial, full = partial["items"], full["items"]
        partial_schema = components[partial["$ref"].rsplit("/", 1)[-1]]
        full_schema = components[full["$ref"].rsplit("/", 1)[-1]]
        if "required" in partial_schema:  # a page stays whole; its items are partial
            items = partial_schema["properties"]["items"]["items"]["$ref"]
            partial_schema = components[items.rsplit("/", 1)[-1]]
            full_items = full_schema["properties"]["items"]["items"]["$ref"]
            full_schema = components[full_items.rsplit("/", 1)[-1]]
        assert list(partial_schema["properties"]) == names, op
        assert "required" not in partial_schema, op
        assert partial_schema["properties"] == full_schema["properties"], op


def _validator(spec: dict[str, Any], pointer: str) -> Draft202012Validator:
    base = "urn:dxplan:openapi"
    registry: Registry[Any] = Registry().with_resource(base, DRAFT202012.create_resource(spec))
    return Draft202012Validator({"$ref": f"{base}#{pointer}"}, registry=registry)


def _pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


async def test_every_fields_answer_is_partial_and_validates_against_the_contract(
    client: httpx.AsyncClient, world: World
) -> None:
    """Each operation offering `fields`, on real data, as the first caller who may read it:
    the answer has exactly the two fields named (of each item), and validates against the
    contract's schema for it."""
    spec = (await client.get("/openapi.json")).json()
    report, _ = await world.draft_with("task-updates")
    for kind in ("indicator-values", "document-updates"):
        await world.ok(Call(world.officer, f"{report}/{kind}", json=KINDS[kind]))
    said = {"body": "Đã gửi minh chứng."}
    comment = await world.ok(Call(world.officer, f"{report}/comments", json=said))
    items = {}
    for kind in KINDS:
        listed = await client.get(f"/api/v1{report}/{kind}", headers=world.officer.headers)
        items[kind] = listed.json()["items"][0]["id"]
        evidence = {"file": ("a.png", png(), "image/png")}
        path = f"{report}/{kind}/{items[kind]}/attachments"
        await world.ok(Call(world.officer, path, files=evidence))
    await world.move(report, "submit", world.lead)
    # Approved progress and values, for the paged history of a task and of an indicator.
    await world.approved_with("task-updates")
    await world.approved_with("indicator-values")
    history_codes = {
        "/api/v1/tasks/{code}/progress": KINDS["task-updates"]["task"],
        "/api/v1/indicators/{code}/values": "CT-2025-06",
    }
    hook_body = {
        "url": f"http://127.0.0.1:9/{secrets.token_hex(4)}",
        "secret": secrets.token_hex(20),
        "events": ["period.opened"],
    }
    hook = (await world.ok(Call(world.admin, "/webhooks", json=hook_body))).json()
    await world.period()  # an event, so the webhook has a delivery
    deliveries = await client.get(
        f"/api/v1/webhooks/{hook['id']}/deliveries", headers=world.admin.headers
    )
    values = {
        "report_id": report.rsplit("/", 1)[-1],
        "comment_id": comment.json()["id"],
        "webhook_id": hook["id"],
        "delivery_id": deliveries.json()["items"][0]["id"],
        "user_id": world.officer.id,
        "period_id": 1,
        "number": 1,
    }
    codes: dict[str, str] = {}
    for path in spec["paths"]:
        if path.endswith("/{code}"):  # the first object of the list beside it
            listed = (await client.get(path.removesuffix("/{code}"))).json()["items"]
            codes[path.split("/")[3]] = listed[0]["code"]
    callers = [world.admin, world.reviewer, world.officer]
    checked = []
    for path, item in spec["paths"].items():
        operation = item.get("get")
        if operation is None or _fields(operation) is None:
            continue
        kind = next((k for k in items if f"/{k}/" in path), "")
        code = history_codes.get(path, codes.get(path.split("/")[3]))
        known = {**values, "item_id": items.get(kind), "code": code}
        url = re.sub(r"\{(\w+)\}", lambda m, known=known: str(known[m.group(1)]), path)
        required = {  # required query parameters (search's `q`): the contract's example
            p["name"]: p.get("example", p["schema"].get("examples", [None])[0])
            for p in operation.get("parameters", [])
            if p["in"] == "query" and p.get("required")
        }
        answers = [(c, await client.get(url, params=required, headers=c.headers)) for c in callers]
        # The first caller who may read it and sees something (an empty list proves nothing).
        caller, full = next(
            ((c, a) for c, a in answers if a.status_code == 200 and a.json() not in ([], {})),
            answers[0],
        )
        if isinstance(full.json(), dict) and full.json().get("items") == []:
            caller, full = next(
                ((c, a) for c, a in answers if a.status_code == 200 and a.json()["items"]),
                (caller, full),
            )
        assert full.status_code == 200, (url, full.text)
        names = _names(_fields(operation))
        chosen = [names[-1], names[0]]
        partial = await client.get(
            url,
            params={**required, "fields": f" {chosen[0]} ,{chosen[1]}"},
            headers=caller.headers,
        )
        assert partial.status_code == 200, (url, partial.text)
        body = partial.json()
        if isinstance(body, list):
            objects = body
        elif "items" in body and "items" not in names:  # a page: the fields of each item
            objects = body["items"]
            assert body["total"] == full.json()["total"]
        else:
            objects = [body]
        assert objects, url
        assert all(list(o) == chosen for o in objects), (url, objects[:1])
        pointer = _pointer("paths", path, "get", "responses", "200", "content")
        validator = _validator(spec, pointer + "/application~1json/schema")
        assert not list(validator.iter_errors(body)), (url, body)
        checked.append(operation["operationId"])
    assert len(checked) >= 40, checked

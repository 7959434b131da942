"""`fields=`: partial answers on list and detail endpoints."""

import httpx
import pytest

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


async def test_every_list_and_detail_endpoint_offers_fields(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    offering = {
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if any(p["name"] == "fields" for p in op.get("parameters", []))
    }
    assert offering == {
        "sections-list",
        "sections-get",
        "tasks-list",
        "tasks-get",
        "indicators-list",
        "indicators-get",
        "documents-list",
        "documents-get",
        "agencies-list",
        "agencies-get",
        "periods-list",
        "periods-get",
        "reports-list",
        "reports-get",
        "users-list",
        "users-get",
        "notifications-list",
        "audit-list",
        "webhooks-list",
        "webhooks-get",
        "webhooks-deliveries-list",
    }

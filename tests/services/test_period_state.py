"""Periods name their state as reports do (issue 10, item 5): `state`, with the old
`status` still readable, accepted in PATCH bodies and as a filter, marked deprecated."""

import secrets
from typing import Any

import httpx
from sqlalchemy import delete, select
from sqlmodel import col

from app.models import Webhook, WebhookDelivery
from tests.factories import Account, signed_in

API = "/api/v1"
PARKED = "http://127.0.0.1:9/period-state"  # never delivered: the test worker is off


async def new_period(client: httpx.AsyncClient, reviewer: Account) -> httpx.Response:
    response = await client.post(
        f"{API}/periods",
        headers=reviewer.headers,
        json={
            "title": f"Báo cáo đột xuất {secrets.token_hex(3)}",
            "due_date": "2026-12-20",
            "cutoff_date": "2026-12-01",
            "agencies": ["SYT"],
        },
    )
    assert response.status_code == 201, response.text
    return response


async def test_state_is_status_in_every_answer(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    reviewer = await signed_in(client, sessionmaker, role="reviewer", agency="STTTT")
    created = (await new_period(client, reviewer)).json()
    assert (created["state"], created["status"]) == ("open", "open")
    listed = (
        await client.get(f"{API}/periods", params={"limit": 200}, headers=reviewer.headers)
    ).json()["items"]
    assert {p["state"] for p in listed} >= {"planned", "open"}
    assert all(p["state"] == p["status"] for p in listed)
    one = (await client.get(f"{API}/periods/{created['id']}", headers=reviewer.headers)).json()
    assert (one["state"], one["status"]) == ("open", "open")
    # `fields=` knows the new name.
    partial = await client.get(
        f"{API}/periods/{created['id']}", params={"fields": "code,state"}, headers=reviewer.headers
    )
    assert partial.json() == {"code": created["code"], "state": "open"}


async def test_patch_with_state_or_status(client: httpx.AsyncClient, sessionmaker: Any) -> None:
    reviewer = await signed_in(client, sessionmaker, role="reviewer", agency="STTTT")
    made = await new_period(client, reviewer)
    url = f"{API}/periods/{made.json()['id']}"
    closed = await client.patch(
        url,
        json={"state": "closed"},
        headers={**reviewer.headers, "If-Match": made.headers["etag"]},
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["state"], closed.json()["status"]) == ("closed", "closed")
    reopened = await client.patch(
        url,
        json={"status": "open"},
        headers={**reviewer.headers, "If-Match": closed.headers["etag"]},
    )
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["state"], reopened.json()["status"]) == ("open", "open")
    same = await client.patch(
        url,
        json={"state": "closed", "status": "closed"},
        headers={**reviewer.headers, "If-Match": reopened.headers["etag"]},
    )
    assert same.status_code == 200, same.text
    assert same.json()["state"] == "closed"
    # Both names with different values: refused, per field, and nothing changes.
    mismatch = await client.patch(
        url,
        json={"state": "open", "status": "planned"},
        headers={**reviewer.headers, "If-Match": same.headers["etag"], "Accept-Language": "en"},
    )
    assert mismatch.status_code == 422, mismatch.text
    problem = mismatch.json()
    assert problem["code"] == "validation_error"
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
        (["body", "status"], "state_status_mismatch")
    ]
    after = await client.get(url, headers=reviewer.headers)
    assert after.json() == same.json()
    assert after.headers["etag"].startswith(same.headers["etag"].rstrip('"'))  # same version
    bad = await client.patch(
        url,
        json={"state": "archived"},
        headers={**reviewer.headers, "If-Match": same.headers["etag"]},
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["state"]


async def test_list_filters_by_state_and_status(client: httpx.AsyncClient) -> None:
    def codes(page: dict[str, Any]) -> list[str]:
        return [p["code"] for p in page["items"]]

    planned_by_state = (
        await client.get(f"{API}/periods", params={"state": "planned", "limit": 200})
    ).json()
    planned_by_status = (
        await client.get(f"{API}/periods", params={"status": "planned", "limit": 200})
    ).json()
    assert codes(planned_by_state) == codes(planned_by_status)
    assert codes(planned_by_state) and all(
        p["state"] == "planned" for p in planned_by_state["items"]
    )
    both = await client.get(f"{API}/periods", params={"state": "planned", "status": "planned"})
    assert codes(both.json()) == codes(planned_by_state)[:50]
    mismatch = await client.get(f"{API}/periods", params={"state": "open", "status": "planned"})
    assert mismatch.status_code == 422
    assert [(e["loc"], e["type"]) for e in mismatch.json()["errors"]] == [
        (["query", "status"], "state_status_mismatch")
    ]
    unknown = await client.get(f"{API}/periods", params={"state": "archived"})
    assert unknown.status_code == 422


async def test_contract_marks_status_deprecated(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    for schema in ("PeriodRead", "PeriodUpdate"):
        properties = schemas[schema]["properties"]
        assert properties["status"].get("deprecated") is True, schema
        assert "deprecated" not in properties["state"], schema
    assert "state" in schemas["PeriodRead"]["required"]
    assert "status" in schemas["PeriodRead"]["required"]
    parameters = {p["name"]: p for p in spec["paths"][f"{API}/periods"]["get"]["parameters"]}
    assert parameters["status"].get("deprecated") is True
    assert "deprecated" not in parameters["state"]
    enums = (await client.get(f"{API}/meta/enums")).json()["enums"]
    assert enums["period_state"] == enums["period_status"]
    assert [v["value"] for v in enums["period_state"]] == ["planned", "open", "closed"]


async def test_period_opened_webhook_names_the_state(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    reviewer = await signed_in(client, sessionmaker, role="reviewer", agency="STTTT")
    async with sessionmaker() as session, session.begin():
        webhook = Webhook(
            url=PARKED, secret=secrets.token_hex(16), events=["period.opened"], active=True
        )
        session.add(webhook)
        await session.flush()
        webhook_id = webhook.id
    try:
        period = (await new_period(client, reviewer)).json()
        async with sessionmaker() as session:
            payloads = (
                (
                    await session.execute(
                        select(col(WebhookDelivery.payload)).where(
                            col(WebhookDelivery.webhook_id) == webhook_id
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert [p["data"]["period"]["id"] for p in payloads] == [period["id"]]
        assert payloads[0]["data"]["period"]["state"] == "open"
    finally:
        async with sessionmaker() as session, session.begin():
            await session.execute(
                delete(WebhookDelivery).where(col(WebhookDelivery.webhook_id) == webhook_id)
            )
            await session.execute(delete(Webhook).where(col(Webhook.id) == webhook_id))

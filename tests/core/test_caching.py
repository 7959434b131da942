"""Conditional GETs: strong ETags, Cache-Control, 304 with no body."""

import re

import httpx

from tests.factories import Account

IDENTITY = {"Accept-Encoding": "identity"}


async def test_public_get_has_etag_and_304(client: httpx.AsyncClient) -> None:
    # httpx asks for gzip by default; the identity representation has its own tag.
    first = await client.get("/api/v1/tasks/A.I.1", headers=IDENTITY)
    etag = first.headers["etag"]
    assert etag.startswith('"') and len(etag) == 34
    assert first.headers["cache-control"] == "public, max-age=60"
    assert first.headers["vary"] == "Accept-Language, Authorization, Accept-Encoding"
    again = await client.get("/api/v1/tasks/A.I.1", headers={**IDENTITY, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    weak = await client.get(
        "/api/v1/tasks/A.I.1", headers={**IDENTITY, "If-None-Match": f"W/{etag}"}
    )
    assert weak.status_code == 304
    other = await client.get("/api/v1/tasks/A.I.2", headers={**IDENTITY, "If-None-Match": etag})
    assert other.status_code == 200
    assert other.headers["etag"] != etag


async def test_staff_gets_are_private_and_errors_not_cached(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    me = await client.get("/api/v1/me", headers=accounts["officer"].headers)
    assert me.headers["cache-control"] == "private, no-cache"
    listed = await client.get("/api/v1/tasks", headers=accounts["officer"].headers)
    assert listed.headers["cache-control"] == "private, no-cache"
    missing = await client.get("/api/v1/tasks/NOPE")
    assert missing.status_code == 404
    assert "etag" not in missing.headers
    assert "cache-control" not in missing.headers


async def test_version_etags_of_routes_are_kept(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    url = f"/api/v1/users/{accounts['officer'].id}"
    response = await client.get(url, headers=accounts["admin"].headers)
    assert response.headers["etag"].startswith(f'"user-{accounts["officer"].id}-v1-')
    cached = await client.get(
        url, headers={**accounts["admin"].headers, "If-None-Match": response.headers["etag"]}
    )
    assert cached.status_code == 304


async def test_large_answers_are_gzipped_small_ones_not(client: httpx.AsyncClient) -> None:
    import gzip

    plain = await client.get(
        "/api/v1/tasks", params={"limit": 200}, headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    raw = await client.send(
        client.build_request(
            "GET", "/api/v1/tasks", params={"limit": 200}, headers={"Accept-Encoding": "gzip"}
        ),
        stream=True,
    )
    compressed = b"".join([chunk async for chunk in raw.aiter_raw()])
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    assert len(compressed) < len(plain.content) / 4
    assert gzip.decompress(compressed) == plain.content
    cached = await client.get(
        "/api/v1/tasks",
        params={"limit": 200},
        headers={"Accept-Encoding": "gzip", "If-None-Match": raw.headers["etag"]},
    )
    assert cached.status_code == 304
    small = await client.get(
        "/api/v1/tasks/A.I.1", params={"fields": "code"}, headers={"Accept-Encoding": "gzip"}
    )
    assert "content-encoding" not in small.headers
    assert "Accept-Encoding" in small.headers["vary"]


async def test_version_etag_survives_gzip(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    from tests.services.test_reporting import new_period

    officer = accounts["officer"]
    period = await new_period(client, accounts["reviewer"], ["SYT"])
    report = (
        await client.post(
            "/api/v1/reports", headers=officer.headers, json={"period_id": period["id"]}
        )
    ).json()
    url = f"/api/v1/reports/{report['id']}"
    await client.post(
        f"{url}/task-updates",
        headers=officer.headers,
        json={
            "task": "E.1",
            "status": "in_progress",
            "percent_complete": 5,
            "public_summary": "Tóm tắt " * 200,
        },
    )
    zipped = await client.get(url, headers={**officer.headers, "Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    # The version tag (what If-Match needs; the item moved it to v2) plus the answer's hash,
    # compressed or not.
    assert re.fullmatch(rf'"report-{report["id"]}-v2-[0-9a-f]{{16}}-gzip"', zipped.headers["etag"])


async def test_an_answer_that_changed_is_not_304(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    """Adding an item moves the report's version and its answer: no 304 for the old tag."""
    from tests.services.test_reporting import new_period

    officer = accounts["officer"]
    period = await new_period(client, accounts["reviewer"], ["SYT"])
    created = await client.post(
        "/api/v1/reports", headers=officer.headers, json={"period_id": period["id"]}
    )
    url = f"/api/v1/reports/{created.json()['id']}"
    before = await client.get(url, headers=officer.headers)
    added = await client.post(
        f"{url}/task-updates",
        headers=officer.headers,
        json={"task": "E.1", "status": "in_progress", "percent_complete": 5},
    )
    assert added.status_code == 201, added.text
    after = await client.get(
        url, headers={**officer.headers, "If-None-Match": before.headers["etag"]}
    )
    assert after.status_code == 200
    tag = f'"report-{created.json()["id"]}'
    assert before.headers["etag"].startswith(f"{tag}-v1-")
    assert after.headers["etag"].startswith(f"{tag}-v2-")
    assert after.json()["counts"]["task_updates"] == before.json()["counts"]["task_updates"] + 1
    # A selection of fields is another representation: no 304 against the whole answer.
    partial = await client.get(
        url,
        params={"fields": "state"},
        headers={**officer.headers, "If-None-Match": after.headers["etag"]},
    )
    assert (partial.status_code, partial.json()) == (200, {"state": "draft"})
    # If-Match takes the version from a GET's tag, whoever's answer it came from.
    lead = accounts["agency_lead"]
    submitted = await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": after.headers["etag"]}
    )
    assert submitted.status_code == 200, submitted.text
    assert submitted.headers["etag"] == f'"report-{created.json()["id"]}-v3"'
    stale = await client.post(
        f"{url}/withdraw", headers={**lead.headers, "If-Match": after.headers["etag"]}
    )
    assert stale.status_code == 412

"""Conditional GETs: strong ETags, Cache-Control, 304 with no body."""

import httpx

from tests.factories import Account


async def test_public_get_has_etag_and_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v1/tasks/A.I.1")
    etag = first.headers["etag"]
    assert etag.startswith('"') and len(etag) == 34
    assert first.headers["cache-control"] == "public, max-age=60"
    assert first.headers["vary"] == "Accept-Language, Authorization, Accept-Encoding"
    again = await client.get("/api/v1/tasks/A.I.1", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    weak = await client.get("/api/v1/tasks/A.I.1", headers={"If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304
    other = await client.get("/api/v1/tasks/A.I.2", headers={"If-None-Match": etag})
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
    assert response.headers["etag"] == f'"user-{accounts["officer"].id}-v1"'
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
    small = await client.get("/api/v1/tasks/A.I.1", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers
    assert "Accept-Encoding" in small.headers["vary"]


async def test_version_etag_survives_gzip(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    from tests.test_reporting import new_period

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
    # The version tag is what If-Match needs, compressed or not.
    assert zipped.headers["etag"] == f'"report-{report["id"]}-v1"'

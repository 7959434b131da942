"""Public read API behaviour: lists, filters, search, paging, errors, languages, health."""

import re
from typing import Any

import httpx
import pytest

from app.core.pagination import decode_cursor, encode_cursor

API = "/api/v1"
PROBLEM = "application/problem+json"


async def all_codes(client: httpx.AsyncClient, path: str, **params: Any) -> list[str]:
    response = await client.get(API + path, params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    assert body["total"] == len(body["items"])
    return [item["code"] for item in body["items"]]


async def test_all_81_tasks_in_plan_order(client: httpx.AsyncClient) -> None:
    codes = await all_codes(client, "/tasks")
    assert len(codes) == 81
    assert codes[:2] == ["A.I.1", "A.I.2"]
    assert codes[-1] == "F.4"
    b3 = codes.index("B.3")
    assert codes[b3 : b3 + 10] == ["B.3", *[f"B.3.{n}" for n in range(1, 9)], "B.4"]


async def test_paging_walks_every_row_once(client: httpx.AsyncClient) -> None:
    expected = await all_codes(client, "/tasks")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get(f"{API}/tasks", params=params)).json()
        assert body["total"] == 81
        seen += [item["code"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == 12  # 11 full pages of 7 and one of 4


async def test_default_limit_is_50(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{API}/tasks")).json()
    assert len(body["items"]) == 50
    assert body["next_cursor"] is not None


@pytest.mark.parametrize(
    ("query", "expected_in", "expected_out"),
    [
        ("y te", "E.1", "A.I.1"),
        ("Y TẾ", "E.1", "A.I.1"),
        ("dao tao", "A.I.1", "B.4"),
        ("đào tạo", "A.I.1", "B.4"),
        ("d", "A.I.1", None),  # "d" finds words spelt with "đ" (đào)
        ("cong du lieu", "A.III.3", "A.I.1"),
    ],
)
async def test_search_ignores_case_and_diacritics(
    client: httpx.AsyncClient, query: str, expected_in: str, expected_out: str | None
) -> None:
    codes = await all_codes(client, "/tasks", q=query)
    assert expected_in in codes
    if expected_out is not None:
        assert expected_out not in codes


async def test_search_matches_word_starts_only(client: httpx.AsyncClient) -> None:
    # "inh" is inside "kinh", "tỉnh", "chính" ... but starts no word of the plan.
    assert await all_codes(client, "/tasks", q="inh") == []
    assert "A.I.3" in await all_codes(client, "/tasks", q="kinh")
    assert await all_codes(client, "/tasks", q="   ") == await all_codes(client, "/tasks")


async def test_filters(client: httpx.AsyncClient) -> None:
    assert await all_codes(client, "/tasks", year=2030) == ["D.1", "D.2"]
    assert await all_codes(client, "/tasks", year=2020) == ["D.4", "E.6"]
    assert await all_codes(client, "/tasks", agency="TPHD", group="F") == [
        "F.1",
        "F.2",
        "F.3",
        "F.4",
    ]
    district = await all_codes(client, "/tasks", agency="HTK")
    assert "A.I.5" in district and "A.III.1" in district and "F.1" not in district
    assert len(await all_codes(client, "/indicators", target_year=2030)) == 12
    assert await all_codes(client, "/indicators", agency="NHNN") == ["CT-2025-14", "CT-2030-11"]
    assert await all_codes(client, "/documents", type="Quy chế") == ["VB-09", "VB-11"]
    assert await all_codes(client, "/sections", parent="II.4") == ["II.4.a", "II.4.b", "II.4.c"]


async def test_not_found_is_problem_details_in_vietnamese_by_default(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"{API}/tasks/Z.9")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["content-language"] == "vi"
    body = response.json()
    assert body["code"] == "not_found"
    assert body["type"] == "urn:dxplan:problem:not_found"
    assert body["title"] == "Không tìm thấy"
    assert body["detail"] == "Không tìm thấy nhiệm vụ có mã “Z.9”."
    assert body["instance"] == f"{API}/tasks/Z.9"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_messages_follow_accept_language(client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"{API}/indicators/NOPE", headers={"Accept-Language": "en-US,en;q=0.9,vi;q=0.5"}
    )
    assert response.status_code == 404
    assert response.headers["content-language"] == "en"
    assert response.json()["detail"] == "No indicator with code “NOPE”."
    response = await client.get(f"{API}/documents/99", headers={"Accept-Language": "fr, vi;q=0.1"})
    assert response.json()["detail"] == "Không tìm thấy văn bản có mã “99”."


@pytest.mark.parametrize(
    ("path", "code", "field"),
    [
        ("/tasks?limit=0", "validation_error", "limit"),
        ("/tasks?limit=1000", "validation_error", "limit"),
        ("/tasks?limit=abc", "validation_error", "limit"),
        ("/tasks?year=99999", "validation_error", "year"),
        ("/agencies?kind=ministry", "validation_error", "kind"),
        ("/documents/abc", "validation_error", "number"),
        ("/tasks?cursor=forged", "invalid_cursor", None),
        ("/tasks?group=Z", "unknown_filter_value", None),
        ("/tasks?agency=NOPE", "unknown_filter_value", None),
        ("/indicators?target_year=2027", "unknown_filter_value", None),
        ("/indicators?agency=nope", "unknown_filter_value", None),
        ("/documents?type=Luật", "unknown_filter_value", None),
        ("/sections?parent=IX", "unknown_filter_value", None),
        # PostgreSQL text cannot hold NUL: refused up front rather than failing in the driver.
        ("/tasks/A%00", "validation_error", "path"),
        ("/tasks?agency=%00", "validation_error", "query"),
        ("/documents?type=a%00b", "validation_error", "query"),
    ],
)
async def test_bad_input_is_422(
    client: httpx.AsyncClient, path: str, code: str, field: str | None
) -> None:
    response = await client.get(API + path)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == code
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field]
        assert body["errors"][0]["message"]


async def test_validation_messages_are_translated(client: httpx.AsyncClient) -> None:
    vi = (await client.get(f"{API}/tasks?limit=0")).json()
    assert vi["errors"][0]["message"] == "Phải lớn hơn hoặc bằng 1."
    en = (await client.get(f"{API}/tasks?limit=0", headers={"Accept-Language": "en"})).json()
    assert en["errors"][0]["message"] == "Must be greater than or equal to 1."


async def test_every_cursor_the_contract_admits_is_a_position(
    client: httpx.AsyncClient,
) -> None:
    """A cursor is a position in the list's sort order: what the server issues matches the
    contract's pattern, every value of that pattern serves the page after it (none is
    refused, so a client or a fuzzer that obeys the contract is never turned away), and
    anything else, a truncated or garbled cursor included, is 422 `invalid_cursor`."""
    spec = (await client.get("/openapi.json")).json()
    [parameter] = [
        p for p in spec["paths"]["/api/v1/tasks"]["get"]["parameters"] if p["name"] == "cursor"
    ]
    pattern = parameter["schema"]["pattern"]
    first = (await client.get(f"{API}/tasks", params={"limit": 5})).json()
    cursor = first["next_cursor"]
    assert re.search(pattern, cursor), cursor
    assert cursor == encode_cursor("tasks", decode_cursor("tasks", cursor) or (0, 0))
    ok = await client.get(f"{API}/tasks", params={"cursor": cursor, "limit": 5})
    assert [t["code"] for t in ok.json()["items"]] == ["A.I.6", "A.I.7", "A.I.8", "A.I.9", "A.II.1"]
    # Other positions, the largest ones too (beyond the columns' range: nothing after them).
    for position, count in (("0" * 32, 5), ("f" * 32, 0), ("0" * 15 + "1" + "f" * 16, 5)):
        assert re.search(pattern, position)
        page = await client.get(f"{API}/tasks", params={"cursor": position, "limit": 5})
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) == count, position
    # A cursor taken from another list is a position in this one, not an error.
    other = (await client.get(f"{API}/indicators", params={"limit": 2})).json()["next_cursor"]
    assert (await client.get(f"{API}/tasks", params={"cursor": other})).status_code == 200
    for bad in (
        cursor[:-1],
        cursor + "0",
        "A" * 32,
        "forged",
        "",
        "eyJsIjoidGFza3MifQ.4bbb267d91c8",
    ):
        assert not re.search(pattern, bad)
        response = await client.get(f"{API}/tasks", params={"cursor": bad})
        assert response.status_code == 422, bad
        assert response.json()["code"] == "invalid_cursor"


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    missing = await client.get(f"{API}/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    wrong = await client.post(f"{API}/tasks")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == PROBLEM
    assert wrong.json()["code"] == "method_not_allowed"


async def test_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    generated = await client.get("/healthz", headers={"X-Request-ID": "bad id!"})
    assert generated.headers["x-request-id"] != "bad id!"
    assert len(generated.headers["x-request-id"]) == 16


async def test_health(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok"}


async def test_readyz_is_503_without_database() -> None:
    from app.core.config import Settings
    from app.main import create_app

    broken = create_app(
        Settings(database_url="postgresql://nobody@127.0.0.1:1/none", log_json=False)
    )
    async with broken.router.lifespan_context(broken):
        transport = httpx.ASGITransport(app=broken)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert response.headers["retry-after"] == "5"
    assert (await c.aclose()) is None


async def test_nul_in_bodies_is_422_before_anything_runs(client: httpx.AsyncClient) -> None:
    form = await client.post(
        "/api/v1/auth/token",
        content=b"username=a%00b&password=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 422
    assert form.json()["errors"][0]["type"] == "nul_character"
    body = await client.post(
        "/api/v1/auth/refresh",
        content=b'{"refresh_token": "a\\u0000"}',
        headers={"Content-Type": "application/json"},
    )
    assert body.status_code == 422
    assert body.json()["errors"][0]["field"] == "body"
    # An escaped backslash followed by "u0000" is ordinary text, not a NUL.
    text = await client.post(
        "/api/v1/auth/refresh",
        content=b'{"refresh_token": "a\\\\u0000"}',
        headers={"Content-Type": "application/json"},
    )
    assert text.status_code == 401

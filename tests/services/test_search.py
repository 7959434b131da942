"""One ranked search across the plan, with snippets and highlights."""

from typing import Any

import httpx


async def search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/search", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_ranked_with_highlights(client: httpx.AsyncClient) -> None:
    result = await search(client, q="y te", limit=100)
    hits = result["items"]
    assert result["total"] == len(hits)
    assert [h["rank"] for h in hits] == sorted(h["rank"] for h in hits)
    e1 = next(h for h in hits if h["code"] == "E.1")
    assert (e1["type"], e1["rank"], e1["matched_field"]) == ("task", 2, "title")
    for hit in hits:
        for start, end in hit["highlights"]:
            assert hit["snippet"][start:end].casefold() in ("y tế", "y te")
    assert {"task", "section"} <= {h["type"] for h in hits}


async def test_exact_code_comes_first(client: httpx.AsyncClient) -> None:
    hits = (await search(client, q="e.1"))["items"]
    assert (hits[0]["code"], hits[0]["rank"]) == ("E.1", 0)
    agency = (await search(client, q="STTTT"))["items"]
    assert (agency[0]["type"], agency[0]["code"], agency[0]["rank"]) == ("agency", "STTTT", 0)


async def test_diacritics_types_and_limit(client: httpx.AsyncClient) -> None:
    plain = await search(client, q="cong du lieu", types=["task"])
    marked = await search(client, q="Cổng dữ liệu", types=["task"])
    assert plain == marked
    items = plain["items"]
    assert {h["type"] for h in items} == {"task"}
    assert "A.III.3" in [h["code"] for h in items]
    first = items[0]
    start, end = first["highlights"][0]
    assert first["snippet"][start:end] == "Cổng dữ liệu"
    dai = await search(client, q="dai phat thanh", types=["agency"])
    assert [h["code"] for h in dai["items"]] == ["DPTTH"]
    limited = await search(client, q="xay dung", limit=2)
    assert len(limited["items"]) == 2
    assert limited["total"] > 2


async def test_bad_search_is_422(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/search")).status_code == 422
    assert (
        await client.get("/api/v1/search", params={"q": "x", "types": "user"})
    ).status_code == 422
    assert (await search(client, q="!!!")) == {"items": [], "total": 0}

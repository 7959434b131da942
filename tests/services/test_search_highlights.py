"""Search highlights every field it indexes, and a code query ranks the exact code first.

Every hit must carry at least one highlight, and every highlighted range, cut out of the
snippet, must fold (case and diacritics removed) to the query's words: the ranges point into
the original Vietnamese text, not into its folded copy.
"""

import unicodedata
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.text import fold, fold_query

API = "/api/v1"


async def search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{API}/search", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_highlighted(hit: dict[str, Any], query: str) -> None:
    """The hit's ranges are non-empty, in order, inside the snippet, and each is the query."""
    assert hit["highlights"], hit
    snippet = hit["snippet"]
    previous_end = 0
    for start, end in hit["highlights"]:
        assert previous_end <= start < end <= len(snippet), hit
        previous_end = end
        marked = snippet[start:end]
        # The whole match, not a piece of it: it folds to exactly the query's words, and it
        # does not cut a letter from its accents.
        assert fold(marked) == fold(query), (marked, hit)
        assert unicodedata.category(snippet[start]) != "Mn", hit
        assert end == len(snippet) or unicodedata.category(snippet[end]) != "Mn", hit


@pytest.mark.parametrize(
    "query",
    ["chuyen doi so", "du lieu", "y te", "E.1", "d", "Cổng dữ liệu", "A.I.1", "trung tam"],
)
async def test_every_hit_is_highlighted_in_the_field_that_matched(
    client: httpx.AsyncClient, query: str
) -> None:
    result = await search(client, q=query, limit=100)
    hits = result["items"]
    assert hits, query
    assert len(hits) == min(result["total"], 100)
    unmarked = [hit["code"] for hit in hits if not hit["highlights"]]
    assert unmarked == [], f"{len(unmarked)} of {len(hits)} hits have no highlight"
    for hit in hits:
        assert_highlighted(hit, query)
        assert hit["matched_field"], hit
    ranks = [hit["rank"] for hit in hits]
    assert ranks == sorted(ranks)


async def test_a_section_bullet_is_the_snippet(client: httpx.AsyncClient) -> None:
    """Section I.1 "Mục đích" matches "chuyen doi so" only in its bullets."""
    hits = (await search(client, q="chuyen doi so", types=["section"], limit=100))["items"]
    purpose = next(hit for hit in hits if hit["code"] == "I.1")
    assert (purpose["title"], purpose["matched_field"], purpose["rank"]) == (
        "Mục đích",
        "bullets",
        3,
    )
    start, end = purpose["highlights"][0]
    assert purpose["snippet"][start:end].casefold() == "chuyển đổi số"


@pytest.mark.parametrize(
    ("query", "type_", "code", "field", "marked"),
    [
        ("so gd", "task", "E.2", "lead_text", "Sở GD"),
        ("so gd", "agency", "SGDDT", "short_name", "Sở GD"),
        ("chi nhanh nhnn", "task", "C.4", "lead_text", "Chi nhánh NHNN"),
        ("nguon thai", "task", "E.8", "full_text", "nguồn thải"),
        ("nguon thai", "section", "II.5.g", "bullets", "nguồn thải"),
        ("12", "document", "VB-12", "number", "12"),
        ("2025", "indicator", "CT-2025-01", "code", "2025"),
        ("du lieu", "indicator", "CT-2025-05", "text", "dữ liệu"),
        ("so thong tin", "agency", "STTTT", "name", "Sở Thông tin"),
    ],
)
async def test_each_indexed_field_is_the_snippet_when_it_matched(
    client: httpx.AsyncClient, query: str, type_: str, code: str, field: str, marked: str
) -> None:
    """Lead text, short names, full text, bullets, numbers, codes: whichever field matched
    is the snippet, and the match is highlighted in it as written."""
    hits = (await search(client, q=query, types=[type_], limit=100))["items"]
    hit = next(hit for hit in hits if hit["code"] == code)
    assert hit["matched_field"] == field
    assert hit["rank"] == (2 if field in ("title", "text", "name") else 3)
    start, end = hit["highlights"][0]
    assert hit["snippet"][start:end] == marked


@pytest.mark.parametrize(
    ("query", "code", "type_"),
    [
        ("E.1", "E.1", "task"),
        ("e.1", "E.1", "task"),
        ("A.I.1", "A.I.1", "task"),
        ("CT-2025-01", "CT-2025-01", "indicator"),
        ("II.5.a", "II.5.a", "section"),
        ("VB-12", "VB-12", "document"),
        ("STTTT", "STTTT", "agency"),
        ("UBND_TINH", "UBND_TINH", "agency"),
    ],
)
async def test_a_code_query_ranks_the_exact_code_then_its_prefixes(
    client: httpx.AsyncClient, query: str, code: str, type_: str
) -> None:
    hits = (await search(client, q=query, limit=100))["items"]
    first = hits[0]
    assert (first["code"], first["type"], first["rank"], first["matched_field"]) == (
        code,
        type_,
        0,
        "code",
    )
    assert (first["snippet"], first["highlights"]) == (code, [[0, len(code)]])
    assert [hit["code"] for hit in hits].count(code) == 1
    needle = fold_query(query)
    for hit in hits[1:]:
        # A code that starts with the query is rank 1, and only such a code is.
        assert hit["rank"] >= 1, hit
        assert (hit["rank"] == 1) == fold(hit["code"]).startswith(needle), hit


async def test_code_prefixes_are_highlighted_codes_not_text_matches(
    client: httpx.AsyncClient,
) -> None:
    hits = (await search(client, q="E.1", types=["task"], limit=100))["items"]
    assert [(hit["code"], hit["rank"]) for hit in hits[:9]] == [
        ("E.1", 0),
        *((f"E.1{n}", 1) for n in range(8)),
    ]
    ten = hits[1]
    assert (ten["snippet"], ten["highlights"], ten["matched_field"]) == ("E.10", [[0, 3]], "code")


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            [*"aAdDđĐeEêÊếỆơƠưƯyY ổỗữiIİßǄﬁ-.,", "\u212a", "\u0301", "\u0302", "\u0323", "\u0309"]
        ),
        max_size=40,
    )
)
def test_the_folded_map_agrees_with_fold(text: str) -> None:
    """The highlighter folds exactly as the index does, whatever the text's normal form."""
    from app.services.search import folded_with_map

    folded, where = folded_with_map(text)
    assert folded == fold(text)
    assert len(where) == len(folded)
    assert where == sorted(where)


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_ranges_point_into_the_original_text(form: str) -> None:
    from app.services.search import highlight_field

    text = unicodedata.normalize(form, "Phát triển Cổng dữ liệu và ĐỔI mới dữ liệu số")
    marked = highlight_field(text, "du lieu")
    assert marked is not None
    snippet, ranges = marked
    assert snippet == text
    assert [unicodedata.normalize("NFC", snippet[s:e]) for s, e in ranges] == ["dữ liệu"] * 2
    assert highlight_field(text, "doi moi") is not None
    snippet, ranges = highlight_field(text, "doi moi") or ("", [])
    assert [snippet[s:e] for s, e in ranges] == [unicodedata.normalize(form, "ĐỔI mới")]

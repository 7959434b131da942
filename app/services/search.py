"""One search across the plan: tasks, indicators, documents, sections and agencies.

Matching is the same as the lists' `q` (case- and diacritic-insensitive, at word starts),
over the fields services/search_index.py lists. Ranking: 0 the exact code, 1 a code that
starts with the query ("E.1" → E.10), 2 a match in the title, 3 one elsewhere; within a
rank, kind order then plan order.

Every hit names the field that matched and carries a snippet of that field's original text
with the character ranges of every match in it. The ranges index the original string (with
its diacritics, NFC or NFD), never the folded copy: the fold maps each folded character
back to the original character it came from, and a range is widened over the combining
marks that follow its last letter.
"""

import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.text import fold, fold_query
from app.models import Agency, Document, Indicator, Plan, Section, Task
from app.schemas.search import HitType, IndexedField, SearchHit, SearchResults
from app.services.search_index import TITLE, field_texts

SNIPPET_CHARS = 160

RANK_CODE = 0
RANK_CODE_PREFIX = 1
RANK_TITLE = 2
RANK_TEXT = 3


@dataclass(frozen=True)
class Source:
    type: HitType
    model: Any
    per_plan: bool = True


SOURCES = (
    Source("task", Task),
    Source("indicator", Indicator),
    Source("document", Document),
    Source("section", Section),
    Source("agency", Agency, per_plan=False),
)


def _fold_char(char: str) -> str:
    """What fold() makes of one character before spaces are collapsed: ASCII letters and
    digits, or spaces. (fold() works on the whole string; per character it is the same,
    since each of its steps maps characters independently.)"""
    decomposed = unicodedata.normalize("NFD", char.replace("đ", "d").replace("Đ", "D"))
    out = []
    for piece in decomposed:
        if unicodedata.category(piece) == "Mn":
            continue
        for low in piece.lower():
            out.append(low if low.isascii() and low.isalnum() else " ")
    return "".join(out)


def folded_with_map(text: str) -> tuple[str, list[int]]:
    """fold(text), and for each of its characters the index of the original character it
    came from (the boundary spaces map to 0 and len(text))."""
    chars: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        for piece in _fold_char(char):
            if piece == " " and (not chars or chars[-1] == " "):
                continue
            chars.append(piece)
            where.append(index)
    if chars and chars[-1] == " ":
        chars.pop()
        where.pop()
    if not chars:
        return "", []
    return " " + "".join(chars) + " ", [0, *where, len(text)]


def _matches(text: str, needle: str) -> list[tuple[int, int]]:
    """[start, end) ranges in `text` of every (non-overlapping) word-start match."""
    folded, where = folded_with_map(text)
    ranges: list[tuple[int, int]] = []
    at = folded.find(needle)
    while needle and at >= 0:
        start = where[at + 1]
        end = where[at + len(needle) - 1] + 1
        while end < len(text) and unicodedata.category(text[end]) == "Mn":
            end += 1
        ranges.append((start, end))
        at = folded.find(needle, at + len(needle))
    return ranges


def highlight_field(text: str, query: str) -> tuple[str, list[tuple[int, int]]] | None:
    """A snippet of `text` (the whole text when short) around its first match of `query`,
    and the range of every match that lies wholly inside the snippet; None if no match."""
    ranges = _matches(text, fold_query(query))
    if not ranges:
        return None
    first, last = ranges[0]
    start = max(0, first - max(0, SNIPPET_CHARS - (last - first)) // 2)
    end = min(len(text), max(start + SNIPPET_CHARS, last))
    start = max(0, min(start, end - SNIPPET_CHARS))
    # Never cut a letter from its accents.
    while start > 0 and unicodedata.category(text[start]) == "Mn":
        start -= 1
    while end < len(text) and unicodedata.category(text[end]) == "Mn":
        end += 1
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    offset = len(prefix) - start
    inside = [(s + offset, e + offset) for s, e in ranges if start <= s and e <= end]
    return prefix + text[start:end] + suffix, inside


def _hit(source: Source, row: Any, q: str, needle: str) -> tuple[int, SearchHit] | None:
    """The hit for one row the index matched, ranked; None if no field matches on its own
    (a row indexed before fields were kept apart, until the next `dxplan seed`)."""
    fields = list(field_texts(source.type, row))
    title_field = TITLE[source.type]
    title = next((text for name, text in fields if name == title_field), None)
    code = str(row.code)
    folded_code = fold(code)
    if folded_code == fold(q):
        rank, order = RANK_CODE, ["code"]
    elif folded_code.startswith(needle):
        rank, order = RANK_CODE_PREFIX, ["code"]
    else:
        rank, order = RANK_TITLE, [title_field]
    # Then every other field, in index order; the code last (a word inside it, "2025").
    candidates = [f for f in fields if f[0] in order] + [
        f for f in fields if f[0] not in order and f[0] != "code"
    ]
    candidates += [f for f in fields if f[0] == "code" and "code" not in order]
    for name, text in candidates:
        if marked := highlight_field(text, q):
            snippet, ranges = marked
            matched: IndexedField = name
            break
    else:
        return None
    if rank == RANK_TITLE and matched != title_field:
        rank = RANK_TEXT
    return rank, SearchHit(
        type=source.type,
        code=code,
        title=title or code,
        snippet=snippet,
        highlights=[[s, e] for s, e in ranges],
        matched_field=matched,
        rank=rank,
    )


async def search(
    session: AsyncSession, plan: Plan, q: str, types: set[str] | None, limit: int
) -> SearchResults:
    needle = fold_query(q)
    if not needle:
        return SearchResults(items=[], total=0)
    hits: list[tuple[int, int, int, SearchHit]] = []
    for order, source in enumerate(SOURCES):
        if types is not None and source.type not in types:
            continue
        model = source.model
        stmt = select(model).where(col(model.search_text).contains(needle, autoescape=True))
        if source.per_plan:
            stmt = stmt.where(col(model.plan_id) == plan.id)
        for row in (await session.execute(stmt.order_by(col(model.sort_order)))).scalars():
            if ranked := _hit(source, row, q, needle):
                hits.append((ranked[0], order, row.sort_order, ranked[1]))
    hits.sort(key=lambda h: h[:3])
    return SearchResults(items=[h[3] for h in hits[:limit]], total=len(hits))

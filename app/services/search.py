"""One search across the plan: tasks, indicators, documents, sections and agencies.

Matching is the same as the lists' `q` (case- and diacritic-insensitive, at word starts).
Ranking: an exact code first, then a match in the title, then one in the text; within a
rank, plan order. Each hit carries a snippet of the original text around the match and the
character ranges of the match in it, so the app can highlight them.
"""

import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.text import fold, fold_query
from app.models import Agency, Document, Indicator, Plan, Section, Task
from app.schemas.search import SearchHit, SearchResults

SNIPPET_CHARS = 160


@dataclass(frozen=True)
class Source:
    type: str
    model: Any
    title: str | None  # attribute holding the title
    texts: tuple[str, ...]  # attributes searched after the title
    per_plan: bool = True


SOURCES = (
    Source("task", Task, "title", ("full_text",)),
    Source("indicator", Indicator, None, ("text",)),
    Source("document", Document, "title", ("type",)),
    Source("section", Section, "title", ("text",)),
    Source("agency", Agency, "name", ("short_name",), per_plan=False),
)


def _folded_with_map(text: str) -> tuple[str, list[int]]:
    """fold() of the text, char by char, with each folded char's index in the original."""
    out: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        base = char.replace("đ", "d").replace("Đ", "D")
        for piece in unicodedata.normalize("NFD", base):
            if unicodedata.category(piece) == "Mn":
                continue
            piece = piece.lower()
            if not piece.isalnum() or not piece.isascii():
                piece = " "
            if piece == " " and (not out or out[-1] == " "):
                continue
            out.append(piece)
            where.append(index)
    return " " + "".join(out), [0, *where]


def highlight(text: str, query: str) -> tuple[str, list[tuple[int, int]]] | None:
    """A snippet of `text` around the first match of `query`, and the match's range in it."""
    needle = fold_query(query)
    folded, where = _folded_with_map(text)
    at = folded.find(needle)
    if not needle or at < 0:
        return None
    first = where[min(at + 1, len(where) - 1)]
    last = where[min(at + len(needle) - 1, len(where) - 1)] + 1
    start = max(0, first - (SNIPPET_CHARS - (last - first)) // 2)
    end = min(len(text), start + SNIPPET_CHARS)
    start = max(0, min(start, end - SNIPPET_CHARS))
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    snippet = prefix + text[start:end] + suffix
    offset = len(prefix) - start
    return snippet, [(first + offset, last + offset)]


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
            title = getattr(row, source.title) if source.title else None
            texts = [t for t in (title, *(getattr(row, a) for a in source.texts)) if t]
            code = str(row.code)
            if code.casefold() == q.strip().casefold():
                rank = 0
            elif title and needle in fold(title):
                rank = 1
            else:
                rank = 2
            marked = next((m for t in texts if (m := highlight(t, q))), None)
            snippet, ranges = (
                marked if marked else ((texts[0][:SNIPPET_CHARS] if texts else ""), [])
            )
            hits.append(
                (
                    rank,
                    order,
                    row.sort_order,
                    SearchHit(
                        type=source.type,
                        code=code,
                        title=title or (texts[0] if texts else code),
                        snippet=snippet,
                        highlights=[list(r) for r in ranges],
                        rank=rank,
                    ),
                )
            )
    hits.sort(key=lambda h: h[:3])
    return SearchResults(items=[h[3] for h in hits[:limit]], total=len(hits))

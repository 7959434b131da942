"""What the search index holds, for each kind of plan item: one definition read by both the
seed (which writes ``search_text``) and the search (which highlights the hits).

Invariant: a row matches a query only if one of its indexed fields, on its own, contains the
query at a word start. ``search_text`` is each field folded (see ``app.core.text.fold``) and
joined by ``FIELD_SEPARATOR``, a character ``fold`` never produces, so a phrase can never
match across the end of one field and the start of the next, and the highlighter, which
looks at the same fields one by one, always finds what the index found.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from app.core.text import fold
from app.schemas.search import IndexedField

FIELD_SEPARATOR = "|"

# The title field first (the hit's title), then the others in display order; `code` is
# indexed for every kind but kept apart, since a code match ranks on its own.
TITLE: dict[str, IndexedField] = {
    "task": "title",
    "indicator": "text",
    "document": "title",
    "section": "title",
    "agency": "name",
}
OTHER_FIELDS: dict[str, tuple[IndexedField, ...]] = {
    "task": ("full_text", "deliverables", "lead_text"),
    "indicator": ("lead_text",),
    "document": ("number", "type", "lead_text"),
    "section": ("text", "bullets"),
    "agency": ("short_name", "aliases"),
}


def field_texts(kind: str, values: Mapping[str, Any] | Any) -> Iterator[tuple[IndexedField, str]]:
    """Each indexed field of one row (a model instance or a seed mapping) as (field, text),
    in ranking order: code, title, others. A list field yields each of its entries; empty
    fields are skipped."""
    get = values.get if isinstance(values, Mapping) else lambda name: getattr(values, name)
    for name in ("code", TITLE[kind], *OTHER_FIELDS[kind]):
        value = get(name)
        for entry in value if isinstance(value, list) else [value]:
            if entry is not None and str(entry) != "":
                yield name, str(entry)


def index_text(kind: str, values: Mapping[str, Any] | Any) -> str:
    """The ``search_text`` of one row: every indexed field folded, fields kept apart."""
    return FIELD_SEPARATOR.join(
        folded for _, text in field_texts(kind, values) if (folded := fold(text))
    )

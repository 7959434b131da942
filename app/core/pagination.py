"""Keyset pagination with cursors that are positions in a list's sort order.

A cursor is the sort key of the last row served, two non-negative integers written as 16
hexadecimal digits each (32 in all, `CURSOR_PATTERN`). Every string of that form is a
position, so every value the contract admits is served (the page after that position), and
anything else is refused with 422 `invalid_cursor`: a truncated or garbled cursor never
serves a wrong page. A key beyond a list's column range (`bound`) is clamped to the
largest value the column holds, which names the same rows after it.

Cursors do not name their list: one taken from another list is still a position (a page of
this list after that key), never an error; clients treat cursors as opaque all the same.
"""

import re
from typing import Annotated

from fastapi import Query

from app.core.errors import InvalidCursorError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_PART_DIGITS = 16
CURSOR_PATTERN = f"^[0-9a-f]{{{2 * _PART_DIGITS}}}$"
_CURSOR = re.compile(CURSOR_PATTERN.removeprefix("^").removesuffix("$"))

LimitParam = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT}.", examples=[50]),
]
# The pattern is the contract's (validated in decode_cursor, so a bad cursor is refused
# with its own code, `invalid_cursor`, rather than as a generic validation error).
CursorParam = Annotated[
    str | None,
    Query(
        description="Opaque cursor from a previous page's next_cursor (32 hexadecimal "
        "digits); 422 `invalid_cursor` for anything else.",
        json_schema_extra={"pattern": CURSOR_PATTERN, "minLength": 32, "maxLength": 32},
    ),
]

SortKey = tuple[int, int]


def encode_cursor(list_name: str, key: SortKey) -> str:
    """The cursor of a position; `list_name` names the list at call sites only."""
    return "".join(f"{part:0{_PART_DIGITS}x}" for part in key)


def decode_cursor(list_name: str, cursor: str | None, *, bound: int = 2**31) -> SortKey | None:
    """The sort key a cursor names, each part clamped below `bound` (int4 columns by
    default); 422 for anything not of the cursor's form."""
    if cursor is None:
        return None
    if not _CURSOR.fullmatch(cursor):
        raise InvalidCursorError()
    first, second = int(cursor[:_PART_DIGITS], 16), int(cursor[_PART_DIGITS:], 16)
    if first >= bound:
        return bound - 1, bound - 1
    return first, min(second, bound - 1)

"""Newest-first keyset paging for logs that only grow: notifications and the audit trail.

The sort key is the row id (creation order). The cursor carries the last id served, split in
two 31-bit halves because cursors hold two non-negative 31-bit numbers and audit ids are
64-bit.
"""

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import SortKey, encode_cursor

_LOW_BITS = 31
_LOW_MASK = (1 << _LOW_BITS) - 1


def _key_of(row_id: int) -> SortKey:
    return row_id >> _LOW_BITS, row_id & _LOW_MASK


def _id_of(key: SortKey) -> int:
    return (key[0] << _LOW_BITS) | key[1]


async def fetch_newest_first(
    session: AsyncSession,
    stmt: Select[Any, *tuple[Any, ...]],
    *,
    id_column: Any,
    after: SortKey | None,
    limit: int,
    list_name: str,
) -> tuple[list[Any], int, str | None]:
    """Run a select whose first column is the entity, newest (highest id) first; return its
    rows, the filtered total and the next cursor."""
    total = (
        await session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
    ).scalar_one()
    paged = stmt
    if after is not None:
        paged = paged.where(id_column < _id_of(after))
    paged = paged.order_by(id_column.desc()).limit(limit + 1)
    rows = list((await session.execute(paged)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(list_name, _key_of(rows[-1][0].id))
    return rows, total, next_cursor

"""Query helpers shared by the plan-item services: paging, agency links, filters."""

import json
import time
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, exists, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement
from sqlmodel import col

from app.core.db import EXACT_TOTAL_LIMIT
from app.core.errors import UnknownFilterValueError
from app.core.pagination import SortKey, encode_cursor
from app.core.text import fold_query
from app.models import Agency, AgencyGroupMember
from app.schemas.common import AgencyRef, ItemRef

T = TypeVar("T")
LinksByItem = dict[int, dict[str, list[AgencyRef]]]


def agency_ref(agency: Agency) -> AgencyRef:
    return AgencyRef(
        code=agency.code, name=agency.name, short_name=agency.short_name, kind=agency.kind
    )


async def load_agency_links(
    session: AsyncSession, link_model: Any, owner_column: str, owner_ids: Sequence[int]
) -> LinksByItem:
    """Lead and coordinating agencies of many items in one query, in plan order."""
    result: LinksByItem = {owner: {"lead": [], "coordinating": []} for owner in owner_ids}
    if not owner_ids:
        return result
    owner = getattr(link_model, owner_column)
    # Only the columns a reference shows (an Agency entity also decodes its JSON columns),
    # and one reference per agency, however many items name it.
    rows = await session.execute(
        select(
            owner,
            link_model.role,
            col(Agency.code),
            col(Agency.name),
            col(Agency.short_name),
            col(Agency.kind),
        )
        .join(Agency, col(Agency.id) == link_model.agency_id)
        .where(owner.in_(owner_ids), link_model.role.in_(("lead", "coordinating")))
        .order_by(owner, link_model.role, link_model.position)
    )
    refs: dict[str, AgencyRef] = {}
    for owner_id, role, code, name, short_name, kind in rows:
        ref = refs.get(code)
        if ref is None:
            ref = refs[code] = AgencyRef(code=code, name=name, short_name=short_name, kind=kind)
        result[owner_id][role].append(ref)
    return result


async def refs_by_owner(
    session: AsyncSession, model: Any, owner_column: str, owner_ids: Sequence[int]
) -> dict[int, list[ItemRef]]:
    """Code and title of the rows of `model` whose `owner_column` is one of `owner_ids`
    (sub-tasks of tasks, child sections, tasks drawn from a section), in plan order, in one
    query."""
    result: dict[int, list[ItemRef]] = {owner: [] for owner in owner_ids}
    owner = getattr(model, owner_column)
    for owner_id, code, title in await session.execute(
        select(owner, model.code, model.title)
        .where(owner.in_(owner_ids))
        .order_by(model.sort_order)
    ):
        result[owner_id].append(ItemRef(code=code, title=title))
    return result


async def agency_id_for_filter(session: AsyncSession, code: str) -> int:
    agency_id = (
        await session.execute(select(col(Agency.id)).where(col(Agency.code) == code))
    ).scalar()
    if agency_id is None:
        raise UnknownFilterValueError("agency", code)
    return agency_id


def linked_to_agency(
    link_model: Any, owner_column: str, item_id: Any, agency_id: int
) -> ColumnElement[bool]:
    """The item names the agency, directly or through a group the agency belongs to."""
    groups = select(col(AgencyGroupMember.group_id)).where(
        col(AgencyGroupMember.member_id) == agency_id
    )
    return exists().where(
        getattr(link_model, owner_column) == item_id,
        link_model.role.in_(("lead", "coordinating")),
        or_(link_model.agency_id == agency_id, link_model.agency_id.in_(groups)),
    )


def search_clause(search_column: Any, q: str) -> ColumnElement[bool] | None:
    """Diacritic- and case-insensitive phrase search anchored at word starts."""
    needle = fold_query(q)
    if not needle:
        return None
    return search_column.contains(needle, autoescape=True)  # type: ignore[no-any-return]


class Total(int):
    """A list's `total`, and whether it is an exact count (Page.total_exact)."""

    exact: bool

    def __new__(cls, value: int, *, exact: bool = True) -> "Total":
        made = super().__new__(cls, value)
        made.exact = exact
        return made


async def count_total(
    session: AsyncSession,
    stmt: Select[Any, *tuple[Any, ...]],
    *,
    grows: bool = False,
    whole: int | None = None,
) -> Total:
    """The rows `stmt` selects. `whole`: the rows served when the first page held the whole
    list (no next page), which is the count, no query needed. A list that `grows` with
    history is counted only up to the session's exact_total_limit (app/core/db.py; the
    setting of that name): past it, the planner's estimate of the rows, never below the
    limit + 1, marked not exact. So a page costs at most the limit's rows to count, whatever
    the history."""
    if whole is not None:
        return Total(whole)
    stmt = stmt.order_by(None)
    limit: int | None = session.info.get(EXACT_TOTAL_LIMIT) if grows else None
    if limit is None:
        count = select(func.count()).select_from(stmt.subquery())
        return Total((await session.execute(count)).scalar_one())
    capped = select(func.count()).select_from(stmt.limit(limit + 1).subquery())
    counted = (await session.execute(capped)).scalar_one()
    if counted <= limit:
        return Total(counted)
    return Total(max(await planner_rows(session, stmt), limit + 1), exact=False)


class _Explain(Executable, ClauseElement):
    """EXPLAIN (FORMAT JSON) of a select, bound parameters and all (SQLAlchemy's recipe)."""

    inherit_cache = False

    def __init__(self, stmt: Select[Any, *tuple[Any, ...]]) -> None:
        self.stmt = stmt


@compiles(_Explain, "postgresql")
def _compile_explain(element: _Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + str(compiler.process(element.stmt, **kw))


# Estimates by statement and parameters, kept a while: planning a long query (the audit
# trail's visibility rules) costs more than reading its page, and an estimate may be stale.
_ESTIMATES: dict[tuple[str, str], tuple[float, int]] = {}
ESTIMATE_SECONDS = 60.0
_ESTIMATES_KEPT = 1024


async def planner_rows(session: AsyncSession, stmt: Select[Any, *tuple[Any, ...]]) -> int:
    """PostgreSQL's estimate of the rows `stmt` returns (EXPLAIN, not run: a plan, no scan),
    the same for up to ESTIMATE_SECONDS."""
    compiled = stmt.compile(dialect=(await session.connection()).dialect)
    key = (str(compiled), repr(sorted(compiled.params.items())))
    now = time.monotonic()
    kept = _ESTIMATES.get(key)
    if kept is not None and now - kept[0] < ESTIMATE_SECONDS:
        return kept[1]
    plan: Any = (await session.execute(_Explain(stmt))).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    rows = int(plan[0]["Plan"]["Plan Rows"])
    if len(_ESTIMATES) >= _ESTIMATES_KEPT:
        _ESTIMATES.clear()
    _ESTIMATES[key] = (now, rows)
    return rows


async def fetch_page(
    session: AsyncSession,
    stmt: Select[Any, *tuple[Any, ...]],
    *,
    sort_column: Any,
    id_column: Any,
    after: SortKey | None,
    limit: int,
    list_name: str,
    descending: bool = False,
    grows: bool = False,
) -> tuple[list[Any], Total, str | None]:
    """Run a keyset-paginated select whose first column is the entity (sorted by sort_column, id,
    or newest first with `descending`); return its rows, the filtered total (count_total: a
    list that `grows` with history is counted only up to a limit; pass `total.exact` on as
    the page's `total_exact`) and the next cursor."""
    paged = stmt
    key = tuple_(sort_column, id_column)
    if after is not None:
        paged = paged.where(key < tuple_(*after) if descending else key > tuple_(*after))
    order = (sort_column.desc(), id_column.desc()) if descending else (sort_column, id_column)
    paged = paged.order_by(*order).limit(limit + 1)
    rows = list((await session.execute(paged)).all())
    whole = len(rows) if after is None and len(rows) <= limit else None
    total = await count_total(session, stmt, grows=grows, whole=whole)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(list_name, (getattr(last[0], sort_column.key), last[0].id))
    return rows, total, next_cursor

"""Indicator queries (Phụ lục 1), each with its targets."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import NotFoundError, UnknownFilterValueError
from app.core.pagination import SortKey
from app.models import Indicator, IndicatorAgency, IndicatorTarget, Plan
from app.schemas.indicators import IndicatorPage, IndicatorRead, TargetRead
from app.services.common import (
    agency_id_for_filter,
    fetch_page,
    linked_to_agency,
    load_agency_links,
    search_clause,
)
from app.services.history import values_url, yearly_values
from app.services.progress import attainment


async def _targets(
    session: AsyncSession, codes: dict[int, str], query: str = ""
) -> dict[int, list[TargetRead]]:
    """Each indicator's targets (by indicator id; `codes`: the indicators' codes by id);
    ``query`` (``?plan=`` of another plan) joins `values_url`'s own query."""
    more = "&" + query.removeprefix("?") if query else ""
    ids = list(codes)
    result: dict[int, list[TargetRead]] = {i: [] for i in ids}
    targets = list(
        (
            await session.execute(
                select(IndicatorTarget)
                .where(col(IndicatorTarget.indicator_id).in_(ids))
                .order_by(col(IndicatorTarget.indicator_id), col(IndicatorTarget.position))
            )
        ).scalars()
    )
    series = await yearly_values(session, [t.id or 0 for t in targets])
    for target in targets:
        own = series[target.id or 0]
        # Judged on the latest province-wide point of the series, which is the latest such
        # approved value: what the read model (latest_values) holds, in the same snapshot.
        status, ratio = attainment(target, [own.overall] if own.overall else [])
        result[target.indicator_id].append(
            TargetRead(
                code=target.code,
                metric=target.metric,
                kind=target.kind,
                comparator=target.comparator,
                value=_float(target.value),
                unit=target.unit,
                level=target.level,
                deadline_year=target.deadline_year,
                baseline=_float(target.baseline),
                text=target.text,
                attainment=status,
                progress_ratio=ratio,
                series=own.points,
                series_complete=own.complete,
                values_url=values_url(codes[target.indicator_id], target.code) + more,
            )
        )
    return result


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None


async def _read(
    session: AsyncSession, indicators: list[Indicator], query: str = ""
) -> list[IndicatorRead]:
    ids = [i.id or 0 for i in indicators]
    links = await load_agency_links(session, IndicatorAgency, "indicator_id", ids)
    targets = await _targets(session, {i.id or 0: i.code for i in indicators}, query)
    out = []
    for indicator in indicators:
        data: dict[str, Any] = {
            "code": indicator.code,
            "target_year": indicator.target_year,
            "number": indicator.number,
            "text": indicator.text,
            "lead_text": indicator.lead_text,
            "coordinating_text": indicator.coordinating_text,
            "lead_note": indicator.lead_note,
            "footnotes": indicator.footnotes,
            **links[indicator.id or 0],
            "targets": targets[indicator.id or 0],
        }
        out.append(IndicatorRead.model_validate(data))
    return out


async def list_indicators(
    session: AsyncSession,
    plan: Plan,
    *,
    target_year: int | None,
    agency: str | None,
    q: str | None,
    after: SortKey | None,
    limit: int,
    query: str = "",
) -> IndicatorPage:
    stmt = select(Indicator).where(col(Indicator.plan_id) == plan.id)
    if target_year is not None:
        years = (
            (
                await session.execute(
                    select(col(Indicator.target_year))
                    .where(col(Indicator.plan_id) == plan.id)
                    .distinct()
                )
            )
            .scalars()
            .all()
        )
        if target_year not in years:
            raise UnknownFilterValueError("target_year", target_year)
        stmt = stmt.where(col(Indicator.target_year) == target_year)
    if agency is not None:
        agency_id = await agency_id_for_filter(session, agency)
        stmt = stmt.where(
            linked_to_agency(IndicatorAgency, "indicator_id", col(Indicator.id), agency_id)
        )
    if q is not None and (clause := search_clause(col(Indicator.search_text), q)) is not None:
        stmt = stmt.where(clause)
    rows, total, next_cursor = await fetch_page(
        session,
        stmt,
        sort_column=col(Indicator.sort_order),
        id_column=col(Indicator.id),
        after=after,
        limit=limit,
        list_name="indicators",
    )
    items = await _read(session, [r[0] for r in rows], query)
    return IndicatorPage(items=items, total=total, next_cursor=next_cursor)


async def get_indicator(
    session: AsyncSession, plan: Plan, code: str, query: str = ""
) -> IndicatorRead:
    indicator = (
        await session.execute(
            select(Indicator).where(col(Indicator.plan_id) == plan.id, col(Indicator.code) == code)
        )
    ).scalar()
    if indicator is None:
        raise NotFoundError("indicator", code)
    return (await _read(session, [indicator], query))[0]


async def read_indicators(
    session: AsyncSession, plan: Plan, codes: Sequence[str], query: str = ""
) -> list[IndicatorRead]:
    """The plan's indicators of these codes as `GET /indicators/{code}` shows each, in
    plan order, in a fixed number of queries (the sync feed); unknown codes are left out."""
    indicators = list(
        (
            await session.execute(
                select(Indicator)
                .where(col(Indicator.plan_id) == plan.id, col(Indicator.code).in_(list(codes)))
                .order_by(col(Indicator.sort_order))
            )
        ).scalars()
    )
    return await _read(session, indicators, query) if indicators else []

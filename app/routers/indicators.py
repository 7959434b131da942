"""Indicators of Phụ lục 1."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.core.fields import fields_of
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.deps import CurrentPlan, ResponsibleOn, SessionDep
from app.routers.params import AgencyFilter, SearchQuery
from app.schemas.indicators import IndicatorPage, IndicatorRead
from app.services import indicators as service
from app.services import level_succession

router = APIRouter(prefix="/indicators", tags=["indicators"])


@router.get(
    "",
    operation_id="indicators-list",
    dependencies=[fields_of(IndicatorPage)],
    summary="List indicators",
    responses=problems(422),
)
async def list_indicators(
    session: SessionDep,
    plan: CurrentPlan,
    responsible: ResponsibleOn,
    target_year: Annotated[
        int | None, Query(ge=1900, le=2100, description="2025 or 2030.", examples=[2025])
    ] = None,
    agency: AgencyFilter = None,
    q: SearchQuery = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> IndicatorPage:
    """Indicators in plan order, each with its measurable targets. A target set at a level
    that had ended by `as_of` (the district level from 1 July 2025) carries
    `level_succession`, and its attainment may be `not_applicable` (rules in the API
    description)."""
    page = await service.list_indicators(
        session,
        plan,
        target_year=target_year,
        agency=agency,
        q=q,
        after=decode_cursor("indicators", cursor),
        limit=limit,
    )
    return responsible.attach(level_succession.attach(responsible, plan.code, page))


@router.get(
    "/{code}",
    operation_id="indicators-get",
    dependencies=[fields_of(IndicatorRead)],
    summary="Get an indicator",
    responses=problems(404, 422),
)
async def get_indicator(
    session: SessionDep,
    plan: CurrentPlan,
    responsible: ResponsibleOn,
    code: Annotated[str, Path(max_length=32, examples=["CT-2025-01"])],
) -> IndicatorRead:
    """Public. The indicator with its lead and coordinating agencies and each measurable
    target: its attainment from the latest approved province-wide value and the series of
    approved values, oldest first. A target set at a level that had ended by `as_of` (the
    district level from 1 July 2025) carries `level_succession`, and its attainment may be
    `not_applicable` with `attainment_reason`. 404 for an unknown code."""
    indicator = await service.get_indicator(session, plan, code)
    return responsible.attach(level_succession.attach(responsible, plan.code, indicator))

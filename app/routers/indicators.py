"""Indicators of Phụ lục 1."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from app.core.fields import fields_of
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.deps import CurrentPlan, PlanQuery, ResponsibleOn, SessionDep
from app.routers.params import AgencyFilter, SearchQuery
from app.schemas.indicators import ApprovedValuePage, IndicatorPage, IndicatorRead
from app.services import history, level_succession
from app.services import indicators as service

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
    query: PlanQuery,
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
        query=query,
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
    query: PlanQuery,
    responsible: ResponsibleOn,
    code: Annotated[str, Path(max_length=32, examples=["CT-2025-01"])],
) -> IndicatorRead:
    """Public. The indicator with its lead and coordinating agencies and each measurable
    target: its attainment from the latest approved province-wide value and the series of
    approved values, oldest first. A target set at a level that had ended by `as_of` (the
    district level from 1 July 2025) carries `level_succession`, and its attainment may be
    `not_applicable` with `attainment_reason`. 404 for an unknown code."""
    indicator = await service.get_indicator(session, plan, code, query)
    return responsible.attach(level_succession.attach(responsible, plan.code, indicator))


@router.get(
    "/{code}/values",
    operation_id="indicators-values",
    dependencies=[fields_of(ApprovedValuePage)],
    summary="List an indicator's approved values",
    responses=problems(404, 422),
)
async def list_indicator_values(
    session: SessionDep,
    plan: CurrentPlan,
    code: Annotated[str, Path(max_length=32, examples=["CT-2025-01"])],
    target: Annotated[
        str | None,
        Query(
            max_length=40,
            pattern=r"^[A-Za-z0-9._-]+$",
            description="Only this target's values (its code); 422 `unknown_filter_value` "
            "for a code that is not one of the indicator's targets.",
            examples=["CT-2025-01.1"],
        ),
    ] = None,
    level: Annotated[
        Literal["province", "district", "commune"] | None,
        Query(description="Only values reported for this level."),
    ] = None,
    district: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=r"^[A-Z0-9_]+$",
            description="Only values for this district-level agency (its code).",
            examples=["HD_TP"],
        ),
    ] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> ApprovedValuePage:
    """Public. Every approved value of the indicator's targets (only what approval made
    public, as in `series`), newest first by `as_of`, a page at a time: the answers of
    `GET /indicators` and `GET /indicators/{code}` embed only a bounded `series` per target
    (the latest value of each year per level and district) and link here (`values_url`).
    404 for an unknown indicator."""
    return await history.list_values(
        session,
        plan,
        code,
        target=target,
        level=level,
        district=district,
        after=decode_cursor("indicator-values", cursor),
        limit=limit,
    )

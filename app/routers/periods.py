"""Reporting periods: annual (due 1 December) and ad hoc requests."""

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from app.core.fields import fields_of
from app.core.http import model_response
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.core.permissions import Permission
from app.deps import CurrentPlan, OptionalUser, PlanQuery, SessionDep, require
from app.models import User
from app.schemas.periods import (
    STATUS_FILTER_DEPRECATED,
    PeriodCreate,
    PeriodPage,
    PeriodRead,
    PeriodState,
    PeriodUpdate,
)
from app.services import periods as service
from app.services.notifications import notify_agency

router = APIRouter(prefix="/periods", tags=["periods"])

PeriodId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IfMatch = Annotated[str | None, Header(max_length=200)]


@router.get(
    "",
    operation_id="periods-list",
    dependencies=[fields_of(PeriodPage)],
    summary="List reporting periods",
    responses=problems(401, 422),
)
async def list_periods(
    session: SessionDep,
    plan: CurrentPlan,
    caller: OptionalUser,
    kind: Literal["annual", "ad_hoc"] | None = None,
    state: Annotated[PeriodState | None, Query(description="Only periods in this state.")] = None,
    status: Annotated[
        PeriodState | None,
        Query(deprecated=True, description=STATUS_FILTER_DEPRECATED),
    ] = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> PeriodPage:
    """The token is optional. Annual periods are public; an ad hoc request is listed only
    to the agencies it asks and to those who read every agency's reports (reviewers,
    observers, administrators), in the order they were created. `state` and its
    deprecated old name `status` filter alike; both with different values is a 422."""
    return await service.list_periods(
        session,
        plan,
        caller,
        kind=kind,
        state=state,
        status=status,
        year=year,
        after=decode_cursor("periods", cursor),
        limit=limit,
    )


@router.post(
    "",
    operation_id="periods-create",
    summary="Create an ad hoc request",
    status_code=status.HTTP_201_CREATED,
    response_model=PeriodRead,
    responses=problems(400, 401, 403, 422),
)
async def create_period(
    request: Request,
    session: SessionDep,
    plan: CurrentPlan,
    query: PlanQuery,
    body: PeriodCreate,
    caller: Annotated[User, require(Permission.periods_manage)],
) -> Response:
    """Reviewers only. Opens at once and notifies the agencies asked (by default every
    agency that leads something in the plan)."""
    period = await service.create_ad_hoc(session, plan, caller, body)
    read = await service.read_period(session, period)
    for agency in read.agencies:
        await _notify_open(session, period.id or 0, agency.code, read)
    location = f"/api/v1/periods/{period.id}{query}"
    return model_response(201, read, {"ETag": service.period_etag(period), "Location": location})


async def _notify_open(
    session: SessionDep, period_id: int, agency_code: str, read: PeriodRead
) -> None:
    from sqlalchemy import select
    from sqlmodel import col

    from app.models import Agency

    agency_id = (
        await session.execute(select(col(Agency.id)).where(col(Agency.code) == agency_code))
    ).scalar_one()
    await notify_agency(
        session,
        agency_id or 0,
        "period_opened",
        f"period_opened:{period_id}",
        period_id=period_id,
        period=read.title,
        due=read.due_date.strftime("%d/%m/%Y"),
    )


@router.get(
    "/{period_id}",
    operation_id="periods-get",
    dependencies=[fields_of(PeriodRead)],
    summary="Get a reporting period",
    responses=problems(401, 404, 422),
)
async def get_period(
    response: Response,
    session: SessionDep,
    plan: CurrentPlan,
    caller: OptionalUser,
    period_id: PeriodId,
) -> PeriodRead:
    """The period with the agencies it asks. The token is optional: annual periods are
    public; an ad hoc request only for the agencies it asks and for those who read every
    agency's reports (404 for anyone else). Its `ETag` is the `If-Match` for a change."""
    period = await service.get_period(session, plan, caller, period_id)
    response.headers["ETag"] = service.period_etag(period)
    return await service.read_period(session, period)


@router.patch(
    "/{period_id}",
    operation_id="periods-update",
    summary="Open, close or extend a period",
    responses=problems(400, 401, 403, 404, 409, 412, 422, 428),
)
async def update_period(
    response: Response,
    session: SessionDep,
    plan: CurrentPlan,
    period_id: PeriodId,
    body: PeriodUpdate,
    caller: Annotated[User, require(Permission.periods_manage)],
    if_match: IfMatch = None,
) -> PeriodRead:
    """Reviewers only; needs `If-Match`. Opening a period notifies the agencies asked.
    The state is `state` (or, deprecated, `status`: both with different values is a 422).
    A closed period can only be reopened (409 otherwise)."""
    period = await service.get_period(session, plan, caller, period_id)
    was = period.status
    period = await service.update_period(session, period, body, if_match, caller)
    read = await service.read_period(session, period)
    if was != "open" and period.status == "open":
        for agency in read.agencies:
            await _notify_open(session, period.id or 0, agency.code, read)
    response.headers["ETag"] = service.period_etag(period)
    return read

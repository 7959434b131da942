"""Agencies, with everything each one leads or coordinates."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.core.fields import fields_of
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.deps import CurrentPlan, SessionDep
from app.routers.params import SearchQuery
from app.schemas.agencies import AgencyPage, AgencyRead
from app.schemas.common import AgencyKind
from app.services import agencies as service

router = APIRouter(prefix="/agencies", tags=["agencies"])


@router.get(
    "",
    operation_id="agencies-list",
    dependencies=[fields_of(AgencyPage)],
    summary="List agencies",
    responses=problems(422),
)
async def list_agencies(
    session: SessionDep,
    kind: Annotated[AgencyKind | None, Query(description="Agency kind.")] = None,
    q: SearchQuery = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> AgencyPage:
    """Public. Every agency the plan names, groups of agencies included (`kind: group`), in
    the plan's order, with the spellings of its name found in the plan; filter by `kind` and
    `q`."""
    return await service.list_agencies(
        session, kind=kind, q=q, after=decode_cursor("agencies", cursor), limit=limit
    )


@router.get(
    "/{code}",
    operation_id="agencies-get",
    dependencies=[fields_of(AgencyRead)],
    summary="Get an agency",
    responses=problems(404, 422),
)
async def get_agency(
    session: SessionDep,
    plan: CurrentPlan,
    code: Annotated[str, Path(max_length=32, examples=["STTTT"])],
) -> AgencyRead:
    """The agency, its group memberships, and the sections, tasks, indicators and documents
    it leads or coordinates; `via` names the group when the plan assigns the group."""
    return await service.get_agency(session, plan, code)

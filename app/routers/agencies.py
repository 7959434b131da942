"""Agencies, with everything each one leads or coordinates."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.deps import CurrentPlan, SessionDep
from app.routers.params import SearchQuery
from app.schemas.agencies import AgencyPage, AgencyRead
from app.schemas.common import AgencyKind
from app.services import agencies as service

router = APIRouter(prefix="/agencies", tags=["agencies"])


@router.get("", operation_id="agencies-list", summary="List agencies", responses=problems(422))
async def list_agencies(
    session: SessionDep,
    kind: Annotated[AgencyKind | None, Query(description="Agency kind.")] = None,
    q: SearchQuery = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> AgencyPage:
    return await service.list_agencies(
        session, kind=kind, q=q, after=decode_cursor("agencies", cursor), limit=limit
    )


@router.get(
    "/{code}", operation_id="agencies-get", summary="Get an agency", responses=problems(404, 422)
)
async def get_agency(
    session: SessionDep,
    plan: CurrentPlan,
    code: Annotated[str, Path(max_length=32, examples=["STTTT"])],
) -> AgencyRead:
    """The agency, its group memberships, and the sections, tasks, indicators and documents
    it leads or coordinates; `via` names the group when the plan assigns the group."""
    return await service.get_agency(session, plan, code)

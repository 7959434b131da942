"""Sections of the plan body."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.core.fields import fields_of
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.deps import CurrentPlan, ResponsibleOn, SessionDep
from app.routers.params import SearchQuery
from app.schemas.sections import SectionPage, SectionRead
from app.services import sections as service

router = APIRouter(prefix="/sections", tags=["sections"])


@router.get(
    "",
    operation_id="sections-list",
    dependencies=[fields_of(SectionPage)],
    summary="List sections",
    responses=problems(422),
)
async def list_sections(
    session: SessionDep,
    plan: CurrentPlan,
    responsible: ResponsibleOn,
    level: Annotated[
        int | None,
        Query(ge=1, le=3, description="1: part (I-IV); 2: khoản (II.1); 3: điểm (II.1.a)."),
    ] = None,
    parent: Annotated[str | None, Query(max_length=32, examples=["II.5"])] = None,
    q: SearchQuery = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> SectionPage:
    """Every numbered part of the plan body (I … IV) in document order."""
    return responsible.attach(
        await service.list_sections(
            session,
            plan,
            level=level,
            parent=parent,
            q=q,
            after=decode_cursor("sections", cursor),
            limit=limit,
        )
    )


@router.get(
    "/{code}",
    operation_id="sections-get",
    dependencies=[fields_of(SectionRead)],
    summary="Get a section",
    responses=problems(404, 422),
)
async def get_section(
    session: SessionDep,
    plan: CurrentPlan,
    responsible: ResponsibleOn,
    code: Annotated[str, Path(max_length=32, examples=["II.1.a"])],
) -> SectionRead:
    """The section's text and bullets, the agencies part IV assigns to it (with the bullets
    an assignment covers), its children and the tasks that carry it out."""
    return responsible.attach(await service.get_section(session, plan, code))

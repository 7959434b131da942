"""Legal documents of Phụ lục 2."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.core.fields import fields_of
from app.core.openapi import problems
from app.core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor
from app.deps import CurrentPlan, ResponsibleOn, SessionDep
from app.routers.params import AgencyFilter, SearchQuery
from app.schemas.documents import DocumentPage, DocumentRead
from app.services import documents as service

router = APIRouter(prefix="/documents", tags=["documents"])


@router.get(
    "",
    operation_id="documents-list",
    dependencies=[fields_of(DocumentPage)],
    summary="List documents",
    responses=problems(422),
)
async def list_documents(
    session: SessionDep,
    plan: CurrentPlan,
    responsible: ResponsibleOn,
    type: Annotated[
        str | None,
        Query(
            max_length=40,
            description="Document type as the plan writes it.",
            examples=["Quyết định"],
        ),
    ] = None,
    agency: AgencyFilter = None,
    q: SearchQuery = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> DocumentPage:
    """Public. The legal documents the plan asks to issue, in plan order, with their lead
    and coordinating agencies; filter by `type`, `agency` and `q`. A `type` or `agency` that
    names nothing is 422 `unknown_filter_value`."""
    return responsible.attach(
        await service.list_documents(
            session,
            plan,
            type_=type,
            agency=agency,
            q=q,
            after=decode_cursor("documents", cursor),
            limit=limit,
        )
    )


@router.get(
    "/{number}",
    operation_id="documents-get",
    dependencies=[fields_of(DocumentRead)],
    summary="Get a document",
    responses=problems(404, 422),
)
async def get_document(
    session: SessionDep,
    plan: CurrentPlan,
    responsible: ResponsibleOn,
    number: Annotated[
        int, Path(ge=1, le=10_000, description="Row number in Phụ lục 2.", examples=[1])
    ],
) -> DocumentRead:
    """Public. One document of Phụ lục 2 by its row number, with its lead and coordinating
    agencies. 404 for a number the annex does not have."""
    return responsible.attach(await service.get_document(session, plan, number))

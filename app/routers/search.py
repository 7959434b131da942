"""GET /search: one ranked search across the plan."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.core.openapi import problems
from app.deps import CurrentPlan, SessionDep
from app.schemas.search import SearchResults
from app.services import search as service

router = APIRouter(tags=["search"])

HitType = Literal["task", "indicator", "document", "section", "agency"]


@router.get(
    "/search", operation_id="search", summary="Search the whole plan", responses=problems(422)
)
async def search(
    session: SessionDep,
    plan: CurrentPlan,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            examples=["y te"],
            description="Case- and diacritic-insensitive, at word starts.",
        ),
    ],
    types: Annotated[
        list[HitType] | None,
        Query(description="Only these kinds of results (repeat the parameter)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchResults:
    """Tasks, indicators, documents, sections and agencies, ranked: an exact code first,
    then matches in the title, then in the text; each with a snippet and the match's
    character ranges for highlighting."""
    return await service.search(session, plan, q, set(types) if types else None, limit)

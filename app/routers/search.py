"""GET /search: one ranked search across the plan."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.core.fields import fields_of
from app.core.openapi import problems
from app.deps import CurrentPlan, SessionDep
from app.schemas.search import HitType, SearchResults
from app.services import search as service

router = APIRouter(tags=["search"])


@router.get(
    "/search",
    operation_id="search",
    summary="Search the whole plan",
    dependencies=[fields_of(SearchResults)],
    responses=problems(422),
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
    """Tasks, indicators, documents, sections and agencies, ranked: the exact code first
    (rank 0), then codes that start with the query (1: "E.1" → E.10, E.11 …), then
    matches in the title (2), then elsewhere (3); within a rank, by kind then plan order.

    Every indexed field is searched: code, title, full text, deliverables, section bullets,
    lead text, short names and aliases, a document's number and type. Each hit names the
    field that matched (`matched_field`) and carries a snippet of that field's original
    text with the [start, end) ranges of every match in it (never empty); the ranges point
    into the text with its diacritics, so `snippet[start:end]` is "Y tế" for `q=y te`."""
    return await service.search(session, plan, q, set(types) if types else None, limit)

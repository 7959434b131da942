"""GET /sync: the change feed for offline apps."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.core.openapi import problems
from app.core.pagination import CursorParam, decode_cursor
from app.deps import CurrentPlan, OptionalUser, PlanQuery, SessionDep, Today
from app.schemas.sync import BODY_PAGE_LIMIT, EntityType, Include, SyncPage
from app.services import sync as service

router = APIRouter(tags=["sync"])


@router.get(
    "/sync",
    operation_id="sync",
    summary="What changed since my cursor",
    responses=problems(401, 422),
)
async def sync(
    session: SessionDep,
    caller: OptionalUser,
    plan: CurrentPlan,
    query: PlanQuery,
    today: Today,
    since: CursorParam = None,
    types: Annotated[
        list[EntityType] | None,
        Query(description="Only these kinds of objects (repeat the parameter)."),
    ] = None,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=1000,
            description=f"Changes per page; at most {BODY_PAGE_LIMIT} with `include=body` "
            "(a larger limit is lowered to it).",
        ),
    ] = 200,
    include: Annotated[
        Include | None,
        Query(
            description="`body`: each upsert carries its object's current body, exactly as "
            "the object's own route answers you now (same schema, same visibility), so the "
            "app needs no request per object; tombstones carry `body: null`. A page then "
            f"holds at most {BODY_PAGE_LIMIT} changes."
        ),
    ] = None,
) -> SyncPage:
    """Without `since`: a cursor for now (load the lists first, then follow the feed).
    With it: every change the caller may see after the cursor, in order, deletions as
    tombstones (`op: delete`); `has_more` says to call again at once. The token is optional:
    public objects for everyone; with a token, agency staff also get their own agency's
    reports and items. No change is ever skipped, even when transactions commit out of
    order (see the service's docstring). With `include=body` the app catches up in one
    request per page: each upsert carries the object's current body (its latest version,
    also when a later change in the feed touches it again)."""
    return await service.feed(
        session,
        plan,
        caller,
        decode_cursor("sync", since, bound=service.BIGINT),
        set(types) if types else None,
        limit,
        service.Bodies(session, plan, caller, today, query) if include == "body" else None,
        query,
    )
